"""Imputation: skae.AutoencoderImputer against scikit-learn's three imputers.

Entries are removed completely at random (each with probability ``rate``,
independently) from a training table and a held-out table. Each imputer is
fitted on the training table with holes (``fit_transform``, timed as the fit),
then fills the held-out table (``transform``). Measured, for each dataset and
rate:

* **RMSE** over every removed entry of both tables, in the data's own units
  (pixels in [0, 1]; tabular data as loaded), also per table and in units of
  each feature's standard deviation;
* **accuracy** of ``StandardScaler + LogisticRegression(max_iter=1000)``
  trained on the imputed training table and scored on the imputed held-out
  table (for the diabetes regression target: whether it exceeds the training
  median), beside the same classifier on the complete tables;
* **fit time** (wall seconds) and, for skae, the epochs trained.

Datasets: scikit-learn's bundled digits and a Fashion-MNIST subset (images),
and three bundled tables of different kinds: breast_cancer (30 strongly
correlated measurements of cell nuclei), wine (13 chemical measurements,
three cultivars) and diabetes (10 weakly correlated clinical variables, one
binary). The tabular runs are repeated over several splits and masks, and
averaged. A sweep of skae's parameters on some (dataset, rate) pairs records
how the settings used here were chosen. Usage::

    python -m benchmarks.bench_impute --docs     # docs/results/impute.json
    python -m benchmarks.bench_impute --quick    # smoke run, seconds
    python -m benchmarks.bench_impute --table docs/results/impute.json
    python -m benchmarks.bench_impute --speed --docs  # impute_speed.json

``--speed`` runs the wide-image speed case instead (see `SPEED_DATA`): the
defaults, with and without ``image_shape``, against ``IterativeImputer``,
timed one after the other in one run of about two minutes.

The whole run takes about 20 CPU minutes on one thread (Fashion-MNIST's
``IterativeImputer`` and skae fits are most of it).
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer, load_diabetes, load_digits, load_wine
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks.provenance import (
    add_threads_argument,
    load_average,
    record_header,
    use_threads,
)
from skae import AutoencoderImputer
from skae.datasets import load_fashion_mnist

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "benchmarks" / "results" / "impute"
DOCS_RESULT = ROOT / "docs" / "results" / "impute.json"

RATES = (0.1, 0.3, 0.5)
IMPUTERS = ("SimpleImputer", "KNNImputer", "IterativeImputer", "AutoencoderImputer")

# skae's settings in the comparison, on every dataset: early stopping on the
# error of filling in held-out values, with a patience that the noisy
# validation losses of small tables need (see the sweep). Everything else is
# the default, but for images (below).
SKAE_PARAMS = {"early_stopping": True, "n_iter_no_change": 50, "max_iter": 500}
# Pixels share their units: scale them all alike, so that rarely-varying
# border pixels are not magnified; and the convolutional network (each
# dataset's `image_shape`), two stages deep so that a hole is filled from a
# wider neighbourhood (see the sweep).
IMAGE_PARAMS = {"scaling": "global", "conv_channels": (32, 64)}
# IterativeImputer's defaults (BayesianRidge, max_iter=10); on 784 pixels, a
# round over every feature with all the others as predictors takes many
# minutes, so each pixel is regressed on its 100 most correlated ones, in 5
# rounds: on this subset at 30%, about as long as skae's fit, with an RMSE of
# 0.113, where 50 neighbours gave 0.132 (5 or 10 rounds) and 20 gave 0.161.
ITERATIVE_PARAMS = {"max_iter": 10}
ITERATIVE_PARAMS_WIDE = {"n_nearest_features": 100, "max_iter": 5}

DATASETS = {
    "digits": {
        "kind": "images",
        "image_shape": (8, 8),
        "repeats": 1,
        "test_size": 0.25,
    },
    "fashion_mnist": {
        "kind": "images",
        "image_shape": (28, 28),
        "repeats": 1,
        "n_train": 3000,
        "n_test": 1000,
        "iterative": ITERATIVE_PARAMS_WIDE,
    },
    "breast_cancer": {"kind": "tabular", "repeats": 3, "test_size": 0.25},
    "wine": {"kind": "tabular", "repeats": 3, "test_size": 0.25},
    "diabetes": {
        "kind": "tabular",
        "repeats": 3,
        "test_size": 0.25,
        "target": "y > median of the training y",
    },
}
QUICK = {"rates": (0.3,), "repeats": 1, "n_train": 500, "n_test": 200, "max_iter": 5}

# skae settings tried beside the comparison's (the sweep): (dataset, rate,
# start, changes). The setting is the comparison's (start "comparison") or
# skae's defaults ("defaults"), with `changes`.
SWEEP = [
    ("digits", 0.3, "defaults", {}),
    ("digits", 0.3, "defaults", {"n_iter_no_change": 10, "max_iter": 200}),
    ("digits", 0.3, "defaults", {"scaling": "global"}),
    ("digits", 0.3, "comparison", {"scaling": "feature"}),
    ("digits", 0.3, "comparison", {"n_components": 16}),
    ("digits", 0.3, "comparison", {"n_components": 128}),
    ("digits", 0.3, "comparison", {"mask_fraction": 0.1}),
    ("digits", 0.3, "comparison", {"mask_fraction": 0.4}),
    ("digits", 0.3, "comparison", {"n_iter_no_change": 10}),
    ("digits", 0.3, "comparison", {"image_shape": None}),
    ("digits", 0.3, "comparison", {"conv_channels": (32,)}),
    ("fashion_mnist", 0.3, "comparison", {"image_shape": None}),
    ("fashion_mnist", 0.3, "comparison", {"conv_channels": (32,)}),
    ("fashion_mnist", 0.3, "comparison", {"scaling": "feature"}),
    ("breast_cancer", 0.3, "defaults", {}),
    ("breast_cancer", 0.3, "defaults", {"n_iter_no_change": 10, "max_iter": 200}),
    ("breast_cancer", 0.3, "comparison", {"n_components": 16}),
    ("breast_cancer", 0.3, "comparison", {"hidden_layer_sizes": (128,)}),
    ("breast_cancer", 0.3, "comparison", {"mask_fraction": 0.4}),
    ("breast_cancer", 0.3, "comparison", {"n_iter_no_change": 10}),
    ("breast_cancer", 0.3, "comparison", {"initial_strategy": "mean"}),
    ("wine", 0.3, "defaults", {}),
    ("wine", 0.3, "defaults", {"n_iter_no_change": 10, "max_iter": 200}),
    ("wine", 0.3, "comparison", {"hidden_layer_sizes": (128,)}),
    ("wine", 0.3, "comparison", {"initial_strategy": "mean"}),
    ("diabetes", 0.3, "defaults", {}),
    ("diabetes", 0.3, "defaults", {"n_iter_no_change": 10, "max_iter": 200}),
    ("diabetes", 0.3, "comparison", {"hidden_layer_sizes": (128,)}),
    ("diabetes", 0.3, "comparison", {"initial_strategy": "mean"}),
]


def sweep_label(start, changes):
    """The name of a sweep setting: its start and its changes."""
    changed = ", ".join(f"{key}={value!r}" for key, value in changes.items())
    if start == "comparison":
        return changed or "comparison"
    return f"defaults, {changed}" if changed else "defaults"


def _load(dataset, settings):
    """Complete data, labels and the description of the split."""
    if dataset == "fashion_mnist":
        X_train, y_train = load_fashion_mnist(subset="train", return_X_y=True)
        X_test, y_test = load_fashion_mnist(subset="test", return_X_y=True)
        n_train, n_test = settings["n_train"], settings["n_test"]
        split = (
            f"first {n_train} official training and {n_test} test images; pixels / 255"
        )
        X_train, X_test = X_train[:n_train], X_test[:n_test]
        return X_train, X_test, y_train[:n_train], y_test[:n_test], split
    loader = {
        "digits": load_digits,
        "breast_cancer": load_breast_cancer,
        "wine": load_wine,
        "diabetes": load_diabetes,
    }[dataset]
    X, y = loader(return_X_y=True)
    if dataset == "digits":
        X = X / 16
    return X, None, y, None, None


def make_data(dataset, rate, *, repeat=0, quick=False, random_state=0):
    """A training and a held-out table with entries removed at random.

    Parameters
    ----------
    dataset : str
        A key of `DATASETS`.

    rate : float
        Probability that an entry is removed, each independently (missing
        completely at random).

    repeat : int, default=0
        Which split and mask of a dataset that is repeated: the split's seed
        is ``random_state + repeat``.

    quick : bool, default=False
        Whether to keep only the first rows (a smoke run).

    random_state : int, default=0
        The seed of the split and of the masks.

    Returns
    -------
    data : dict
        ``X_train``, ``X_test`` (complete, float64), ``missing_train``,
        ``missing_test`` (the removed entries), ``y_train``, ``y_test`` (class
        labels) and ``description`` (JSON-ready).
    """
    settings = DATASETS[dataset]
    if quick:
        settings = {**settings, "n_train": QUICK["n_train"], "n_test": QUICK["n_test"]}
    X_train, X_test, y_train, y_test, split = _load(dataset, settings)
    seed = random_state + repeat
    if X_test is None:
        stratify = None if dataset == "diabetes" else y_train
        X_train, X_test, y_train, y_test = train_test_split(
            X_train,
            y_train,
            test_size=settings["test_size"],
            stratify=stratify,
            random_state=seed,
        )
        split = (
            f"train_test_split(test_size={settings['test_size']}, "
            f"{'' if stratify is None else 'stratify=y, '}random_state=seed + repeat)"
            + ("; pixels / 16" if dataset == "digits" else "")
        )
        if quick:
            X_train, y_train = X_train[: QUICK["n_train"]], y_train[: QUICK["n_train"]]
            X_test, y_test = X_test[: QUICK["n_test"]], y_test[: QUICK["n_test"]]
    if "target" in settings:
        threshold = np.median(y_train)
        y_train, y_test = (
            (y_train > threshold).astype(int),
            (y_test > threshold).astype(int),
        )
    rng = np.random.RandomState([seed, round(rate * 1000)])
    X_train = np.asarray(X_train, dtype=np.float64)
    X_test = np.asarray(X_test, dtype=np.float64)
    return {
        "X_train": X_train,
        "X_test": X_test,
        "missing_train": rng.rand(*X_train.shape) < rate,
        "missing_test": rng.rand(*X_test.shape) < rate,
        "y_train": y_train,
        "y_test": y_test,
        "description": {
            "name": dataset,
            "kind": settings["kind"],
            "n_train": int(X_train.shape[0]),
            "n_test": int(X_test.shape[0]),
            "n_features": int(X_train.shape[1]),
            "n_classes": len(np.unique(y_train)),
            "split": split,
            "target": settings.get("target", "the dataset's classes"),
        },
    }


def skae_params(dataset, changes=(), *, start="comparison", quick=False):
    """The parameters of skae on `dataset`: the comparison's (or, with `start`
    "defaults", none), then `changes`."""
    params = {}
    if start == "comparison":
        params.update(SKAE_PARAMS)
        if DATASETS[dataset]["kind"] == "images":
            params.update(IMAGE_PARAMS, image_shape=DATASETS[dataset]["image_shape"])
    params.update(changes)
    if quick:
        params["max_iter"] = QUICK["max_iter"]
    return params


def make_estimator(name, dataset, *, params=None, quick=False, random_state=0):
    """Build imputer `name` with the settings this benchmark gives it.

    Parameters
    ----------
    name : str
        One of `IMPUTERS`.

    dataset : str
        The dataset, whose settings some imputers depend on.

    params : dict or None, default=None
        For AutoencoderImputer: the parameters (see :func:`skae_params`);
        None uses the comparison's.

    quick : bool, default=False
        Fewer epochs and rounds, for a smoke run.

    random_state : int, default=0
        The seed of the imputers that draw random numbers.
    """
    if name == "SimpleImputer":
        return SimpleImputer(strategy="mean")
    if name == "KNNImputer":
        return KNNImputer()
    if name == "IterativeImputer":
        params = dict(DATASETS[dataset].get("iterative", ITERATIVE_PARAMS))
        if quick:
            params["max_iter"] = 2
        return IterativeImputer(**params, random_state=random_state)
    if params is None:
        params = skae_params(dataset, quick=quick)
    return AutoencoderImputer(**params, random_state=random_state)


def _rmse(X_imputed, X, missing, scale):
    """RMSE over the removed entries, raw and in units of `scale` per feature."""
    errors = (X_imputed - X)[missing]
    standardised = ((X_imputed - X) / scale)[missing]
    return (
        float(np.sqrt(np.mean(errors**2))),
        float(np.sqrt(np.mean(standardised**2))),
    )


def _classifier(random_state):
    """The downstream classifier."""
    return make_pipeline(
        StandardScaler(), LogisticRegression(max_iter=1000, random_state=random_state)
    )


def complete_accuracy(data, *, random_state=0):
    """Accuracy of the downstream classifier on the complete tables."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        classifier = _classifier(random_state).fit(data["X_train"], data["y_train"])
    return float(classifier.score(data["X_test"], data["y_test"]))


