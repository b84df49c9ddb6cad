"""ContractiveAutoencoder over `contraction_weight`: contraction against error.

For each code size k: PCA, the plain AutoencoderTransformer (a weight of 0,
which ContractiveAutoencoder reproduces exactly: ``tests/test_contractive.py``),
ContractiveAutoencoder at each `contraction_weight` of the sweep, and the
DenoisingAutoencoder for reference, all with their other parameters at the
defaults, trained for the same `max_iter` epochs with the same seed. On
scikit-learn's digits (MinMax-scaled to [0, 1] on a fixed, stratified
training split; the test rows clipped to that range) it measures, on the test
rows:

* **Clean error:** the MSE of ``inverse_transform(transform(X_test))``, as a
  multiple of PCA's and of the plain autoencoder's.
* **Sensitivity of the codes:** the mean over rows of
  ``||f(x + e) - f(x)||^2 / ||e||^2`` for Gaussian e of standard deviation
  `SENSITIVITY_NOISE` (seeded), about ``||J_f(x)||_F^2 / n_features``; and
  the Jacobian's squared Frobenius norm itself
  (``skae._contractive.jacobian_norm``, `N_PROBES` probes a row under a fixed
  torch seed), in the JSON. Both change when the codes are only rescaled,
  and nothing ties the decoder to the encoder: a network can lower them by
  shrinking its codes while its decoder scales them back up. Two measures are
  unchanged by such a rescaling: the **scale-free sensitivity**, the code
  sensitivity over the total variance of the test codes (how far noise moves
  a code, against how far apart the codes of different images lie), and the
  **output sensitivity**, ``||g(f(x + e)) - g(f(x))||^2 / ||e||^2`` (the share
  of the perturbation's energy that reaches the reconstruction: k /
  n_features for PCA's projection, 1 for the identity).
* **Downstream:** test accuracy of ``StandardScaler + LogisticRegression``
  trained on the training codes.
* **Denoising:** the PSNR of the reconstructions of the test rows plus
  Gaussian noise of `DENOISING_NOISE` (seeded, clipped to [0, 1]) against the
  clean rows, and its difference from PCA's and the plain autoencoder's.

``--dataset fashion_mnist`` runs the same measures on the first 10,000
Fashion-MNIST training images and 2,000 test images (when
``skae.datasets.load_fashion_mnist`` finds them; skipped otherwise), at one
code size and fewer weights (`SETTINGS`).

**The default weight, 1e-4** (``docs/results/contractive.json``, rendered in
``docs/user_guide/contractive.rst``). The penalty sums the squares of all
n_components x n_features derivatives while the reconstruction error is a mean
over the features, so the weights that matter are small: 0.1, the weight the
class first shipped with, gave a test error 2.4 to 25 times the plain
autoencoder's (above PCA's at every k), and 1 cost up to 15 points of
logistic accuracy. 1e-4 is the smallest weight of the sweep that contracts
clearly at every k measured (8, 16, 32): the codes' sensitivity falls to
about a tenth of the plain autoencoder's, the scale-free and output
sensitivities to 0.55 to 0.75 of it, and noisy inputs are reconstructed
better than by the plain autoencoder and by PCA, while the clean error stays
within 20% of the plain autoencoder's (and below PCA's). 1e-5 only halves
the codes' sensitivity. 1e-3 contracts no more in the scale-free measure
but costs 1.3 to 2.2 times the plain autoencoder's clean error (above PCA's
at k=32): most of what heavier weights remove from the codes' sensitivity is
the codes' scale, which the decoder, not tied to the encoder, scales back up.

Usage (about 3 CPU minutes on digits; the Fashion-MNIST run about 5)::

    python -m benchmarks.bench_contractive          # docs/results/contractive.json
    python -m benchmarks.bench_contractive --dataset fashion_mnist
    python -m benchmarks.bench_contractive --table docs/results/contractive.json
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

import skae
from benchmarks.compare import fit_quietly, psnr
from benchmarks.provenance import add_threads_argument, record_header, use_threads
from skae._contractive import jacobian_norm

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"
OUT = {
    "digits": RESULTS / "contractive.json",
    "fashion_mnist": RESULTS / "contractive_fashion_mnist.json",
}
SEED = 0
# Per dataset: the code sizes, the weights swept (0 is the plain
# autoencoder), the epoch budget of every autoencoder (as compare.py's) and,
# for Fashion-MNIST, the rows kept. The digits run takes about 3 CPU minutes.
SETTINGS = {
    "digits": {
        "ks": (8, 16, 32),
        "weights": (0.0, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0),
        "max_iter": 100,
        "test_size": 0.25,
    },
    "fashion_mnist": {
        "ks": (16,),
        "weights": (0.0, 1e-5, 1e-4, 1e-3, 1e-2),
        "max_iter": 15,
        "n_train": 10_000,
        "n_test": 2_000,
    },
}
# Standard deviation of the small Gaussian perturbation of the sensitivity
# measures (not clipped: a local derivative), and of the noise of the
# denoising measure (clipped to [0, 1], as in compare.py).
SENSITIVITY_NOISE = 0.05
DENOISING_NOISE = 0.2
# Random probes per test row of the Jacobian-norm estimate.
N_PROBES = 10


def make_data(dataset="digits", *, random_state=SEED):
    """Load `dataset`, MinMax-scaled to [0, 1] on its training rows.

    Parameters
    ----------
    dataset : {"digits", "fashion_mnist"}, default="digits"
        Digits are split once (stratified, `random_state`); Fashion-MNIST
        keeps the first rows of its official splits (`SETTINGS`).

    random_state : int, default=SEED
        Seed of the digits split and of both test perturbations.

    Returns
    -------
    data : dict
        ``X_train``, ``X_test``, ``y_train``, ``y_test`` (float32, the scaler
        fitted on the training rows and clipping the test rows to [0, 1]),
        ``X_test_perturbed`` (plus Gaussian noise of `SENSITIVITY_NOISE`),
        ``X_test_noisy`` (plus Gaussian noise of `DENOISING_NOISE`, clipped to
        [0, 1]) and ``description`` (JSON-ready).

    Raises
    ------
    FileNotFoundError
        When Fashion-MNIST's files are not found.
    """
    settings = SETTINGS[dataset]
    if dataset == "digits":
        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=settings["test_size"], stratify=y,
            random_state=random_state,
        )  # fmt: skip
        split = (
            f"train_test_split(test_size={settings['test_size']}, stratify=y, "
            f"random_state={random_state})"
        )
    else:
        from skae.datasets import load_fashion_mnist

        X_train, y_train = load_fashion_mnist(subset="train", return_X_y=True)
        X_test, y_test = load_fashion_mnist(subset="test", return_X_y=True)
        n_train, n_test = settings["n_train"], settings["n_test"]
        X_train, y_train = X_train[:n_train], y_train[:n_train]
        X_test, y_test = X_test[:n_test], y_test[:n_test]
        split = f"the first {n_train} official training and {n_test} test images"
    scaler = MinMaxScaler(clip=True).fit(X_train)
    X_train = scaler.transform(X_train).astype(np.float32)
    X_test = scaler.transform(X_test).astype(np.float32)
    rng = np.random.default_rng(random_state)
    perturbation = rng.normal(0, SENSITIVITY_NOISE, X_test.shape).astype(np.float32)
    noise = rng.normal(0, DENOISING_NOISE, X_test.shape).astype(np.float32)
    X_test_noisy = np.clip(X_test + noise, 0, 1)
    return {
        "X_train": X_train,
        "X_test": X_test,
        "y_train": y_train,
        "y_test": y_test,
        "X_test_perturbed": X_test + perturbation,
        "X_test_noisy": X_test_noisy,
        "description": {
            "dataset": dataset,
            "n_train": len(X_train),
            "n_test": len(X_test),
            "n_features": X_train.shape[1],
            "split": split,
            "scaling": "MinMaxScaler(clip=True) fitted on the training rows",
            "sensitivity_noise": SENSITIVITY_NOISE,
            "denoising_noise": DENOISING_NOISE,
            "psnr_noisy_input": psnr(X_test_noisy, X_test),
        },
    }


def make_estimator(model, n_components, *, weight=None, max_iter,
                   random_state=SEED):  # fmt: skip
    """PCA, an autoencoder, or the contractive one at `weight`.

    Only the code size, the epoch budget and the seed are set (and
    `contraction_weight`; None keeps the package's default): every other
    parameter keeps its default.
    """
    if model == "PCA":
        return PCA(n_components, random_state=random_state)
    # An epoch budget: every row trains for all of it.
    params = {
        "max_iter": max_iter,
        "early_stopping": False,
        "random_state": random_state,
    }
    if model == "ContractiveAutoencoder" and weight is not None:
        params["contraction_weight"] = weight
    return getattr(skae, model)(n_components, **params)


def _encoder(estimator):
    """The fitted model's encoder, as a torch function of float32 rows."""
    if isinstance(estimator, PCA):
        components = torch.from_numpy(estimator.components_.astype(np.float32))
        mean = torch.from_numpy(estimator.mean_.astype(np.float32))
        return lambda X: (X - mean) @ components.T
    return estimator.module_.encode


def score(estimator, data, *, random_state=SEED):
    """Fit `estimator` on the training rows and measure it on the test rows.

    Returns
    -------
    scores : dict
        ``mse`` (clean test reconstruction), ``sensitivity`` (mean over test
        rows of ``||f(x + e) - f(x)||^2 / ||e||^2``), ``jacobian_norm`` (mean
        squared Frobenius norm of the encoder's Jacobian), ``code_variance``
        (total variance of the test codes), ``relative_sensitivity``
        (``sensitivity / code_variance``), ``output_sensitivity`` (mean of
        ``||g(f(x + e)) - g(f(x))||^2 / ||e||^2``), ``logistic_accuracy``,
        ``psnr_noisy`` (noisy test rows reconstructed, against the clean
        ones), ``fit_seconds`` and, for an autoencoder, ``n_iter``.
    """
    X_test = data["X_test"]
    fit_seconds, _ = fit_quietly(estimator, data["X_train"])
    Z_test = estimator.transform(X_test)
    X_reconstructed = estimator.inverse_transform(Z_test)
    Z_perturbed = estimator.transform(data["X_test_perturbed"])
    energy = np.square(data["X_test_perturbed"] - X_test, dtype=np.float64).sum(1)
    sensitivity = np.mean(
        np.square(Z_perturbed - Z_test, dtype=np.float64).sum(1) / energy
    )
    # What reaches the output: the decoder undoes any rescaling of the codes.
    output_sensitivity = np.mean(
        np.square(
            estimator.inverse_transform(Z_perturbed) - X_reconstructed,
            dtype=np.float64,
        ).sum(1)
        / energy
    )
    with torch.random.fork_rng():
        torch.manual_seed(random_state)
        rows = torch.from_numpy(X_test).repeat(N_PROBES, 1)
        jacobian = float(jacobian_norm(_encoder(estimator), rows).detach().mean())
    code_variance = float(Z_test.var(axis=0, dtype=np.float64).sum())
    logistic = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000, random_state=random_state)
    )
    logistic.fit(estimator.transform(data["X_train"]), data["y_train"])
    X_denoised = estimator.inverse_transform(estimator.transform(data["X_test_noisy"]))
    scores = {
        "mse": float(np.mean(np.square(X_reconstructed - X_test, dtype=np.float64))),
        "sensitivity": float(sensitivity),
        "jacobian_norm": jacobian,
        "code_variance": code_variance,
        "relative_sensitivity": float(sensitivity) / code_variance,
        "output_sensitivity": float(output_sensitivity),
        "logistic_accuracy": float(logistic.score(Z_test, data["y_test"])),
        "psnr_noisy": psnr(X_denoised, X_test),
        "fit_seconds": fit_seconds,
    }
    if hasattr(estimator, "n_iter_"):
        scores["n_iter"] = int(estimator.n_iter_)
    return scores


