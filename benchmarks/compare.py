"""PCA against the three autoencoders: reconstruction, codes, denoising, sparsity.

The experiment is split as the house style asks: :func:`make_data` loads and
scales a dataset, :func:`make_estimator` builds one model with its defaults,
:func:`score` fits it and measures it, and :func:`run` loops over models and
code sizes and returns a JSON-ready dict (see ``benchmarks/README.md``).
"""

# SPDX-License-Identifier: BSD-3-Clause

import base64
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skae
from benchmarks.provenance import load_average, record_header
from skae.datasets import load_fashion_mnist, load_mnist

# Every model the comparison knows: PCA and each kind of autoencoder.
# "ConvAutoencoder" is `AutoencoderTransformer(network="conv")` on the
# dataset's images; the others are skae's classes of that name.
MODELS = (
    "PCA",
    "AutoencoderTransformer",
    "DenoisingAutoencoder",
    "SparseAutoencoder",
    "VariationalAutoencoder",
    "ContractiveAutoencoder",
    "ConvAutoencoder",
)
# Estimators whose `score` is a held-out log-likelihood in nats per sample
# (PCA's exactly, under probabilistic PCA; the variational one's a lower bound,
# the ELBO), recorded as ``log_likelihood``.
LIKELIHOOD_ESTIMATORS = (PCA, skae.VariationalAutoencoder)
KS = (2, 8, 16, 32, 64)

# Per-dataset settings. `max_iter` is the epoch budget of every autoencoder,
# chosen so that one fit of the default network stays under 5 minutes on 2 CPU
# cores on Fashion-MNIST (about 7 s an epoch) and the whole digits run, every
# kind, takes at most 3 minutes; `models` are those run by default (on
# Fashion-MNIST the three first kinds: the conv network has its own
# benchmark, bench_conv); `quick` overrides for a smoke run. `n_train` /
# `n_test` subsample the official splits (None: all rows).
SETTINGS = {
    "digits": {
        "models": MODELS,
        "max_iter": 100,
        "test_size": 0.25,
        "image_shape": (8, 8),
        "quick": {"ks": (2, 8), "max_iter": 20},
    },
    "fashion_mnist": {
        "models": MODELS[:4],
        "max_iter": 35,
        "image_shape": (28, 28),
        "quick": {"ks": (2, 8), "max_iter": 3, "n_train": 10_000, "n_test": 2_000},
    },
    "mnist": {
        "models": MODELS[:4],
        "max_iter": 35,
        "image_shape": (28, 28),
        "quick": {"ks": (2, 8), "max_iter": 3, "n_train": 10_000, "n_test": 2_000},
    },
}

# Standard deviation of the Gaussian noise added to the test images for the
# denoising measure (then clipped to [0, 1]).
NOISE_LEVEL = 0.3
# A code value counts as near zero when |z| < NEAR_ZERO * max|Z|, the maximum
# over all codes of the test set for that model.
NEAR_ZERO = 1e-3
# Bins of the code-activation density, over z / max|Z| in [-1, 1].
ACTIVATION_BINS = 80
# Test images drawn in the reconstruction and denoising grids.
N_IMAGES = 8


