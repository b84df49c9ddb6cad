"""VariationalAutoencoder trained on the ELBO against the IWAE bound, in one budget.

Fashion-MNIST binarised once (each pixel 1 with probability its grey level,
``RandomState(seed)``: the stochastic binarisation of Burda et al., 2016),
official 60,000 / 10,000 split, Bernoulli likelihood. Two parts, each a key
of the record (``--part``; a part run alone keeps the other one of the file
it writes):

* ``iwae``: ``VariationalAutoencoder(50, likelihood="bernoulli")`` (the
  papers' 50 latent dimensions) trained with the ELBO (``importance_samples``
  1) and with the importance-weighted bound (``importance_samples`` 50, and 5,
  cheaper per step), each for the same wall-clock budget
  (``skae.callbacks.TimeBudget``, with its cosine schedule). Each is scored by
  the importance-weighted estimate of the held-out log-likelihood with 5,000
  codes per image (``log_likelihood(X, n_importance=5000)``, as the papers
  report it) on a fixed subset of the test images, the same for every model;
  the differences against the ELBO model come with their paired standard
  errors. The issue's target: IWAE (k=50) at least 1 nat better than the
  ELBO; Burda et al. report about 2 nats on MNIST.
* ``defaults``: at k = 2, 8 and 32, today's defaults as
  ``docs/results/variational.json`` ran them
  (``VariationalAutoencoder(k, likelihood="bernoulli", max_iter=35)``)
  against the same class trained with the ELBO for the budget, with public
  options only (``TimeBudget(budget, cosine=True)``, ``tol=0``), both on the
  binarised data and scored alike (1,000 codes per image on the same rows).
  ``variational.json`` itself trained on grey levels: its nats are another
  model's, so the defaults are run again here.

Every fit records its epochs and its wall and CPU seconds. Usage::

    python -m benchmarks.bench_iwae --docs      # docs/results/iwae.json
    python -m benchmarks.bench_iwae --quick     # smoke run, seconds
    python -m benchmarks.bench_iwae --part defaults --docs
    python -m benchmarks.bench_iwae --table docs/results/iwae.json
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import base64
import json
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import skae
from benchmarks.provenance import (
    add_threads_argument,
    load_average,
    record_header,
    use_threads,
)
from skae.callbacks import TimeBudget
from skae.datasets import load_fashion_mnist

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "iwae"
DOCS = ROOT / "docs" / "results" / "iwae.json"
SEED = 0
PARTS = ("iwae", "defaults")
# The papers' latent size, and the codes per training sample of the IWAE
# models (50, the issue's; 5, cheaper per step).
N_COMPONENTS = 50
IWAE_SAMPLES = (50, 5)
# Wall seconds of training of every budgeted model; max_iter only caps it.
BUDGET = 300.0
MAX_ITER = 10_000
# Codes per test image of the held-out estimate (the papers'), and of the
# cheaper one of the comparison with the defaults.
N_IMPORTANCE = 5000
DEFAULTS_N_IMPORTANCE = 1000
# Test images scored: a fixed subset (RandomState(seed).permutation), the same
# for every model, since 5,000 decoder passes per image cost about 0.2 s of
# one CPU thread.
EVAL_ROWS = 1000
# Today's defaults as docs/results/variational.json ran them.
DEFAULTS_KS = (2, 8, 32)
DEFAULTS_MAX_ITER = 35
# The issue's target, and the papers' result it is read against.
TARGET_NATS = 1.0
ANCHOR = "Burda et al. 2016 report about 2 nats (MNIST)"
QUICK = {
    "train_rows": 2000,
    "test_rows": 200,
    "budget": 2.0,
    "n_importance": 50,
    "defaults_n_importance": 20,
    "eval_rows": 100,
    "defaults_ks": (2,),
    "defaults_max_iter": 2,
    "iwae_samples": (5,),
}


def binarise(X, rng):
    """Each entry 1 with probability `X` (in [0, 1]), drawn from `rng`, as float32."""
    return (rng.uniform(size=X.shape) < X).astype(np.float32)


def make_data(dataset="fashion_mnist", *, quick=False, random_state=SEED):
    """Load `dataset` in [0, 1] and binarise it once.

    Parameters
    ----------
    dataset : {"fashion_mnist", "digits"}, default="fashion_mnist"
        Fashion-MNIST's official split (``skae.datasets.load_fashion_mnist``),
        or scikit-learn's digits / 16 split once (a quarter held out,
        stratified; for smoke tests).

    quick : bool, default=False
        Keep the first ``QUICK["train_rows"]`` and ``QUICK["test_rows"]``.

    random_state : int, default=SEED
        Seed of the binarisation (training images first, then test images)
        and of the digits split.

    Returns
    -------
    data : dict
        ``X_train`` and ``X_test`` (binary, float32) and ``description``.
    """
    if dataset == "fashion_mnist":
        X_train, _ = load_fashion_mnist(subset="train", return_X_y=True)
        X_test, _ = load_fashion_mnist(subset="test", return_X_y=True)
        split = "official 60,000 / 10,000 split"
    elif dataset == "digits":
        X, y = load_digits(return_X_y=True)
        X_train, X_test = train_test_split(
            X / 16, test_size=0.25, stratify=y, random_state=random_state
        )
        split = f"train_test_split(test_size=0.25, random_state={random_state})"
    else:
        raise ValueError(f"Unknown dataset {dataset!r}.")
    if quick:
        X_train, X_test = X_train[: QUICK["train_rows"]], X_test[: QUICK["test_rows"]]
        split += f"; first {len(X_train)} / {len(X_test)} rows"
    rng = np.random.RandomState(random_state)
    X_train, X_test = binarise(X_train, rng), binarise(X_test, rng)
    return {
        "X_train": X_train,
        "X_test": X_test,
        "description": {
            "dataset": dataset,
            "split": split,
            "n_train": len(X_train),
            "n_test": len(X_test),
            "n_features": X_train.shape[1],
            "binarisation": "(RandomState(seed).uniform(size=X.shape) < X), "
            "training images then test images, once",
            "binarisation_seed": random_state,
            "mean_pixel": round(float(X_train.mean()), 4),
        },
    }


def eval_rows(n_test, n_rows, random_state=SEED):
    """The test rows scored: `n_rows` of `n_test`, the same for every model."""
    rows = np.random.RandomState(random_state).permutation(n_test)[:n_rows]
    return np.sort(rows)


def make_estimator(
    n_components,
    *,
    budget=None,
    importance_samples=1,
    max_iter=DEFAULTS_MAX_ITER,
    random_state=SEED,
):
    """A Bernoulli ``VariationalAutoencoder``: today's defaults, or budgeted.

    With `budget` (seconds), training runs until the budget ends
    (``TimeBudget(budget, cosine=True)``, ``max_iter=MAX_ITER``, ``tol=0``:
    no stop on a slowing loss), on the bound of `importance_samples` codes.
    Without it, the defaults for `max_iter` epochs, as
    ``docs/results/variational.json`` ran them.
    """
    if budget is None:
        return skae.VariationalAutoencoder(
            n_components,
            likelihood="bernoulli",
            max_iter=max_iter,
            early_stopping=False,  # the defaults variational.json ran
            random_state=random_state,
        )
    return skae.VariationalAutoencoder(
        n_components,
        likelihood="bernoulli",
        importance_samples=importance_samples,
        max_iter=MAX_ITER,
        tol=0.0,
        early_stopping=False,  # the budget ends training: every row trains
        callbacks=[TimeBudget(budget, cosine=True)],
        random_state=random_state,
    )


def _encode(array):
    """`array` as float32 base64: compact JSON for a thousand numbers."""
    array = np.ascontiguousarray(array, dtype=np.float32)
    return {
        "shape": list(array.shape),
        "dtype": "float32",
        "base64": base64.b64encode(array.tobytes()).decode("ascii"),
    }


def decode(encoded):
    """The array that ``_encode`` stored."""
    array = np.frombuffer(base64.b64decode(encoded["base64"]), dtype=encoded["dtype"])
    return array.reshape(encoded["shape"])


def score(estimator, data, rows, *, n_importance):
    """Fit `estimator` on the training images and score it on the test `rows`.

    Returns
    -------
    scores : dict
        JSON-ready: epochs, fit wall and CPU seconds, warnings, the mean
        held-out ELBO and importance-weighted log-likelihood (nats per image)
        with the time of the latter, and the per-image estimates
        (``per_image``, float32 base64) for the paired comparisons.
    """
    X_test = data["X_test"][rows]
    load = load_average()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wall, cpu = time.perf_counter(), time.process_time()
        estimator.fit(data["X_train"])
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    elbo = estimator.score_samples(X_test)
    start = time.perf_counter()
    log_likelihood = estimator.log_likelihood(X_test, n_importance=n_importance)
    return {
        "epochs": int(estimator.n_iter_),
        "fit_time": round(wall, 2),
        "fit_cpu_time": round(cpu, 2),
        "load_average_at_fit": load,
        "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
        "final_loss": round(float(estimator.loss_curve_[-1]), 3),
        "elbo": float(np.mean(elbo)),
        "log_likelihood": float(np.mean(log_likelihood)),
        "log_likelihood_sem": float(
            np.std(log_likelihood, ddof=1) / np.sqrt(len(log_likelihood))
        ),
        "n_importance": n_importance,
        "log_likelihood_time": round(time.perf_counter() - start, 2),
        "per_image": _encode(log_likelihood),
    }


def paired(better, worse):
    """Mean of ``better - worse`` per image, and its standard error."""
    difference = decode(better["per_image"]).astype(np.float64) - decode(
        worse["per_image"]
    )
    se = np.std(difference, ddof=1) / np.sqrt(len(difference))
    return {"difference": float(np.mean(difference)), "se": float(se)}


def run_iwae(data, rows, *, budget, n_importance, iwae_samples, random_state, log):
    """The ``iwae`` part: the ELBO and each IWAE model, one budget each."""
    results = []
    for samples in (1, *iwae_samples):
        estimator = make_estimator(
            N_COMPONENTS,
            budget=budget,
            importance_samples=samples,
            random_state=random_state,
        )
        scores = score(estimator, data, rows, n_importance=n_importance)
        name = "ELBO" if samples == 1 else f"IWAE (k={samples})"
        results.append({"model": name, "importance_samples": samples, **scores})
        log(
            f"{name}: {scores['epochs']} epochs, {scores['fit_time']:.0f}s "
            f"(CPU {scores['fit_cpu_time']:.0f}s), elbo={scores['elbo']:.2f} "
            f"iw-ll={scores['log_likelihood']:.2f} "
            f"({scores['log_likelihood_time']:.0f}s)"
        )
    for result in results[1:]:
        result["vs_elbo"] = paired(result, results[0])
        target = result["importance_samples"] == 50
        result["vs_elbo"]["target_met"] = (
            result["vs_elbo"]["difference"] >= TARGET_NATS if target else None
        )
    return results


def run_defaults(data, rows, *, budget, n_importance, ks, max_iter, random_state, log):
    """The ``defaults`` part: at each k, the defaults against the budgeted ELBO."""
    results = []
    for k in ks:
        default = score(
            make_estimator(k, max_iter=max_iter, random_state=random_state),
            data,
            rows,
            n_importance=n_importance,
        )
        budgeted = score(
            make_estimator(k, budget=budget, random_state=random_state),
            data,
            rows,
            n_importance=n_importance,
        )
        comparison = paired(budgeted, default)
        # Better: a difference above twice its standard error.
        comparison["better"] = comparison["difference"] > 2 * comparison["se"]
        results.append(
            {"k": k, "defaults": default, "budget": budgeted, "vs_defaults": comparison}
        )
        log(
            f"k={k}: defaults {default['epochs']} epochs "
            f"{default['fit_time']:.0f}s iw-ll={default['log_likelihood']:.2f}; "
            f"budget {budgeted['epochs']} epochs {budgeted['fit_time']:.0f}s "
            f"iw-ll={budgeted['log_likelihood']:.2f}; "
            f"{comparison['difference']:+.2f} +- {comparison['se']:.2f}"
        )
    return results


def run(
    dataset="fashion_mnist",
    *,
    parts=PARTS,
    quick=False,
    budget=None,
    n_importance=None,
    n_rows=None,
    iwae_samples=None,
    ks=None,
    random_state=SEED,
    log=print,
    command=None,
):
    """Run the `parts`; return a JSON-ready record.

    Parameters
    ----------
    dataset : {"fashion_mnist", "digits"}, default="fashion_mnist"
        Which data (digits: smoke tests).

    parts : sequence of {"iwae", "defaults"}, default=PARTS
        Which parts to run.

    quick : bool, default=False
        A smoke run: the settings of `QUICK`.

    budget : float or None, default=None
        Training seconds of every budgeted model; None uses `BUDGET`.

    n_importance : int or None, default=None
        Codes per test image in the ``iwae`` part; None uses `N_IMPORTANCE`.

    n_rows : int or None, default=None
        Test images scored; None uses `EVAL_ROWS`.

    iwae_samples : sequence of int or None, default=None
        Codes per training sample of the IWAE models; None uses `IWAE_SAMPLES`.

    ks : sequence of int or None, default=None
        Code sizes of the ``defaults`` part; None uses `DEFAULTS_KS`.

    random_state : int, default=SEED
        The one seed: binarisation, test rows, every model.

    log : callable, default=print
        Receives one progress line per model.

    command : str or None, default=None
        The command line to record; None records the one that ran.
    """
    unknown = set(parts) - set(PARTS)
    if unknown:
        raise ValueError(f"Unknown parts {sorted(unknown)}; choose from {PARTS}.")
    settings = {
        "budget": BUDGET,
        "n_importance": N_IMPORTANCE,
        "defaults_n_importance": DEFAULTS_N_IMPORTANCE,
        "eval_rows": EVAL_ROWS,
        "defaults_ks": DEFAULTS_KS,
        "defaults_max_iter": DEFAULTS_MAX_ITER,
        "iwae_samples": IWAE_SAMPLES,
    }
    if quick:
        settings.update(QUICK)
    given = {
        "budget": budget,
        "n_importance": n_importance,
        "eval_rows": n_rows,
        "iwae_samples": iwae_samples,
        "defaults_ks": ks,
    }
    settings.update({key: value for key, value in given.items() if value is not None})
    data = make_data(dataset, quick=quick, random_state=random_state)
    rows = eval_rows(len(data["X_test"]), settings["eval_rows"], random_state)
    description = {
        **data["description"],
        "eval_rows": f"{len(rows)} test images: "
        f"sorted(RandomState({random_state}).permutation(n_test)[:{len(rows)}])",
    }
    common = {"n_components": N_COMPONENTS, "max_iter": MAX_ITER, "tol": 0.0}
    record = {"benchmark": "iwae", "dataset": dataset, "quick": quick, "parts": {}}
    for part in parts:
        header = record_header("iwae", seed=random_state, command=command)
        start, cpu = time.perf_counter(), time.process_time()
        if part == "iwae":
            results = run_iwae(
                data,
                rows,
                budget=settings["budget"],
                n_importance=settings["n_importance"],
                iwae_samples=settings["iwae_samples"],
                random_state=random_state,
                log=log,
            )
            part_settings = {
                **common,
                "budget_seconds": settings["budget"],
                "callbacks": f"[TimeBudget({settings['budget']}, cosine=True)]",
                "importance_samples": [1, *settings["iwae_samples"]],
                "n_importance": settings["n_importance"],
                "target": f"IWAE (k=50) at least {TARGET_NATS} nat better than ELBO",
                "anchor": ANCHOR,
            }
        else:
            results = run_defaults(
                data,
                rows,
                budget=settings["budget"],
                n_importance=settings["defaults_n_importance"],
                ks=settings["defaults_ks"],
                max_iter=settings["defaults_max_iter"],
                random_state=random_state,
                log=log,
            )
            part_settings = {
                "ks": list(settings["defaults_ks"]),
                "defaults": "VariationalAutoencoder(k, likelihood='bernoulli', "
                f"max_iter={settings['defaults_max_iter']}, "
                f"random_state={random_state})",
                "budget": "VariationalAutoencoder(k, likelihood='bernoulli', "
                f"max_iter={MAX_ITER}, tol=0.0, callbacks=[TimeBudget("
                f"{settings['budget']}, cosine=True)], random_state={random_state})",
                "budget_seconds": settings["budget"],
                "n_importance": settings["defaults_n_importance"],
                "better": "difference above twice its paired standard error",
            }
        record["parts"][part] = {
            **header,
            "data": description,
            "settings": part_settings,
            "results": results,
            "wall_time": round(time.perf_counter() - start, 1),
            "cpu_time": round(time.process_time() - cpu, 1),
        }
    return record


def merged(record, path):
    """`record`, plus the parts of the record at `path` that it did not run."""
    path = Path(path)
    if not path.exists():
        return record
    old = json.loads(path.read_text())
    if old.get("dataset") != record["dataset"] or old.get("quick") != record["quick"]:
        return record
    return {**record, "parts": {**old.get("parts", {}), **record["parts"]}}


def _verdict(met):
    """The words for a target's outcome."""
    return {True: "met", False: "not met", None: ""}[met]


