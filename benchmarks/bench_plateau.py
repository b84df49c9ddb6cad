"""When default fits stop on a plateau: epochs and test error over `tol`.

A fit stops when its training loss has not improved by a relative `tol` for
`n_iter_no_change` epochs (skorch's ``EarlyStopping`` with
``threshold_mode="rel"``, which skae uses); until then it runs `max_iter`
epochs and warns that it did not converge. For each dataset, kind and code
size k, this benchmark makes **one** fit with the stop switched off
(``tol=0``, ``n_iter_no_change=max_iter``, every other parameter at its
default) that records the training loss (``loss_curve_``), the seconds of
each epoch and, through a skorch callback, the test MSE after each epoch.
The stop of every (`tol`, `n_iter_no_change`) pair is then replayed from the
loss curve with the same rule (:func:`replay_stop`), and also with
scikit-learn MLP's rule for comparison. With an int
`random_state` a fit is deterministic, so a fit that stops at epoch n is the
first n epochs of the long one; ``--verify`` refits with given values and
records whether ``n_iter_`` and the test MSE agree with the replay.

For each pair and fit it records the epochs run, whether the fit stopped
before `max_iter`, the training seconds up to the stop (the sum of the epoch
durations, which leave out the test-error callback) and the test MSE as a
ratio of PCA's at the same k.

Usage::

    python -m benchmarks.bench_plateau                       # digits, 3 kinds
    python -m benchmarks.bench_plateau --dataset fashion_mnist --ks 8,32 \\
        --models AutoencoderTransformer --train-rows 10000
    python -m benchmarks.bench_plateau --table docs/results/plateau_digits.json
    python -m benchmarks.bench_plateau --replay docs/results/plateau_digits.json \\
        --tols 1e-3,1e-2                    # other values, from the stored curves
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
import math
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import Callback

import skae
from benchmarks.compare import fit_quietly
from benchmarks.compare import make_data as load_data
from benchmarks.provenance import command_line, record_header

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"
SEED = 0
MAX_ITER = 200
TOLS = (1e-4, 5e-4, 1e-3, 2e-3, 5e-3)
PATIENCES = (5, 10)
# "skae": the rule skae uses; "mlp": scikit-learn MLP's (see replay_stop).
RULES = ("skae", "mlp")
MODELS = ("AutoencoderTransformer", "DenoisingAutoencoder", "SparseAutoencoder")
KS = {"digits": (2, 8, 16, 32), "fashion_mnist": (8, 32)}


class TestError(Callback):
    """Record the MSE of reconstructing `X_test` after each epoch.

    The value goes into the net's history as ``test_mse``. It is computed
    after skorch's epoch timer has recorded ``dur``, so ``dur`` excludes it.
    The encoder and decoder are the fitted model's `encoder_` and `decoder_`.
    """

    def __init__(self, X_test, batch_size=4096):
        self.X_test = X_test
        self.batch_size = batch_size

    def on_epoch_end(self, net, **kwargs):
        """Reconstruct the test set in batches and record its MSE."""
        module = net.module_
        total = 0.0
        with torch.inference_mode():
            for start in range(0, len(self.X_test), self.batch_size):
                X = torch.as_tensor(self.X_test[start : start + self.batch_size])
                X_reconstructed = module.decoder(module.encoder(X))
                total += float((X_reconstructed - X).square().sum())
        net.history.record("test_mse", total / self.X_test.size)


def replay_stop(losses, tol, n_iter_no_change, max_iter, rule="skae"):
    """Epoch after which a fit with `tol` and `n_iter_no_change` stops.

    ``rule="skae"`` is the rule skae uses, skorch's
    ``EarlyStopping(threshold_mode="rel")`` on the training loss: an epoch
    improves when its loss is below ``1 - tol`` times the loss of the last
    *improving* epoch, so a slow steady decrease adds up and counts again
    and again. ``rule="mlp"`` is scikit-learn's MLP rule
    (``_update_no_improvement_count``) made relative: an epoch improves when
    its loss is below ``1 - tol`` times the *lowest* loss so far, so each
    epoch must gain `tol` on its own. Either way, `n_iter_no_change` epochs in
    a row without an improvement end the fit. Returns `max_iter` (capped at
    the length of `losses`) when the fit never stops.
    """
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}; got {rule!r}.")
    reference, misses = math.inf, 0
    for epoch, loss in enumerate(losses[:max_iter], start=1):
        # As skorch computes it; the first epoch always improves.
        improved = reference == math.inf or loss < reference - tol * reference
        misses = 0 if improved else misses + 1
        if rule == "skae" and improved:
            reference = loss
        elif rule == "mlp":
            reference = min(reference, loss)
        if misses == n_iter_no_change:
            return epoch
    return min(max_iter, len(losses))


def replay(losses, test_mse, durations, pca_mse, *, max_iter, tols, patiences,
           rules=RULES):  # fmt: skip
    """The stop of every (rule, n_iter_no_change, tol) from one long run."""
    stops = []
    for rule in rules:
        for patience in patiences:
            for tol in tols:
                n_iter = replay_stop(losses, tol, patience, max_iter, rule)
                stops.append(
                    {
                        "rule": rule,
                        "tol": tol,
                        "n_iter_no_change": patience,
                        "n_iter": n_iter,
                        "stopped": n_iter < max_iter,
                        "train_seconds": sum(durations[:n_iter]),
                        "mse_vs_pca": test_mse[n_iter - 1] / pca_mse,
                        "mse_vs_full_run": test_mse[n_iter - 1] / test_mse[-1],
                    }
                )
    return stops


def make_data(dataset, *, train_rows=None, random_state=SEED):
    """`compare.make_data`'s split of `dataset`, the first `train_rows` rows kept."""
    data = load_data(dataset, random_state=random_state)
    X_train = data["X_train"][:train_rows]
    description = dict(data["description"], n_train=int(X_train.shape[0]))
    if train_rows is not None:
        description["split"] += f"; first {X_train.shape[0]} training rows"
    return {"X_train": X_train, "X_test": data["X_test"], "description": description}