def run(dataset="digits", *, ks=None, weights=None, max_iter=None,
        random_state=SEED, log=print):  # fmt: skip
    """Run the sweep on `dataset`; return a JSON-ready record.

    `ks`, `weights` and `max_iter` default to the dataset's `SETTINGS`.
    """
    header = record_header("contractive", seed=random_state)
    start, cpu_start = time.perf_counter(), time.process_time()
    settings = SETTINGS[dataset]
    data = make_data(dataset, random_state=random_state)
    ks = settings["ks"] if ks is None else ks
    weights = settings["weights"] if weights is None else weights
    max_iter = settings["max_iter"] if max_iter is None else max_iter
    default = skae.ContractiveAutoencoder().contraction_weight
    results = []
    for k in ks:
        runs = [("PCA", None), ("AutoencoderTransformer", 0.0)]
        runs += [("ContractiveAutoencoder", w) for w in weights if w != 0]
        runs += [("DenoisingAutoencoder", None)]
        for model, weight in runs:
            estimator = make_estimator(
                model, k, weight=weight, max_iter=max_iter, random_state=random_state
            )
            result = {"model": model, "k": k, "contraction_weight": weight}
            result.update(score(estimator, data, random_state=random_state))
            results.append(result)
            log(
                f"k={k} {_label(result, None)}: MSE {result['mse']:.5f}, "
                f"sensitivity {result['sensitivity']:.4g}, "
                f"fit {result['fit_seconds']:.1f} s"
            )
    return {
        **header,
        "dataset": dataset,
        "data": data["description"],
        "settings": {
            "ks": list(ks),
            "weights": list(weights),
            "max_iter": max_iter,
            "default_contraction_weight": default,
            "estimators": "defaults, except n_components, max_iter, random_state "
            "and contraction_weight",
            "n_probes": N_PROBES,
            "logistic": "StandardScaler + LogisticRegression(max_iter=1000) on codes",
        },
        "results": results,
        "total_seconds": time.perf_counter() - start,
        "total_cpu_seconds": time.process_time() - cpu_start,
    }