def score(estimator, data, *, random_state=0, accuracy=True):
    """Fit `estimator` on the training table with holes and measure it.

    Parameters
    ----------
    estimator : imputer
        Unfitted.

    data : dict
        The output of :func:`make_data`.

    random_state : int, default=0
        Seed of the downstream classifier.

    accuracy : bool, default=True
        Whether to train and score the downstream classifier.

    Returns
    -------
    scores : dict
        JSON-ready: ``rmse`` (both tables), ``rmse_train``, ``rmse_test``,
        their ``*_standardised`` versions, ``accuracy``, ``fit_time`` (wall
        seconds of ``fit_transform`` on the training table), ``fit_cpu_time``,
        ``n_iter`` (skae) and the warnings raised by the fit.
    """
    X_train, X_test = data["X_train"], data["X_test"]
    missing_train, missing_test = data["missing_train"], data["missing_test"]
    X_train_missing = np.where(missing_train, np.nan, X_train)
    X_test_missing = np.where(missing_test, np.nan, X_test)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        wall, cpu = time.perf_counter(), time.process_time()
        X_train_imputed = estimator.fit_transform(X_train_missing)
        fit_time = time.perf_counter() - wall
        fit_cpu_time = time.process_time() - cpu
    X_test_imputed = estimator.transform(X_test_missing)
    scale = X_train.std(axis=0)
    scale[scale == 0] = 1
    scores = {}
    for name, X_imputed, X, missing in [
        (
            "",
            np.vstack([X_train_imputed, X_test_imputed]),
            np.vstack([X_train, X_test]),
            np.vstack([missing_train, missing_test]),
        ),
        ("_train", X_train_imputed, X_train, missing_train),
        ("_test", X_test_imputed, X_test, missing_test),
    ]:
        raw, standardised = _rmse(X_imputed, X, missing, scale)
        scores[f"rmse{name}"] = raw
        scores[f"rmse{name}_standardised"] = standardised
    if accuracy:
        with warnings.catch_warnings(record=True) as downstream:
            warnings.simplefilter("always")
            classifier = _classifier(random_state)
            classifier.fit(X_train_imputed, data["y_train"])
        caught += downstream
        scores["accuracy"] = float(classifier.score(X_test_imputed, data["y_test"]))
    scores["fit_time"] = fit_time
    scores["fit_cpu_time"] = fit_cpu_time
    if hasattr(estimator, "n_iter_"):
        scores["n_iter"] = int(np.max(estimator.n_iter_))
    scores["warnings"] = sorted(
        {f"{w.category.__name__}: {str(w.message).splitlines()[0]}" for w in caught}
    )
    return scores