def table(record):
    """The markdown tables of `record`."""
    lines = []
    part = record["parts"].get("iwae")
    if part:
        settings = part["settings"]
        lines += [
            f"Held-out log-likelihood of `VariationalAutoencoder({N_COMPONENTS}, "
            f'likelihood="bernoulli")` on binarised {record["dataset"]}, each '
            f"model trained for {settings['budget_seconds']:g} s "
            f"({settings['callbacks']}); importance-weighted estimate with "
            f"{settings['n_importance']} codes per image on {part['data']['eval_rows']}"
            f". Issue target: {settings['target']}; {ANCHOR}.",
            "",
            "| Model | Objective | Budget (s) | Epochs | Fit wall / CPU (s) "
            "| Test IW-LL (nats) | vs ELBO (nats, paired SE) | Target |",
            "|---|---|---:|---:|---:|---:|---:|---|",
        ]
        for row in part["results"]:
            samples = row["importance_samples"]
            objective = "ELBO" if samples == 1 else f"IWAE bound, {samples} samples"
            versus, target = "", ""
            if "vs_elbo" in row:
                versus = row["vs_elbo"]
                target = _verdict(versus["target_met"])
                versus = f"{versus['difference']:+.2f} ± {versus['se']:.2f}"
            lines.append(
                f"| {row['model']} | {objective} | {settings['budget_seconds']:g} "
                f"| {row['epochs']} "
                f"| {row['fit_time']:.0f} / {row['fit_cpu_time']:.0f} "
                f"| {row['log_likelihood']:.2f} | {versus} | {target} |"
            )
        lines.append(f"| {ANCHOR} | | | | | | about +2 | |")
        over = [
            row["model"]
            for row in part["results"]
            if row["epochs"] == 1 and row["fit_time"] > settings["budget_seconds"]
        ]
        if over:
            lines += [
                "",
                f"{', '.join(over)}: the first epoch alone outlasts the budget; "
                "`TimeBudget` then ended training between epochs only (it now "
                "also checks after every batch), so the fit ran one.",
            ]
        lines.append("")
    part = record["parts"].get("defaults")
    if part:
        settings = part["settings"]
        lines += [
            f"Today's defaults (`{settings['defaults']}`) against the ELBO model "
            f"trained for {settings['budget_seconds']:g} s (`{settings['budget']}`), "
            f"on the same binarised data; importance-weighted estimate with "
            f"{settings['n_importance']} codes per image on {part['data']['eval_rows']}"
            ". Better: the difference above twice its paired standard error.",
            "",
            "| k | Defaults: epochs | fit wall (s) | IW-LL (nats) "
            "| Budget: epochs | fit wall (s) | IW-LL (nats) "
            "| Difference (paired SE) | Better |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for row in part["results"]:
            default, budgeted = row["defaults"], row["budget"]
            versus = row["vs_defaults"]
            lines.append(
                f"| {row['k']} | {default['epochs']} | {default['fit_time']:.0f} "
                f"| {default['log_likelihood']:.2f} | {budgeted['epochs']} "
                f"| {budgeted['fit_time']:.0f} | {budgeted['log_likelihood']:.2f} "
                f"| {versus['difference']:+.2f} ± {versus['se']:.2f} "
                f"| {'yes' if versus['better'] else 'no'} |"
            )
        lines.append("")
    return "\n".join(lines)


def _ints(text):
    """Parse a comma-separated list of integers."""
    return tuple(int(part) for part in text.split(",") if part)


def main(argv=None):
    """Run, print the tables, write the JSON; or print a record's tables."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_iwae", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--dataset", choices=["fashion_mnist", "digits"])
    parser.add_argument(
        "--part", choices=PARTS, action="append", help="run only this part"
    )
    parser.add_argument("--quick", action="store_true", help="smoke run, seconds")
    parser.add_argument(
        "--budget", type=float, help=f"training seconds per model (default {BUDGET:g})"
    )
    parser.add_argument(
        "--n-importance",
        type=int,
        help=f"codes per test image, iwae part (default {N_IMPORTANCE})",
    )
    parser.add_argument(
        "--rows", type=int, help=f"test images scored (default {EVAL_ROWS})"
    )
    parser.add_argument(
        "--iwae-samples", type=_ints, help="codes per training sample (default 50,5)"
    )
    parser.add_argument("--ks", type=_ints, help="defaults part's code sizes")
    parser.add_argument("--seed", type=int, default=SEED, help="the one random seed")
    add_threads_argument(parser)
    parser.add_argument(
        "--out",
        type=Path,
        help=f"output folder (default {DEFAULT_OUT.relative_to(ROOT)})",
    )
    parser.add_argument(
        "--docs", action="store_true", help=f"also write {DOCS.relative_to(ROOT)}"
    )
    parser.add_argument("--table", type=Path, help="print the tables of a JSON file")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(args.table.read_text())), end="")
        return
    use_threads(args.threads)
    dataset = args.dataset or ("digits" if args.quick else "fashion_mnist")
    record = run(
        dataset,
        parts=tuple(args.part or PARTS),
        quick=args.quick,
        budget=args.budget,
        n_importance=args.n_importance,
        n_rows=args.rows,
        iwae_samples=args.iwae_samples,
        ks=args.ks,
        random_state=args.seed,
        log=lambda line: print(line, flush=True),
    )
    out = args.out or DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "results.json"] + ([DOCS] if args.docs else [])
    for path in paths:
        full = merged(record, path)
        path.write_text(json.dumps(full, indent=1) + "\n")
    print()
    print(table(full), end="")
    for path in paths:
        print(f"Wrote {path}")


if __name__ == "__main__":
    main()