# -- rendering --------------------------------------------------------------

_NAMES = {
    "PCA": "PCA",
    "AutoencoderTransformer": "plain",
    "DenoisingAutoencoder": "denoising",
}


def _label(result, default):
    """The model's name in the table: the contractive ones by their weight."""
    if result["model"] != "ContractiveAutoencoder":
        return _NAMES[result["model"]]
    weight = result["contraction_weight"]
    return f"contractive {weight:g}" + (" (default)" if weight == default else "")


def _references(record):
    """PCA's and the plain autoencoder's result at each k."""
    return {
        (result["model"], result["k"]): result
        for result in record["results"]
        if result["model"] in ("PCA", "AutoencoderTransformer")
    }


def _ratios(result, references):
    """The result's measures against PCA's and the plain autoencoder's."""
    pca = references["PCA", result["k"]]
    plain = references["AutoencoderTransformer", result["k"]]
    return {
        "mse_vs_pca": result["mse"] / pca["mse"],
        "mse_vs_plain": result["mse"] / plain["mse"],
        "sensitivity": result["sensitivity"] / plain["sensitivity"],
        "relative_sensitivity": result["relative_sensitivity"]
        / plain["relative_sensitivity"],
        "output_sensitivity": result["output_sensitivity"]
        / plain["output_sensitivity"],
        "psnr_vs_pca": result["psnr_noisy"] - pca["psnr_noisy"],
        "psnr_vs_plain": result["psnr_noisy"] - plain["psnr_noisy"],
    }