MEASURES = (
    "rmse",
    "rmse_train",
    "rmse_test",
    "rmse_standardised",
    "rmse_train_standardised",
    "rmse_test_standardised",
    "accuracy",
    "fit_time",
    "fit_cpu_time",
    "n_iter",
)


def _mean(rows):
    """Average the measures of repeated runs; keep each run's under ``runs``."""
    if len(rows) == 1:
        return rows[0]
    out = {}
    for key in MEASURES:
        if key in rows[0]:
            out[key] = float(np.mean([row[key] for row in rows]))
    out["warnings"] = sorted({w for row in rows for w in row["warnings"]})
    out["runs"] = [{key: row[key] for key in MEASURES if key in row} for row in rows]
    return out


def _settings_of(estimator):
    """The non-default parameters of an imputer, JSON-ready."""
    defaults = type(estimator)().get_params()
    return {
        key: list(value) if isinstance(value, tuple) else value
        for key, value in estimator.get_params().items()
        if key != "random_state" and repr(value) != repr(defaults[key])
    }


def run(
    *,
    datasets=tuple(DATASETS),
    rates=RATES,
    sweep=True,
    quick=False,
    random_state=0,
    log=print,
    command=None,
):
    """Run the comparison (and the sweep); return the JSON-ready record.

    Parameters
    ----------
    datasets : sequence of str, default=all of `DATASETS`
        Which datasets.

    rates : sequence of float, default=RATES
        The fractions of entries removed.

    sweep : bool, default=True
        Whether to run the sweep of skae's parameters (on the datasets run).

    quick : bool, default=False
        A smoke run: one rate, one repeat, few rows and epochs.

    random_state : int, default=0
        The one seed: splits, masks and every model.

    log : callable, default=print
        Receives one progress line per fit.

    command : str or None, default=None
        The command line to record; None records the one that ran
        (``provenance.command_line``).
    """
    header = record_header("impute", seed=random_state, command=command)
    start, cpu_start = time.perf_counter(), time.process_time()
    if quick:
        rates = QUICK["rates"]
    record = {
        **header,
        "quick": quick,
        "settings": {
            "rates": list(rates),
            "imputers": list(IMPUTERS),
            "missingness": "each entry removed independently with probability "
            "rate (MCAR), in the training and the held-out table",
            "rmse": "over the removed entries of both tables: the training "
            "table imputed by fit_transform, the held-out one by transform",
            "rmse_standardised": "the same in units of each feature's standard "
            "deviation (of the complete training table)",
            "classifier": "StandardScaler + LogisticRegression(max_iter=1000), "
            "trained on the imputed training table, scored on the imputed "
            "held-out table",
            "fit_time": "wall seconds of fit_transform on the training table",
            "skae": {
                "params": dict(SKAE_PARAMS),
                "image_params": dict(IMAGE_PARAMS),
                "image_shapes": {
                    name: data["image_shape"]
                    for name, data in DATASETS.items()
                    if "image_shape" in data
                },
            },
            "iterative": {"default": ITERATIVE_PARAMS, "wide": ITERATIVE_PARAMS_WIDE},
        },
        "datasets": {},
        "results": [],
        "sweep": [],
    }
    cache = {}
    for dataset in datasets:
        repeats = 1 if quick else DATASETS[dataset]["repeats"]
        for rate in rates:
            runs = {name: [] for name in IMPUTERS}
            complete = []
            for repeat in range(repeats):
                data = make_data(
                    dataset, rate, repeat=repeat, quick=quick, random_state=random_state
                )
                record["datasets"][dataset] = {
                    **data["description"],
                    "repeats": repeats,
                }
                complete.append(complete_accuracy(data, random_state=random_state))
                for name in IMPUTERS:
                    estimator = make_estimator(
                        name, dataset, quick=quick, random_state=random_state
                    )
                    scores = score(estimator, data, random_state=random_state)
                    scores["params"] = _settings_of(estimator)
                    runs[name].append(scores)
                    cache[(dataset, rate, repeat, name)] = scores
                    log(
                        f"{dataset} rate={rate} repeat={repeat} {name:<18s} "
                        f"rmse={scores['rmse']:.4g} "
                        f"(std {scores['rmse_standardised']:.3f}) "
                        f"accuracy={scores['accuracy']:.3f} "
                        f"fit={scores['fit_time']:.1f}s"
                        + (f" epochs={scores['n_iter']}" if "n_iter" in scores else "")
                    )
            for name in IMPUTERS:
                row = _mean(runs[name])
                row["params"] = runs[name][0]["params"]
                record["results"].append(
                    {"dataset": dataset, "rate": rate, "imputer": name, **row}
                )
            record["results"].append(
                {
                    "dataset": dataset,
                    "rate": rate,
                    "imputer": "complete data",
                    "accuracy": float(np.mean(complete)),
                }
            )
    if sweep:
        record["sweep"] = run_sweep(
            [entry for entry in SWEEP if entry[0] in datasets and entry[1] in rates],
            quick=quick,
            random_state=random_state,
            cache=cache,
            log=log,
        )
    record["hardware"]["load_average_at_end"] = load_average()
    record["total_time"] = time.perf_counter() - start
    record["total_cpu_time"] = time.process_time() - cpu_start
    return record