def make_data(dataset, *, quick=False, random_state=0):
    """Load `dataset`, scaled to [0, 1], with its train/test split.

    Parameters
    ----------
    dataset : {"digits", "fashion_mnist", "mnist"}
        Which dataset. Digits are divided by 16 and split once with
        `random_state`; the MNIST-like datasets use their official split.

    quick : bool, default=False
        Whether to subsample as the dataset's ``quick`` settings say.

    random_state : int, default=0
        Seed of the digits split and of the test noise.

    Returns
    -------
    data : dict
        ``X_train``, ``X_test`` (float32 in [0, 1]), ``y_train``, ``y_test``,
        ``X_test_noisy`` (the test images with Gaussian noise of standard
        deviation `NOISE_LEVEL`, clipped to [0, 1]), ``image_shape`` and
        ``description`` (a JSON-ready summary).
    """
    settings = SETTINGS[dataset]
    if dataset == "digits":
        X, y = load_digits(return_X_y=True)
        X = (X / 16.0).astype(np.float32)
        X_train, X_test, y_train, y_test = train_test_split(
            X,
            y,
            test_size=settings["test_size"],
            stratify=y,
            random_state=random_state,
        )
        split = (
            f"train_test_split(test_size={settings['test_size']}, stratify=y, "
            f"random_state={random_state}); pixels / 16"
        )
    else:
        load = load_fashion_mnist if dataset == "fashion_mnist" else load_mnist
        X_train, y_train = load(subset="train", return_X_y=True)
        X_test, y_test = load(subset="test", return_X_y=True)
        split = "official train / test split; pixels / 255"
    if quick:
        n_train = settings["quick"].get("n_train")
        n_test = settings["quick"].get("n_test")
        X_train, y_train = X_train[:n_train], y_train[:n_train]
        X_test, y_test = X_test[:n_test], y_test[:n_test]
        if n_train is not None or n_test is not None:
            split += f"; first {n_train} train and {n_test} test rows (quick)"
    rng = np.random.RandomState(random_state)
    noise = rng.standard_normal(X_test.shape).astype(np.float32)
    X_test_noisy = np.clip(X_test + NOISE_LEVEL * noise, 0, 1)
    return {
        "X_train": X_train,
        "X_test": X_test,
        "y_train": y_train,
        "y_test": y_test,
        "X_test_noisy": X_test_noisy,
        "image_shape": settings["image_shape"],
        "description": {
            "name": dataset,
            "n_train": int(X_train.shape[0]),
            "n_test": int(X_test.shape[0]),
            "n_features": int(X_train.shape[1]),
            "n_classes": len(np.unique(y_train)),
            "split": split,
            "noise": f"gaussian, sigma={NOISE_LEVEL}, clipped to [0, 1]",
            "psnr_noisy_input": psnr(X_test_noisy, X_test),
            "mse_noisy_input": float(np.mean((X_test_noisy - X_test) ** 2)),
        },
    }


def make_estimator(model, n_components, *, max_iter, image_shape, random_state=0):
    """Build `model` with its default parameters for a code of `n_components`.

    Only the code size, the epoch budget `max_iter` (autoencoders; None keeps
    the default, else every row is trained on for that many epochs:
    ``early_stopping=False``) and the seed are set, and for
    ``"ConvAutoencoder"`` the conv network on images of `image_shape`: every
    other parameter keeps its default.
    """
    if model == "PCA":
        return PCA(n_components=n_components, random_state=random_state)
    params = {"random_state": random_state}
    if max_iter is not None:
        # An epoch budget: every row is trained on for all of it.
        params.update(max_iter=max_iter, early_stopping=False)
    if model == "ConvAutoencoder":
        model = "AutoencoderTransformer"
        params.update(network="conv", image_shape=image_shape)
    return getattr(skae, model)(n_components, **params)


def psnr(X_reconstructed, X):
    """Peak signal-to-noise ratio in dB for data in [0, 1]: 10 log10(1 / MSE)."""
    mse = float(np.mean((np.asarray(X_reconstructed) - X) ** 2))
    return float(10 * np.log10(1.0 / mse))


def _timed(function, *args):
    """Call `function(*args)`; return its result, wall and CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = function(*args)
    return result, time.perf_counter() - wall, time.process_time() - cpu


def fit_quietly(estimator, X):
    """Fit `estimator` on `X`; return its wall and CPU seconds.

    Running out of epochs is a benchmark's budget, not a failure: the
    ConvergenceWarning is silenced (the epochs run are recorded instead).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _, wall, cpu = _timed(estimator.fit, X)
    return wall, cpu