def _range(values, fmt):
    """``a to b`` (or ``a`` when equal) of `values` formatted with `fmt`."""
    low, high = format(min(values), fmt), format(max(values), fmt)
    return low if low == high else f"{low} to {high}"


def summary(record):
    """One markdown paragraph: the setting, and the default weight's ratios."""
    data, settings = record["data"], record["settings"]
    default = settings["default_contraction_weight"]
    references = _references(record)
    rows = [
        _ratios(result, references)
        for result in record["results"]
        if result["model"] == "ContractiveAutoencoder"
        and result["contraction_weight"] == default
    ]
    hardware = record["hardware"]
    text = (
        f"{data['dataset']}: {data['n_train']:,} training and {data['n_test']:,} "
        f"test rows of {data['n_features']} features ({data['split']}), "
        f"{data['scaling']}. Every model keeps its defaults but `n_components`, "
        f"`contraction_weight` and `max_iter={settings['max_iter']}` (epochs), "
        f"with `random_state={record['seed']}`. Sensitivities are measured with "
        f"Gaussian perturbations of standard deviation {data['sensitivity_noise']}"
        f" on the test rows, as ratios to the plain autoencoder's; the noisy "
        f"inputs carry Gaussian noise of {data['denoising_noise']}, clipped to "
        f"[0, 1] (PSNR {data['psnr_noisy_input']:.2f} dB as they are)."
    )
    if rows:
        ks = ", ".join(str(k) for k in settings["ks"])
        text += (
            f" At the default `contraction_weight={default:g}`, for k in {{{ks}}}:"
            f" code sensitivity {_range([r['sensitivity'] for r in rows], '.3f')}"
            " times the plain autoencoder's, scale-free sensitivity "
            f"{_range([r['relative_sensitivity'] for r in rows], '.2f')} times, "
            "output sensitivity "
            f"{_range([r['output_sensitivity'] for r in rows], '.2f')} times; "
            f"clean test error {_range([r['mse_vs_plain'] for r in rows], '.2f')}"
            " times the plain autoencoder's and "
            f"{_range([r['mse_vs_pca'] for r in rows], '.2f')} times PCA's; "
            "noisy-input PSNR "
            f"{_range([r['psnr_vs_plain'] for r in rows], '+.2f')} dB against "
            "the plain autoencoder's."
        )
    return text + (
        f" Run of {record['created'][:10]}: `{record['command']}`; "
        f"{hardware['cpu_count']} cores, {hardware['threads']} thread(s), "
        f"{record['total_cpu_seconds'] / 60:.1f} CPU min "
        f"({record['total_seconds'] / 60:.1f} min wall)."
    )