def run_sweep(entries, *, quick=False, random_state=0, cache=None, log=print):
    """Fit skae with each setting of `entries` (see `SWEEP`); list the scores.

    The comparison's own setting is listed first for each (dataset, rate),
    from `cache` when the comparison ran it.
    """
    cache = cache or {}
    rows = []
    pairs = list(dict.fromkeys((dataset, rate) for dataset, rate, _, _ in entries))
    for dataset, rate in pairs:
        repeats = 1 if quick else DATASETS[dataset]["repeats"]
        settings = [("comparison", {})]
        settings += [
            (start, changes)
            for d, r, start, changes in entries
            if (d, r) == (dataset, rate)
        ]
        for start, changes in settings:
            label = sweep_label(start, changes)
            params = skae_params(dataset, changes, start=start, quick=quick)
            runs = []
            for repeat in range(repeats):
                key = (dataset, rate, repeat, "AutoencoderImputer")
                if label == "comparison" and key in cache:
                    runs.append(cache[key])
                    continue
                data = make_data(
                    dataset, rate, repeat=repeat, quick=quick, random_state=random_state
                )
                estimator = make_estimator(
                    "AutoencoderImputer",
                    dataset,
                    params=params,
                    quick=quick,
                    random_state=random_state,
                )
                runs.append(
                    score(estimator, data, random_state=random_state, accuracy=False)
                )
            row = _mean(runs)
            rows.append(
                {
                    "dataset": dataset,
                    "rate": rate,
                    "setting": label,
                    "params": {
                        key: list(value) if isinstance(value, tuple) else value
                        for key, value in params.items()
                    },
                    **row,
                }
            )
            log(
                f"sweep {dataset} rate={rate} {label:<28s} rmse={row['rmse']:.4g} "
                f"(std {row['rmse_standardised']:.3f}) fit={row['fit_time']:.1f}s "
                f"epochs={row['n_iter']:.0f}"
            )
    return rows