def make_estimator(model, n_components, *, max_iter, X_test, random_state=SEED):
    """`model` with its defaults, except the stop switched off and the callback."""
    return getattr(skae, model)(
        n_components,
        max_iter=max_iter,
        tol=0.0,
        n_iter_no_change=max_iter,
        early_stopping=False,
        random_state=random_state,
        callbacks=[("test_error", TestError(X_test))],
    )


def score(estimator, data, pca_mse, *, tols, patiences):
    """Fit the long run once; replay the stop of every (tol, patience) pair."""
    fit_seconds, _ = fit_quietly(estimator, data["X_train"])
    history = estimator.net_.history
    losses = [float(loss) for loss in estimator.loss_curve_]
    test_mse = [float(mse) for mse in history[:, "test_mse"]]
    durations = [float(dur) for dur in history[:, "dur"]]
    stops = replay(
        losses, test_mse, durations, pca_mse,
        max_iter=estimator.max_iter, tols=tols, patiences=patiences,
    )  # fmt: skip
    return {
        "pca_mse": pca_mse,
        "fit_seconds_full_run": fit_seconds,
        "loss_curve": losses,
        "test_mse_curve": test_mse,
        "epoch_seconds": durations,
        "stops": stops,
    }


def verify(result, data, *, tol, patience, max_iter):
    """Refit `result`'s model with `tol` and `patience`; compare with the replay."""
    model, k, pca_mse = result["model"], result["k"], result["pca_mse"]
    n_replayed = replay_stop(result["loss_curve"], tol, patience, max_iter)
    estimator = getattr(skae, model)(
        k, max_iter=max_iter, tol=tol, n_iter_no_change=patience, random_state=SEED
    )
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        estimator.fit(data["X_train"])
    seconds = time.perf_counter() - start
    X_test = data["X_test"]
    X_reconstructed = estimator.inverse_transform(estimator.transform(X_test))
    return {
        "model": model,
        "k": k,
        "tol": tol,
        "n_iter_no_change": patience,
        "n_iter": int(estimator.n_iter_),
        "replayed_n_iter": n_replayed,
        "convergence_warning": any(
            issubclass(w.category, ConvergenceWarning) for w in caught
        ),
        "fit_seconds": seconds,
        "mse_vs_pca": float(np.mean((X_reconstructed - X_test) ** 2)) / pca_mse,
        "replayed_mse_vs_pca": result["test_mse_curve"][n_replayed - 1] / pca_mse,
    }


def verify_all(record, data, checks, log=print):
    """Append to ``record["verify"]`` a refit of every result for each check."""
    max_iter = record["settings"]["max_iter"]
    for result in record["results"]:
        for tol, patience in checks:
            check = verify(result, data, tol=tol, patience=patience,
                           max_iter=max_iter)  # fmt: skip
            record["verify"].append(check)
            log(f"verify {check['model']} k={check['k']} tol={tol:g} "
                f"n_iter_no_change={patience}: n_iter={check['n_iter']} "
                f"(replayed {check['replayed_n_iter']}), test MSE / PCA's "
                f"{check['mse_vs_pca']:.4f} (replayed "
                f"{check['replayed_mse_vs_pca']:.4f}), ConvergenceWarning: "
                f"{check['convergence_warning']}")  # fmt: skip


