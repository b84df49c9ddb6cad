"""Choosing n_components honestly: a Pipeline search scored by a classifier.

Scored by reconstruction (``score`` = -MSE), a search over the code size
always picks the largest. Here one :class:`~sklearn.model_selection.GridSearchCV`
over ``Pipeline(AutoencoderTransformer, StandardScaler, LogisticRegression)``
records both scores per candidate and refits the smallest size whose
cross-validated accuracy is within a tolerance of the best
(:func:`skae.model_selection.smallest_within`).
"""

# SPDX-License-Identifier: BSD-3-Clause

import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderTransformer
from skae.model_selection import smallest_within

# Rows of the training set searched over (None: all), epochs per fit and
# folds: the search fits len(ks) * cv + 1 autoencoders, so it runs smaller.
SETTINGS = {
    "digits": {"n_rows": None, "max_iter": 50, "cv": 3},
    "fashion_mnist": {"n_rows": 6_000, "max_iter": 30, "cv": 3},
    "mnist": {"n_rows": 6_000, "max_iter": 30, "cv": 3},
}
QUICK = {"n_rows": 1_000, "max_iter": 5, "cv": 2}
# Accept one point of accuracy below the best (an absolute tolerance).
TOLERANCE = 0.01
TOLERANCE_MODE = "absolute"


def make_estimator(*, max_iter, random_state=0):
    """The searched pipeline: autoencoder codes, standardised, classified."""
    return Pipeline(
        [
            (
                "autoencoder",
                AutoencoderTransformer(max_iter=max_iter, random_state=random_state),
            ),
            ("scale", StandardScaler()),
            ("logistic", LogisticRegression(max_iter=1000)),
        ]
    )


def _negative_reconstruction_error(pipeline, X, y=None):
    """Scorer: the autoencoder step's own score, -MSE on `X`."""
    return pipeline.named_steps["autoencoder"].score(X)


def run(data, *, ks, quick=False, random_state=0):
    """Search the code size of the pipeline on `data`; return a JSON-ready dict.

    Parameters
    ----------
    data : dict
        The output of :func:`benchmarks.compare.make_data`.

    ks : sequence of int
        The candidate code sizes.

    quick : bool, default=False
        Fewer rows, epochs and folds.

    random_state : int, default=0
        Seed of the folds and of the autoencoders.

    Returns
    -------
    record : dict
        Per-candidate mean and standard deviation of both scores, the size
        each rule picks, and the test accuracy of the refitted pipeline.
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    settings = QUICK if quick else SETTINGS[data["description"]["name"]]
    n_rows = settings["n_rows"]
    X, y = data["X_train"][:n_rows], data["y_train"][:n_rows]
    refit = smallest_within(
        TOLERANCE, tolerance_mode=TOLERANCE_MODE, scoring="accuracy"
    )
    search = GridSearchCV(
        make_estimator(max_iter=settings["max_iter"], random_state=random_state),
        {"autoencoder__n_components": list(ks)},
        scoring={
            "accuracy": "accuracy",
            "neg_mse": _negative_reconstruction_error,
        },
        cv=StratifiedKFold(settings["cv"], shuffle=True, random_state=random_state),
        refit=refit,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    results = search.cv_results_
    sizes = [int(k) for k in results["param_autoencoder__n_components"]]
    accuracy = results["mean_test_accuracy"]
    neg_mse = results["mean_test_neg_mse"]
    return {
        "pipeline": "AutoencoderTransformer(max_iter="
        f"{settings['max_iter']}) -> StandardScaler -> LogisticRegression",
        "n_rows": int(X.shape[0]),
        "cv": settings["cv"],
        "rule": f"smallest_within({TOLERANCE}, tolerance_mode={TOLERANCE_MODE!r}, "
        "scoring='accuracy')",
        "ks": sizes,
        "mean_accuracy": [float(v) for v in accuracy],
        "std_accuracy": [float(v) for v in results["std_test_accuracy"]],
        "mean_mse": [-float(v) for v in neg_mse],
        "picked_by_mse": sizes[int(np.argmax(neg_mse))],
        "picked_by_accuracy": sizes[int(np.argmax(accuracy))],
        "picked_by_rule": sizes[search.best_index_],
        "test_accuracy": float(
            search.best_estimator_.score(data["X_test"], data["y_test"])
        ),
        "time": time.perf_counter() - start,
        "cpu_time": time.process_time() - cpu_start,
    }