def _to_images(X, image_shape):
    """Encode rows of `X` in [0, 1] as base64 uint8, compact enough for JSON."""
    X = np.clip(np.asarray(X), 0, 1)
    pixels = np.round(X * 255).astype(np.uint8)
    return {
        "shape": [int(X.shape[0]), *image_shape],
        "uint8_base64": base64.b64encode(pixels.tobytes()).decode("ascii"),
    }


def score(estimator, data, *, random_state=0):
    """Fit `estimator` on the training data and measure it on the test data.

    Parameters
    ----------
    estimator : transformer with `inverse_transform`
        PCA or an autoencoder, unfitted.

    data : dict
        The output of :func:`make_data`.

    random_state : int, default=0
        Seed of the k-nearest-neighbour and logistic regression fits (their
        results do not depend on it, recorded for completeness).

    Returns
    -------
    scores : dict
        JSON-ready measures (see ``benchmarks/README.md``) and, under
        ``"arrays"``, the reconstructions of the clean and of the noisy test
        images, for the figures.
    """
    X_train, X_test = data["X_train"], data["X_test"]
    fit_time, fit_cpu_time = fit_quietly(estimator, X_train)
    Z_train = estimator.transform(X_train)
    Z_test, transform_time, _ = _timed(estimator.transform, X_test)
    X_reconstructed = estimator.inverse_transform(Z_test)
    X_denoised = estimator.inverse_transform(estimator.transform(data["X_test_noisy"]))

    logistic = make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000, random_state=random_state)
    )
    logistic.fit(Z_train, data["y_train"])
    knn = KNeighborsClassifier(n_neighbors=5).fit(Z_train, data["y_train"])

    scale = float(np.abs(Z_test).max()) or 1.0
    density, _ = np.histogram(
        Z_test / scale, bins=ACTIVATION_BINS, range=(-1, 1), density=True
    )
    scores = {
        "mse": float(np.mean((X_reconstructed - X_test) ** 2)),
        "psnr": psnr(X_reconstructed, X_test),
        "psnr_noisy": psnr(X_denoised, X_test),
        # The error of reconstructing noisy inputs, against the clean images:
        # what a denoiser is for, on the same scale as `mse`.
        "mse_noisy": float(np.mean((X_denoised - X_test) ** 2)),
        "logistic_accuracy": float(logistic.score(Z_test, data["y_test"])),
        "knn_accuracy": float(knn.score(Z_test, data["y_test"])),
        "near_zero_fraction": float(np.mean(np.abs(Z_test) < NEAR_ZERO * scale)),
        "activation_density": [round(float(d), 6) for d in density],
        "fit_time": fit_time,
        "fit_cpu_time": fit_cpu_time,
        "transform_time": transform_time,
    }
    if isinstance(estimator, LIKELIHOOD_ESTIMATORS):
        # PCA.score and the ELBO: nats per test sample.
        scores["log_likelihood"] = float(estimator.score(X_test))
    if hasattr(estimator, "loss_curve_"):
        scores["n_iter"] = int(estimator.n_iter_)
        scores["final_train_loss"] = float(estimator.loss_curve_[-1])
    scores["arrays"] = {"reconstructed": X_reconstructed, "denoised": X_denoised}
    return scores


def _sample_indices(y_test, n_images):
    """The first test image of each of the first `n_images` classes."""
    classes = np.unique(y_test)[:n_images]
    return [int(np.flatnonzero(y_test == c)[0]) for c in classes]