def run(
    dataset="digits",
    *,
    models=MODELS,
    ks=None,
    max_iter=MAX_ITER,
    train_rows=None,
    tols=TOLS,
    patiences=PATIENCES,
    checks=(),
    log=print,
):
    """Run the sweep; return a JSON-ready record."""
    header = record_header("plateau", seed=SEED)
    start = time.perf_counter()
    data = make_data(dataset, train_rows=train_rows)
    ks = KS[dataset] if ks is None else ks
    X_train, X_test = data["X_train"], data["X_test"]
    record = {
        **header,
        "dataset": dataset,
        "data": data["description"],
        "settings": {
            "models": list(models),
            "ks": list(ks),
            "max_iter": max_iter,
            "tols": list(tols),
            "n_iter_no_change": list(patiences),
            "rules": list(RULES),
            "estimators": "defaults, except n_components, max_iter, random_state; "
            "one run with tol=0 and n_iter_no_change=max_iter, stops replayed",
            "mse": "test MSE of inverse_transform(transform(X_test)) after the "
            "stopping epoch (no best-weights restore without early_stopping)",
        },
        "results": [],
        "verify": [],
    }
    for k in ks:
        pca = PCA(k, random_state=SEED).fit(X_train)
        X_pca = pca.inverse_transform(pca.transform(X_test))
        pca_mse = float(np.mean((X_pca - X_test) ** 2))
        for model in models:
            estimator = make_estimator(model, k, max_iter=max_iter, X_test=X_test)
            scores = score(estimator, data, pca_mse, tols=tols, patiences=patiences)
            record["results"].append({"model": model, "k": k, **scores})
            log(f"{dataset} k={k} {model}: {scores['fit_seconds_full_run']:.0f} s")
            for stop in scores["stops"]:
                log(_row(model, k, stop))
    verify_all(record, data, checks, log)
    record["total_seconds"] = time.perf_counter() - start
    return record


def _row(model, k, stop):
    """One markdown row of a replayed stop."""
    return (
        f"| {model} | {k} | {stop['rule']} | {stop['tol']:g} "
        f"| {stop['n_iter_no_change']} | {stop['n_iter']} "
        f"| {'yes' if stop['stopped'] else 'no'} "
        f"| {stop['train_seconds']:.1f} | {stop['mse_vs_pca']:.3f} "
        f"| {stop['mse_vs_full_run']:.3f} |"
    )


def table(record):
    """Markdown table of a record: one row per fit and (tol, n_iter_no_change)."""
    lines = [
        f"{record['dataset']}, max_iter={record['settings']['max_iter']}",
        "",
        "| model | k | rule | tol | n_iter_no_change | epochs | stopped "
        "| train (s) | test MSE / PCA's | test MSE / full run's |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in record["results"]:
        for stop in result["stops"]:
            lines.append(_row(result["model"], result["k"], stop))
    return "\n".join(lines)


def _numbers(kind):
    """Parse a comma-separated list of `kind`."""
    return lambda text: [kind(part) for part in text.split(",") if part]


def main(argv=None):
    """Run and write the JSON, or print the table of a JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", choices=["digits", "fashion_mnist"], default="digits"
    )
    parser.add_argument("--models", type=_numbers(str), default=list(MODELS))
    parser.add_argument("--ks", type=_numbers(int), help="default: per dataset")
    parser.add_argument("--max-iter", type=int, default=MAX_ITER)
    parser.add_argument("--train-rows", type=int, help="first rows of the train set")
    parser.add_argument("--tols", type=_numbers(float), default=list(TOLS))
    parser.add_argument(
        "--patiences", type=_numbers(int), default=list(PATIENCES),
        help="values of n_iter_no_change",
    )  # fmt: skip
    parser.add_argument(
        "--verify", action="append", default=[], metavar="TOL,N",
        help="also refit with tol=TOL, n_iter_no_change=N (repeatable)",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, help="default docs/results/plateau_*.json")
    parser.add_argument("--table", type=Path, help="print the table of a JSON file")
    parser.add_argument(
        "--replay", type=Path, metavar="JSON",
        help="recompute the stops of a JSON file's runs for --tols and --patiences "
        "(no fitting); writes --out, default the same file",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return
    checks = [
        (float(tol), int(n)) for tol, n in (item.split(",") for item in args.verify)
    ]
    if args.replay:
        torch.set_num_threads(args.threads)
        record = json.loads(args.replay.read_text())
        max_iter = record["settings"]["max_iter"]
        for result in record["results"]:
            result["stops"] = replay(
                result["loss_curve"], result["test_mse_curve"],
                result["epoch_seconds"], result["pca_mse"], max_iter=max_iter,
                tols=args.tols, patiences=args.patiences,
            )  # fmt: skip
        record["settings"].update(
            tols=list(args.tols), n_iter_no_change=list(args.patiences),
            rules=list(RULES),
        )  # fmt: skip
        record["replayed"] = command_line()
        if checks:
            data = make_data(record["dataset"], train_rows=record["data"]["n_train"])
            verify_all(record, data, checks)
        out = args.out or args.replay
        out.write_text(json.dumps(record, indent=1) + "\n")
        print(table(record))
        print(f"Wrote {out}")
        return
    torch.set_num_threads(args.threads)
    record = run(
        args.dataset,
        models=args.models,
        ks=args.ks,
        max_iter=args.max_iter,
        train_rows=args.train_rows,
        tols=args.tols,
        patiences=args.patiences,
        checks=checks,
    )
    out = args.out or RESULTS / f"plateau_{args.dataset}.json"
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(table(record))
    print(f"Wrote {out}")


if __name__ == "__main__":
    main()