def table(record):
    """Markdown table: one row per code size and model."""
    default = record["settings"]["default_contraction_weight"]
    references = _references(record)
    lines = [
        "| k | model | test MSE / PCA's | / plain's | code sensitivity / plain's "
        "| scale-free / plain's | output / plain's | logistic accuracy "
        "| noisy-input PSNR (dB) | vs PCA | vs plain | epochs | s / epoch |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in record["results"]:
        ratios = _ratios(result, references)
        n_iter = result.get("n_iter")
        per_epoch = f"{result['fit_seconds'] / n_iter:.2f}" if n_iter else "-"
        lines.append(
            f"| {result['k']} | {_label(result, default)} "
            f"| {ratios['mse_vs_pca']:.2f} | {ratios['mse_vs_plain']:.2f} "
            f"| {ratios['sensitivity']:.3f} "
            f"| {ratios['relative_sensitivity']:.2f} "
            f"| {ratios['output_sensitivity']:.2f} "
            f"| {result['logistic_accuracy']:.3f} | {result['psnr_noisy']:.2f} "
            f"| {ratios['psnr_vs_pca']:+.2f} | {ratios['psnr_vs_plain']:+.2f} "
            f"| {n_iter or '-'} | {per_epoch} |"
        )
    return "\n".join(lines)


def markdown(record):
    """The summary paragraph, then the table."""
    return summary(record) + "\n\n" + table(record)


def main(argv=None):
    """Run and write the JSON, or print the table of a JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", choices=["digits", "fashion_mnist"], default="digits"
    )
    parser.add_argument(
        "--ks", type=lambda text: [int(k) for k in text.split(",")],
        help="code sizes (default: per dataset)",
    )  # fmt: skip
    parser.add_argument(
        "--weights", type=lambda text: [float(w) for w in text.split(",")],
        help="contraction weights, 0 the plain autoencoder (default: per dataset)",
    )  # fmt: skip
    parser.add_argument("--max-iter", type=int, help="epochs (default: per dataset)")
    parser.add_argument("--seed", type=int, default=SEED)
    add_threads_argument(parser)
    parser.add_argument("--out", type=Path, help="default: docs/results/contractive*")
    parser.add_argument("--table", type=Path, help="print the table of a JSON file")
    args = parser.parse_args(argv)
    if args.table:
        print(markdown(json.loads(args.table.read_text())))
        return 0
    use_threads(args.threads)
    try:
        record = run(
            args.dataset, ks=args.ks, weights=args.weights, max_iter=args.max_iter,
            random_state=args.seed,
        )  # fmt: skip
    except FileNotFoundError as error:
        print(f"Skipped {args.dataset}: {error}")
        return 0
    out = args.out or OUT[args.dataset]
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(markdown(record))
    print(f"Wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