# -- speed on wide images ---------------------------------------------------

# The issue-32 case: 6,000 Fashion-MNIST training images (784 pixels) with 30%
# of their pixels removed at random, 1,000 held-out test images, the default
# imputer against IterativeImputer with settings that fit in about a minute.
SPEED_DATA = {"n_train": 6000, "n_test": 1000, "rate": 0.3}
SPEED_IMPUTERS = {
    "IterativeImputer(max_iter=3, n_nearest_features=50)": lambda seed: (
        IterativeImputer(max_iter=3, n_nearest_features=50, random_state=seed)
    ),
    "AutoencoderImputer()": lambda seed: AutoencoderImputer(random_state=seed),
    "AutoencoderImputer(image_shape=(28, 28))": lambda seed: AutoencoderImputer(
        image_shape=(28, 28), random_state=seed
    ),
}
SPEED_RESULT = ROOT / "docs" / "results" / "impute_speed.json"


def make_speed_data(*, quick=False, random_state=0):
    """The speed case's tables (see `SPEED_DATA`), as :func:`make_data`'s."""
    n_train, n_test = SPEED_DATA["n_train"], SPEED_DATA["n_test"]
    if quick:
        n_train, n_test = QUICK["n_train"], QUICK["n_test"]
    X_train, y_train = load_fashion_mnist(subset="train", return_X_y=True)
    X_test, y_test = load_fashion_mnist(subset="test", return_X_y=True)
    X_train = np.asarray(X_train[:n_train], dtype=np.float64)
    X_test = np.asarray(X_test[:n_test], dtype=np.float64)
    rng = np.random.RandomState([random_state, round(SPEED_DATA["rate"] * 1000)])
    return {
        "X_train": X_train,
        "X_test": X_test,
        "missing_train": rng.rand(*X_train.shape) < SPEED_DATA["rate"],
        "missing_test": rng.rand(*X_test.shape) < SPEED_DATA["rate"],
        "y_train": y_train[:n_train],
        "y_test": y_test[:n_test],
    }