def run(
    dataset="digits",
    *,
    quick=False,
    ks=None,
    models=None,
    max_iter=None,
    plot_k=8,
    random_state=0,
    log=print,
    command=None,
):
    """Run the comparison and return its JSON-ready record.

    Parameters
    ----------
    dataset : {"digits", "fashion_mnist", "mnist"}, default="digits"
        Which dataset.

    quick : bool, default=False
        A smoke run: fewer code sizes, fewer epochs, fewer rows.

    ks : sequence of int or None, default=None
        Code sizes; None uses 2, 8, 16, 32 and 64 (those below the number of
        features), or the quick ones.

    models : sequence of str or None, default=None
        Which of `MODELS` to run; None runs the dataset's (its ``models``
        setting).

    max_iter : int or None, default=None
        Epoch budget of the autoencoders; None uses the dataset's.

    plot_k : int, default=8
        Code size whose reconstructions are kept for the image grids.

    random_state : int, default=0
        The one seed: data split, test noise and every model.

    log : callable, default=print
        Receives one progress line per fit.

    command : str or None, default=None
        The command line to record; None records the one that ran
        (``provenance.command_line``).

    Returns
    -------
    record : dict
        See ``benchmarks/README.md``.
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    header = record_header("compare", seed=random_state, command=command)
    settings = SETTINGS[dataset]
    if quick:
        settings = {**settings, **settings["quick"]}
    data = make_data(dataset, quick=quick, random_state=random_state)
    n_features = data["description"]["n_features"]
    if ks is None:
        ks = settings.get("ks", KS)
    ks = [int(k) for k in ks if k < n_features]
    if max_iter is None:
        max_iter = settings["max_iter"]
    if models is None:
        models = settings["models"]
    unknown = set(models) - set(MODELS)
    if unknown:
        raise ValueError(f"Unknown models {sorted(unknown)}; choose from {MODELS}.")
    if plot_k not in ks:
        plot_k = ks[0]
    shown = _sample_indices(data["y_test"], N_IMAGES)
    image_shape = data["image_shape"]
    record = {
        **header,
        "dataset": dataset,
        "quick": quick,
        "data": data["description"],
        "settings": {
            "ks": ks,
            "models": list(models),
            "max_iter": max_iter,
            "estimators": "defaults, except n_components, max_iter (autoencoders) "
            "and random_state",
            "logistic": "StandardScaler + LogisticRegression(max_iter=1000) on codes",
            "knn": "KNeighborsClassifier(n_neighbors=5) on codes",
            "near_zero_threshold": f"|z| < {NEAR_ZERO} * max|Z_test|",
            "near_zero": NEAR_ZERO,
            "activation_bins": ACTIVATION_BINS,
            "plot_k": plot_k,
        },
        "results": [],
        "images": {
            "k": plot_k,
            "indices": shown,
            "original": _to_images(data["X_test"][shown], image_shape),
            "noisy": _to_images(data["X_test_noisy"][shown], image_shape),
            "reconstructed": {},
            "denoised": {},
        },
    }
    for k in ks:
        for model in models:
            estimator = make_estimator(
                model,
                k,
                max_iter=max_iter,
                image_shape=image_shape,
                random_state=random_state,
            )
            scores = score(estimator, data, random_state=random_state)
            arrays = scores.pop("arrays")
            record["results"].append({"model": model, "k": k, **scores})
            if k == plot_k:
                images = record["images"]
                rows = arrays["reconstructed"][shown]
                images["reconstructed"][model] = _to_images(rows, image_shape)
                rows = arrays["denoised"][shown]
                images["denoised"][model] = _to_images(rows, image_shape)
            log(
                f"{dataset} k={k:<3d} {model:<23s} mse={scores['mse']:.5f} "
                f"logistic={scores['logistic_accuracy']:.3f} "
                f"knn={scores['knn_accuracy']:.3f} "
                f"mse_noisy={scores['mse_noisy']:.5f} "
                f"psnr_noisy={scores['psnr_noisy']:.2f} "
                f"near_zero={scores['near_zero_fraction']:.3f} "
                + (
                    f"log_likelihood={scores['log_likelihood']:.1f} "
                    if "log_likelihood" in scores
                    else ""
                )
                + f"fit={scores['fit_time']:.1f}s (cpu {scores['fit_cpu_time']:.1f}s)"
                + (f" epochs={scores['n_iter']}" if "n_iter" in scores else "")
            )
    record["hardware"]["load_average_at_end"] = load_average()
    record["total_time"] = time.perf_counter() - start
    record["total_cpu_time"] = time.process_time() - cpu_start
    return record
