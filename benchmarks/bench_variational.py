"""VariationalAutoencoder against PCA and the plain autoencoder: likelihood and codes.

For each code size k, on the data of ``benchmarks.compare`` (Fashion-MNIST by
default, its official 60,000 / 10,000 split, pixels in [0, 1]) and with the
epoch budget of that comparison (``compare.SETTINGS``):

* ``PCA(k)``: its ``score`` on the test set, the exact log-likelihood of
  probabilistic PCA in nats per image;
* ``AutoencoderTransformer(k)``, the plain autoencoder;
* ``VariationalAutoencoder(k)`` with a Gaussian likelihood (its default): the
  held-out mean ELBO (``score``) and importance-weighted estimate of the
  log-likelihood (``log_likelihood``), in the units of ``PCA.score``;
* ``VariationalAutoencoder(k, likelihood="bernoulli")``: the usual choice for
  images in [0, 1]; its nats are those of a Bernoulli model of the grey levels,
  a different model of the data, so they are not compared with PCA's.

Every model also gets the measures of ``compare.score`` (test MSE, logistic
regression and k-NN accuracy on the codes, fit time, epochs). The record
keeps what the figures need: the 2-d codes of test images (the ``k=2``
models), samples drawn from a VAE and interpolations between test images
through its latent space. Usage::

    python -m benchmarks.bench_variational --docs    # Fashion-MNIST, about an hour
    python -m benchmarks.bench_variational --quick   # smoke run, minutes
    python -m benchmarks.bench_variational --table docs/results/variational.json
    python -m benchmarks.bench_variational --redraw docs/results/variational.json \
        --out docs/images [--sample-k 32]

``--docs`` writes ``docs/results/variational.json`` and the figures
``docs/images/<dataset>_vae_{latent,samples,interpolation}.png``.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import base64
import json
import time
import warnings
from pathlib import Path

import numpy as np

import skae
from benchmarks import compare, plots, report
from benchmarks.provenance import (
    add_threads_argument,
    load_average,
    record_header,
    use_threads,
)
from skae.datasets import load_fashion_mnist
from skae.plotting import LatentSpaceDisplay, SampleGridDisplay

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "variational"
MODELS = (
    "PCA",
    "AutoencoderTransformer",
    "VariationalAutoencoder",
    "VariationalAutoencoder-bernoulli",
)
# The parameters each model sets besides n_components, max_iter and
# random_state: none but the likelihood.
PARAMS = {
    "AutoencoderTransformer": {},
    "VariationalAutoencoder": {"likelihood": "gaussian"},
    "VariationalAutoencoder-bernoulli": {"likelihood": "bernoulli"},
}
KS = (2, 8, 32)
# Codes drawn per test image by `log_likelihood` (its default); then
# CHECK_IMPORTANCE draws on the first CHECK_ROWS test images, as many decoder
# passes in all, show how far the estimate still is from converged.
N_IMPORTANCE = 100
CHECK_IMPORTANCE = 1000
CHECK_ROWS = 1000
# A latent dimension is active when the variance of its posterior mean over
# the test images exceeds this (Burda et al., 2016): inactive ones carry no
# information about the image (posterior collapse).
ACTIVE_THRESHOLD = 0.01
# Test images whose 2-d codes are drawn, samples drawn (a square grid), and
# the class pairs interpolated between (first test image of each class).
N_SCATTER = 3000
N_SAMPLES = 36
INTERPOLATION_PAIRS = ((0, 1), (7, 9), (8, 3))
N_STEPS = 8
# The samples and interpolations of the Gaussian VAE are kept at every k; the
# figures show those at this k (or the nearest measured).
SAMPLE_K = 8
QUICK = {"ks": (2, 8), "n_importance": 20}


def make_data(dataset="fashion_mnist", *, quick=False, train_rows=None, random_state=0):
    """Data of ``compare.make_data``, its training rows optionally cut.

    Parameters
    ----------
    dataset : {"fashion_mnist", "mnist", "digits"}, default="fashion_mnist"
        Which dataset.

    quick : bool, default=False
        Whether to subsample as the dataset's ``quick`` settings say.

    train_rows : int or None, default=None
        Keep the first `train_rows` training rows (None: all).

    random_state : int, default=0
        Seed of the digits split and of the test noise.

    Returns
    -------
    data : dict
        As ``compare.make_data``, plus ``class_names``.
    """
    data = compare.make_data(dataset, quick=quick, random_state=random_state)
    if train_rows is not None and train_rows < len(data["X_train"]):
        data["X_train"] = data["X_train"][:train_rows]
        data["y_train"] = data["y_train"][:train_rows]
        data["description"]["n_train"] = int(train_rows)
        data["description"]["split"] += f"; first {train_rows} training rows"
    if dataset == "fashion_mnist":
        names = load_fashion_mnist(subset="test").target_names
    else:
        names = [str(c) for c in np.unique(data["y_test"])]
    data["class_names"] = [str(name) for name in names]
    return data


def make_estimator(model, n_components, *, max_iter, random_state=0):
    """Build `model` for a code of `n_components`, with its defaults.

    Only the code size, the epoch budget `max_iter`, the seed and, for the
    variational autoencoders, the likelihood are set.
    """
    if model == "PCA":
        return compare.make_estimator(
            model, n_components, max_iter=max_iter, random_state=random_state
        )
    Estimator = getattr(skae, model.split("-")[0])
    return Estimator(
        n_components, max_iter=max_iter, random_state=random_state, **PARAMS[model]
    )


def _timed(function, *args, **kwargs):
    """Call `function`; return its result and wall seconds."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def score(estimator, data, *, n_importance=N_IMPORTANCE, random_state=0):
    """Fit `estimator` and measure it: ``compare.score`` plus the likelihoods.

    Parameters
    ----------
    estimator : PCA, AutoencoderTransformer or VariationalAutoencoder
        Unfitted.

    data : dict
        The output of :func:`make_data`.

    n_importance : int, default=N_IMPORTANCE
        Codes drawn per test image by ``log_likelihood``.

    random_state : int, default=0
        Seed of the classifiers on the codes (as ``compare.score``).

    Returns
    -------
    scores : dict
        JSON-ready measures; log-likelihoods in nats per image. For PCA,
        ``log_likelihood`` is the exact ``score``; for a VAE, ``elbo`` is
        the mean of ``score_samples`` and ``log_likelihood`` the
        importance-weighted estimate.
    """
    X_train, X_test = data["X_train"], data["X_test"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scores = compare.score(estimator, data, random_state=random_state)
    # The fields of the denoising and sparsity comparisons are not this
    # benchmark's subject; the rest is kept.
    for key in ("arrays", "activation_density", "near_zero_fraction"):
        scores.pop(key)
    scores["warnings"] = sorted({f"{w.category.__name__}: {w.message}" for w in caught})
    Z_test = estimator.transform(X_test)
    scores["active_units"] = int(np.sum(Z_test.var(axis=0) > ACTIVE_THRESHOLD))
    check = X_test[:CHECK_ROWS]
    if isinstance(estimator, skae.VariationalAutoencoder):
        elbo, scores["elbo_time"] = _timed(estimator.score_samples, X_test)
        scores["elbo"] = float(np.mean(elbo))
        scores["elbo_sem"] = float(np.std(elbo) / np.sqrt(len(elbo)))
        scores["train_elbo"] = float(estimator.score(X_train[: len(X_test)]))
        log_likelihood, scores["log_likelihood_time"] = _timed(
            estimator.log_likelihood, X_test, n_importance=n_importance
        )
        scores["log_likelihood"] = float(np.mean(log_likelihood))
        scores["n_importance"] = n_importance
        more = estimator.log_likelihood(check, n_importance=CHECK_IMPORTANCE)
        scores["check"] = {
            "rows": len(check),
            "n_importance": CHECK_IMPORTANCE,
            "log_likelihood": float(np.mean(more)),
            "log_likelihood_at_n_importance": float(
                np.mean(log_likelihood[: len(check)])
            ),
            "elbo": float(np.mean(elbo[: len(check)])),
        }
        scores["final_reconstruction_loss"] = estimator.reconstruction_loss_curve_[-1]
        scores["final_kl_loss"] = estimator.kl_loss_curve_[-1]
        scores["loss_curve"] = [round(x, 3) for x in estimator.loss_curve_]
        scores["kl_loss_curve"] = [round(x, 3) for x in estimator.kl_loss_curve_]
    elif hasattr(estimator, "noise_variance_"):
        scores["log_likelihood"] = float(estimator.score(X_test))
        scores["train_log_likelihood"] = float(estimator.score(X_train[: len(X_test)]))
    return scores


def _encode(array, dtype):
    """`array` in `dtype`, as base64: compact JSON for thousands of numbers."""
    array = np.ascontiguousarray(array, dtype=dtype)
    return {
        "shape": list(array.shape),
        "dtype": array.dtype.name,
        "base64": base64.b64encode(array.tobytes()).decode("ascii"),
    }


def _decode(encoded):
    """The array that :func:`_encode` stored."""
    array = np.frombuffer(base64.b64decode(encoded["base64"]), dtype=encoded["dtype"])
    return array.reshape(encoded["shape"])


def _first_of(y, label):
    """Index of the first row of `y` with `label`."""
    return int(np.flatnonzero(y == label)[0])


def _pictures(estimator, data, *, random_state=0):
    """Samples of `estimator` and interpolations between test images, as images."""
    shape = data["image_shape"]
    X_test, y_test = data["X_test"], data["y_test"]
    classes = set(np.unique(y_test).tolist())
    pairs = [(a, b) for a, b in INTERPOLATION_PAIRS if {a, b} <= classes]
    rows = []
    weights = np.linspace(0, 1, N_STEPS)[:, None]
    for a, b in pairs:
        ends = X_test[[_first_of(y_test, a), _first_of(y_test, b)]]
        Z = estimator.transform(ends)
        path = estimator.inverse_transform((1 - weights) * Z[0] + weights * Z[1])
        rows.append(compare._to_images(np.r_[ends[:1], path, ends[1:]], shape))
    samples = estimator.sample(N_SAMPLES, random_state=random_state)
    return {
        "samples": compare._to_images(samples, shape),
        "interpolation": {"pairs": [list(pair) for pair in pairs], "rows": rows},
    }


def run(
    dataset="fashion_mnist",
    *,
    quick=False,
    train_rows=None,
    ks=None,
    models=MODELS,
    max_iter=None,
    n_importance=None,
    sample_k=SAMPLE_K,
    random_state=0,
    log=print,
    command=None,
):
    """Measure every model at every code size; return a JSON-ready record.

    Parameters
    ----------
    dataset : {"fashion_mnist", "mnist", "digits"}, default="fashion_mnist"
        Which dataset.

    quick : bool, default=False
        A smoke run: ``compare``'s quick rows and epochs, fewer sizes and
        importance samples.

    train_rows : int or None, default=None
        Keep the first `train_rows` training rows.

    ks : sequence of int or None, default=None
        Code sizes; None uses 2, 8 and 32 (quick: 2 and 8).

    models : sequence of str, default=MODELS
        Which of `MODELS` to run.

    max_iter : int or None, default=None
        Epochs per autoencoder; None uses ``compare.SETTINGS``' budget.

    n_importance : int or None, default=None
        Codes per image of ``log_likelihood``; None uses `N_IMPORTANCE`.

    sample_k : int, default=SAMPLE_K
        Code size whose samples and interpolations the figures show (the
        nearest measured); those of every k are kept in the record.

    random_state : int, default=0
        The one seed: data, every model, the samples drawn.

    log : callable, default=print
        Receives one progress line per fit.

    command : str or None, default=None
        The command line to record; None records the one that ran
        (``provenance.command_line``).
    """
    header = record_header("variational", seed=random_state, command=command)
    start, cpu_start = time.perf_counter(), time.process_time()
    unknown = set(models) - set(MODELS)
    if unknown:
        raise ValueError(f"Unknown models {sorted(unknown)}; choose from {MODELS}.")
    settings = compare.SETTINGS[dataset]
    if quick:
        settings = {**settings, **settings["quick"], **QUICK}
    ks = [int(k) for k in (ks or settings.get("ks", KS))]
    max_iter = max_iter or settings["max_iter"]
    n_importance = n_importance or settings.get("n_importance", N_IMPORTANCE)
    data = make_data(
        dataset, quick=quick, train_rows=train_rows, random_state=random_state
    )
    sample_k = min(ks, key=lambda k: (abs(k - sample_k), k))
    rng = np.random.RandomState(random_state)
    scattered = np.sort(rng.permutation(len(data["y_test"]))[:N_SCATTER])
    description = {**data["description"], "class_names": data["class_names"]}
    record = {
        **header,
        "dataset": dataset,
        "quick": quick,
        "data": description,
        "settings": {
            "ks": ks,
            "models": list(models),
            "max_iter": max_iter,
            "estimators": "defaults, except n_components, max_iter (autoencoders), "
            "random_state and likelihood (variational)",
            "params": PARAMS,
            "n_importance": n_importance,
            "logistic": "StandardScaler + LogisticRegression(max_iter=1000) on codes",
            "knn": "KNeighborsClassifier(n_neighbors=5) on codes",
            "active_threshold": ACTIVE_THRESHOLD,
            "sample_k": sample_k,
        },
        "results": [],
        "latent": {
            "rows": f"{N_SCATTER} test images drawn by "
            f"RandomState({random_state}).permutation",
            "labels": _encode(data["y_test"][scattered], np.uint8),
            "codes": {},
        },
        "pictures": {},
    }
    for k in ks:
        for model in models:
            estimator = make_estimator(
                model, k, max_iter=max_iter, random_state=random_state
            )
            scores = score(
                estimator, data, n_importance=n_importance, random_state=random_state
            )
            record["results"].append({"model": model, "k": k, **scores})
            if k == 2:
                Z = estimator.transform(data["X_test"][scattered])
                record["latent"]["codes"][model] = _encode(Z, np.float16)
            if model == "VariationalAutoencoder":
                record["pictures"][str(k)] = _pictures(
                    estimator, data, random_state=random_state
                )
            likelihood = ""
            if "elbo" in scores:
                check = scores["check"]
                likelihood = (
                    f"elbo={scores['elbo']:.1f} iw={scores['log_likelihood']:.1f} "
                    f"({scores['log_likelihood_time']:.0f}s; K={CHECK_IMPORTANCE}: "
                    f"{check['log_likelihood']:.1f} on {check['rows']} rows) "
                    f"kl={scores['final_kl_loss']:.1f} "
                )
            elif "log_likelihood" in scores:
                likelihood = f"loglik={scores['log_likelihood']:.1f} "
            log(
                f"{dataset} k={k:<3d} {model:<32s} {likelihood}"
                f"mse={scores['mse']:.5f} logistic={scores['logistic_accuracy']:.3f} "
                f"active={scores['active_units']} fit={scores['fit_time']:.1f}s"
                + (f" epochs={scores['n_iter']}" if "n_iter" in scores else "")
                + "".join(f"\n  {w}" for w in scores["warnings"])
            )
    record["hardware"]["load_average_at_end"] = load_average()
    record["total_time"] = time.perf_counter() - start
    record["total_cpu_time"] = time.process_time() - cpu_start
    return record


# -- figures, from the record alone --------------------------------------------


def plot_latent(record, path):
    """The 2-d test codes of each k=2 model, coloured by class."""
    plt = plots._pyplot()
    latent = record["latent"]
    models = [
        model for model in record["settings"]["models"] if model in latent["codes"]
    ]
    labels = _decode(latent["labels"])
    names = record["data"]["class_names"]
    fig, axes = plt.subplots(
        1, len(models), figsize=(3.6 * len(models) + 1.6, 3.9), squeeze=False
    )
    for ax, model in zip(axes[0], models, strict=True):
        Z = _decode(latent["codes"][model]).astype(np.float32)
        display = LatentSpaceDisplay.from_codes(
            Z, labels, ax=ax, scatter_kw={"s": 2, "linewidths": 0}
        )
        display.legend_.remove()
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.set_title(report.VARIATIONAL_SHORT[model], fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    # One legend, with the class names.
    handles = display.legend_.legend_handles
    axes[0, -1].legend(
        handles, names, loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=8
    )
    dataset = report.NAMES.get(record["dataset"], record["dataset"])
    fig.suptitle(f"Codes at k=2 of {len(labels)} test images ({dataset})", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=plots.DPI)
    plt.close(fig)


def _mosaic(ax, rows, labels=None):
    """Draw rows of images as one picture on `ax`, a white line between them."""
    n_rows, n_cols = len(rows), len(rows[0])
    height, width = rows[0][0].shape
    mosaic = np.zeros((n_rows * (height + 1) - 1, n_cols * (width + 1) - 1))
    for i, images in enumerate(rows):
        for j, image in enumerate(images):
            top, left = i * (height + 1), j * (width + 1)
            mosaic[top : top + height, left : left + width] = image
    ax.imshow(mosaic, cmap="gray_r", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if labels is not None:
        ax.set_yticks(np.arange(n_rows) * (height + 1) + height / 2, labels, fontsize=8)
        ax.tick_params(left=False)
    for side in ax.spines.values():
        side.set_visible(False)


def _pictured_k(record, k=None):
    """The code size whose samples are drawn: `k`, or the record's choice."""
    if k is None:
        k = record["settings"]["sample_k"]
    if str(k) not in record["pictures"]:
        raise ValueError(
            f"No pictures at k={k}; the record has {list(record['pictures'])}."
        )
    return k


def _pictures_title(record, text, k):
    """Title of a picture of the Gaussian VAE at `k`."""
    name = report.VARIATIONAL_SHORT["VariationalAutoencoder"]
    dataset = report.NAMES.get(record["dataset"], record["dataset"])
    return f"{text}\n{name} at k={k} ({dataset})"


def plot_samples(record, path, k=None):
    """Images drawn from the VAE's prior, through its decoder: a square grid."""
    plt = plots._pyplot()
    k = _pictured_k(record, k)
    images = plots._images(record["pictures"][str(k)]["samples"])
    fig, ax = plt.subplots(figsize=(5, 5.4))
    SampleGridDisplay(
        images.reshape(len(images), -1), image_shape=images.shape[1:]
    ).plot(ax=ax, n_cols=int(np.sqrt(len(images))), imshow_kw={"vmin": 0, "vmax": 1})
    title = "Samples: codes drawn from the prior, decoded"
    ax.set_title(_pictures_title(record, title, k), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=plots.DPI)
    plt.close(fig)


def plot_interpolation(record, path, k=None):
    """Each pair of test images, and decoded codes on the line between theirs."""
    plt = plots._pyplot()
    k = _pictured_k(record, k)
    interpolation = record["pictures"][str(k)]["interpolation"]
    rows = [plots._images(row) for row in interpolation["rows"]]
    names = record["data"]["class_names"]
    labels = [f"{names[a]}\nto {names[b]}" for a, b in interpolation["pairs"]]
    n_cols = len(rows[0])
    fig, ax = plt.subplots(figsize=(0.75 * n_cols + 1.2, 0.75 * len(rows) + 0.9))
    _mosaic(ax, rows, labels)
    title = "Test images (ends) and the decoded line between their codes"
    ax.set_title(_pictures_title(record, title, k), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=plots.DPI)
    plt.close(fig)


FIGURES = {
    "latent.png": plot_latent,
    "samples.png": plot_samples,
    "interpolation.png": plot_interpolation,
}


def plot_all(record, out_dir, prefix="", k=None):
    """Write the figures of `record` into `out_dir`; return their paths.

    `k` chooses the code size of the samples and interpolations (None: the
    record's ``sample_k``).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, plot in FIGURES.items():
        if name == "latent.png" and not record["latent"]["codes"]:
            continue
        if name != "latent.png" and not record["pictures"]:
            continue
        path = out_dir / f"{prefix}{name}"
        if name == "latent.png":
            plot(record, path)
        else:
            plot(record, path, k=k)
        paths.append(path)
    return paths


def _ints(text):
    """Parse a comma-separated list of integers."""
    return [int(part) for part in text.split(",") if part]


def main(argv=None):
    """Run, print the table, write the JSON and figures; or print a record's table."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_variational",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument(
        "--dataset",
        choices=["fashion_mnist", "mnist", "digits"],
        default="fashion_mnist",
    )
    parser.add_argument(
        "--quick", action="store_true", help="smoke run: 10,000 rows, 3 epochs, k=2,8"
    )
    parser.add_argument("--train-rows", type=int, help="keep the first N training rows")
    parser.add_argument("--ks", type=_ints, help="code sizes (default 2,8,32)")
    parser.add_argument(
        "--models", help=f"comma-separated subset of {','.join(MODELS)}"
    )
    parser.add_argument(
        "--max-iter", type=int, help="epochs per autoencoder (default: compare's)"
    )
    parser.add_argument(
        "--n-importance",
        type=int,
        help=f"codes per image of log_likelihood (default {N_IMPORTANCE})",
    )
    parser.add_argument("--seed", type=int, default=0, help="the one random seed")
    add_threads_argument(parser)
    parser.add_argument(
        "--out",
        type=Path,
        help=f"output folder (default {DEFAULT_OUT.relative_to(ROOT)})",
    )
    parser.add_argument(
        "--docs",
        action="store_true",
        help="also write docs/results/variational.json and "
        "docs/images/<dataset>_vae_*.png (then: python -m benchmarks.update_readme)",
    )
    parser.add_argument(
        "--sample-k",
        type=int,
        help=f"code size of the samples and interpolation drawn (default {SAMPLE_K})",
    )
    parser.add_argument("--table", type=Path, help="print the table of a JSON file")
    parser.add_argument(
        "--redraw", type=Path, help="redraw the figures of a JSON file into --out"
    )
    args = parser.parse_args(argv)
    if args.table:
        print(report.variational(json.loads(args.table.read_text())), end="")
        return
    if args.redraw:
        record = json.loads(args.redraw.read_text())
        out = args.out or DEFAULT_OUT
        prefix = f"{record['dataset']}_vae_"
        for path in plot_all(record, out, prefix, k=args.sample_k):
            print(f"Wrote {path}")
        return
    use_threads(args.threads)
    record = run(
        args.dataset,
        quick=args.quick,
        train_rows=args.train_rows,
        ks=args.ks,
        models=MODELS if args.models is None else args.models.split(","),
        max_iter=args.max_iter,
        n_importance=args.n_importance,
        sample_k=args.sample_k or SAMPLE_K,
        random_state=args.seed,
        log=lambda line: print(line, flush=True),
    )
    text = json.dumps(record, indent=1) + "\n"
    out = args.out or DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(text)
    print()
    print(report.variational(record), end="")
    print(f"Wrote {out / 'results.json'}")
    figures = plot_all(record, out, prefix=f"{args.dataset}_vae_")
    if args.docs:
        path = ROOT / "docs" / "results" / "variational.json"
        path.write_text(text)
        figures += [path]
        figures += plot_all(record, ROOT / "docs" / "images", f"{args.dataset}_vae_")
    for path in figures:
        print(f"Wrote {path}")


if __name__ == "__main__":
    main()