def run_speed(*, quick=False, random_state=0, log=print, command=None):
    """Fit each of `SPEED_IMPUTERS` on the speed case, in turn; the record.

    Each fit is timed alone (one thread), one after the other in the same
    run, so that their ratios hold whatever else the machine does.
    """
    header = record_header("impute_speed", seed=random_state, command=command)
    start = time.perf_counter()
    data = make_speed_data(quick=quick, random_state=random_state)
    rows = []
    for name, make in SPEED_IMPUTERS.items():
        estimator = make(random_state)
        if quick and hasattr(estimator, "n_iter_no_change"):
            estimator.set_params(max_iter=QUICK["max_iter"])
        scores = score(estimator, data, random_state=random_state, accuracy=False)
        if hasattr(estimator, "do_early_stopping_"):
            scores["early_stopping"] = bool(estimator.do_early_stopping_)
        rows.append({"imputer": name, **scores})
        log(
            f"speed {name:<44s} rmse={scores['rmse']:.4f} "
            f"(train {scores['rmse_train']:.4f}, held-out {scores['rmse_test']:.4f}) "
            f"fit={scores['fit_time']:.1f}s"
            + (f" epochs={scores['n_iter']}" if "n_iter" in scores else "")
        )
    header["hardware"]["load_average_at_end"] = load_average()
    return {
        **header,
        "quick": quick,
        "settings": {
            **SPEED_DATA,
            "n_train": int(data["X_train"].shape[0]),
            "n_test": int(data["X_test"].shape[0]),
            "data": "the first n_train official training and n_test test "
            "images of Fashion-MNIST; pixels / 255",
            "missingness": "each pixel removed independently with probability "
            "rate (MCAR), in the training and the held-out images",
        },
        "results": rows,
        "total_time": time.perf_counter() - start,
    }


def speed_table(record):
    """The speed case as a markdown table, and the sentence that says what it is."""
    settings, hardware = record["settings"], record["hardware"]
    rows = [
        [
            f"`{row['imputer']}`",
            f"{row['fit_time']:.1f}",
            f"{row['rmse']:.4f}",
            f"{row['rmse_train']:.4f}",
            f"{row['rmse_test']:.4f}",
            str(row.get("n_iter", "")),
        ]
        for row in record["results"]
    ]
    header = [
        "imputer",
        "fit (s)",
        "RMSE",
        "RMSE, training images",
        "RMSE, held-out images",
        "epochs",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    text = (
        f"Fashion-MNIST: {settings['n_train']:,} training and {settings['n_test']:,} "
        f"held-out images of 784 pixels, {settings['rate']:.0%} of the pixels "
        "removed at random. Fit: wall seconds of `fit_transform` on the training "
        "images, on one thread, the imputers one after the other in one run. "
        "RMSE over the removed pixels of both tables (the held-out ones filled by "
        f"`transform`). Run of {record['created'][:10]}: `{record['command']}` "
        f"on {hardware.get('cpu', 'a CPU')} (load average "
        f"{hardware['load_average_at_start'][0]} at the start, "
        f"{hardware['load_average_at_end'][0]} at the end)."
    )
    return text + "\n\n" + "\n".join(lines) + "\n"


def main(argv=None):
    """Run and write the JSON, or print the tables of a JSON file."""
    from benchmarks import report

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_impute", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: seconds")
    parser.add_argument(
        "--datasets",
        help=f"comma-separated subset of {','.join(DATASETS)} (default: all)",
    )
    parser.add_argument(
        "--rates", help="comma-separated fractions removed (default 0.1,0.3,0.5)"
    )
    parser.add_argument("--no-sweep", action="store_true", help="skip the sweep")
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
        help="also write docs/results/impute.json "
        "(then: python -m benchmarks.update_readme)",
    )
    parser.add_argument("--table", type=Path, help="print the tables of a JSON file")
    parser.add_argument(
        "--speed",
        action="store_true",
        help="run the speed case instead (docs/results/impute_speed.json)",
    )
    args = parser.parse_args(argv)
    if args.table:
        record = json.loads(args.table.read_text())
        renderer = speed_table if "impute_speed" in args.table.name else report.impute
        print(renderer(record), end="")
        return
    datasets = tuple(DATASETS) if args.datasets is None else args.datasets.split(",")
    unknown = set(datasets) - set(DATASETS)
    if unknown:
        parser.error(
            f"unknown datasets {sorted(unknown)}; choose from {list(DATASETS)}"
        )
    rates = RATES if args.rates is None else tuple(map(float, args.rates.split(",")))
    use_threads(args.threads)
    if args.speed:
        record = run_speed(
            quick=args.quick,
            random_state=args.seed,
            log=lambda line: print(line, flush=True),
        )
        out = args.out or DEFAULT_OUT
        out.mkdir(parents=True, exist_ok=True)
        text = json.dumps(record, indent=1) + "\n"
        (out / "speed.json").write_text(text)
        print(speed_table(record), end="")
        if args.docs:
            SPEED_RESULT.write_text(text)
            print(f"Wrote {SPEED_RESULT}")
        return
    record = run(
        datasets=datasets,
        rates=rates,
        sweep=not args.no_sweep,
        quick=args.quick,
        random_state=args.seed,
        log=lambda line: print(line, flush=True),
    )
    text = json.dumps(record, indent=1) + "\n"
    out = args.out or DEFAULT_OUT
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(text)
    print()
    print(report.impute(record), end="")
    print(f"Wrote {out / 'results.json'}")
    if args.docs:
        DOCS_RESULT.write_text(text)
        print(f"Wrote {DOCS_RESULT}")


if __name__ == "__main__":
    main()
