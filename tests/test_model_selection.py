"""Tests of skae.model_selection: choosing the latent size."""

# SPDX-License-Identifier: BSD-3-Clause

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from skae import AutoencoderTransformer
from skae.model_selection import smallest_within

# Enough training on 400 digits for codes a classifier can use, in about a second.
SMALL_AE = AutoencoderTransformer(
    hidden_layer_sizes=(16,), batch_size=32, max_iter=10, random_state=0
)

# Mean test scores of a search over n_components: accuracy keeps creeping up
# with the code size, by less and less.
CV_RESULTS = {
    "param_n_components": np.ma.masked_array([2, 4, 8, 16, 32], mask=False),
    "mean_test_score": np.array([0.60, 0.80, 0.88, 0.895, 0.90]),
    "std_test_score": np.array([0.03, 0.02, 0.02, 0.01, 0.025]),
}


@pytest.mark.parametrize(
    "tolerance, tolerance_mode, expected",
    [
        (0.0, "relative", 4),  # only the best itself
        (0.01, "relative", 3),  # >= 0.891
        (0.03, "relative", 2),  # >= 0.873
        (0.5, "relative", 0),  # >= 0.45: everything
        (0.006, "absolute", 3),  # >= 0.894
        (0.021, "absolute", 2),  # >= 0.879
        (0.019, "absolute", 3),  # >= 0.881
        (1.0, "std", 2),  # >= 0.90 - 0.025: the one-standard-error rule
        (0.4, "std", 3),  # >= 0.89
    ],
)
def test_smallest_within_picks_exact_index(tolerance, tolerance_mode, expected):
    """Check that the smallest size within the tolerance of the best is chosen."""
    refit = smallest_within(tolerance, tolerance_mode=tolerance_mode)
    assert refit(CV_RESULTS) == expected


def test_smallest_within_ignores_order_of_candidates():
    """Check that the choice goes by parameter value, not by candidate order."""
    order = [4, 2, 0, 3, 1]
    shuffled = {key: value[order] for key, value in CV_RESULTS.items()}
    # n_components=8 is candidate 2 in CV_RESULTS, and position 1 after shuffling.
    assert smallest_within(0.03)(shuffled) == order.index(2)


def test_smallest_within_breaks_size_ties_by_score():
    """Check that among equal sizes, the best-scoring candidate is chosen."""
    cv_results = {
        "param_n_components": np.ma.masked_array([4, 4, 8, 8], mask=False),
        "param_alpha": np.ma.masked_array([0.0, 1.0, 0.0, 1.0], mask=False),
        "mean_test_score": np.array([0.85, 0.89, 0.90, 0.88]),
        "std_test_score": np.zeros(4),
    }
    assert smallest_within(0.06)(cv_results) == 1


def test_smallest_within_skips_nan_and_masked_candidates():
    """Check that failed fits and candidates not setting the parameter are skipped."""
    cv_results = {
        "param_n_components": np.ma.masked_array([2, 4, 0, 8], mask=[0, 0, 1, 0]),
        "mean_test_score": np.array([np.nan, 0.88, 0.99, 0.90]),
        "std_test_score": np.zeros(4),
    }
    assert smallest_within(0.05)(cv_results) == 1


def test_smallest_within_finds_pipeline_parameter():
    """Check that the bare name matches a Pipeline step's parameter."""
    cv_results = dict(CV_RESULTS)
    cv_results["param_autoencoder__n_components"] = cv_results.pop("param_n_components")
    assert smallest_within(0.01)(cv_results) == 3
    refit = smallest_within(0.01, param="autoencoder__n_components")
    assert refit(cv_results) == 3


def test_smallest_within_uses_named_scorer():
    """Check that `scoring` selects on that scorer's mean test score."""
    cv_results = {
        "param_n_components": CV_RESULTS["param_n_components"],
        "mean_test_accuracy": CV_RESULTS["mean_test_score"],
        "std_test_accuracy": CV_RESULTS["std_test_score"],
        "mean_test_neg_log_loss": -np.array([1.0, 0.6, 0.4, 0.35, 0.34]),
    }
    assert smallest_within(0.01, scoring="accuracy")(cv_results) == 3
    assert smallest_within(0.2, scoring="neg_log_loss")(cv_results) == 2


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"tolerance": -0.1}, "tolerance must be a number >= 0"),
        ({"tolerance": "1%"}, "tolerance must be a number >= 0"),
        ({"tolerance": float("nan")}, "tolerance must be a number >= 0"),
        ({"tolerance_mode": "rel"}, "tolerance_mode must be one of"),
        ({"param": ""}, "param must be a parameter name"),
        ({"scoring": 3}, "scoring must be a scorer name or None"),
    ],
)
def test_smallest_within_rejects_bad_arguments(kwargs, match):
    """Check that invalid arguments raise a ValueError naming the problem."""
    with pytest.raises(ValueError, match=match):
        smallest_within(**kwargs)


def test_smallest_within_reports_unusable_results():
    """Check that results lacking the parameter, scorer or numbers raise clearly."""
    with pytest.raises(ValueError, match="No searched parameter is named 'alpha'"):
        smallest_within(param="alpha")(CV_RESULTS)
    with pytest.raises(ValueError, match="has no 'mean_test_f1'"):
        smallest_within(scoring="f1")(CV_RESULTS)
    two_steps = {
        "param_a__n_components": CV_RESULTS["param_n_components"],
        "param_b__n_components": CV_RESULTS["param_n_components"],
        "mean_test_score": CV_RESULTS["mean_test_score"],
    }
    with pytest.raises(ValueError, match="Several searched parameters"):
        smallest_within()(two_steps)
    all_nan = dict(CV_RESULTS, mean_test_score=np.full(5, np.nan))
    with pytest.raises(ValueError, match="No candidate both sets"):
        smallest_within()(all_nan)
    words = dict(
        CV_RESULTS,
        param_n_components=np.ma.masked_array(["a", "b", "c", "d", "e"], mask=False),
    )
    with pytest.raises(ValueError, match="must be numbers"):
        smallest_within()(words)


def test_smallest_within_survives_pickle_and_clone():
    """Check that the rule pickles and clones with the search holding it."""
    search = GridSearchCV(LogisticRegression(), {"C": [1.0]}, refit=smallest_within())
    for copy in (pickle.loads(pickle.dumps(search)), clone(search)):
        assert copy.refit(CV_RESULTS) == search.refit(CV_RESULTS) == 3


def _digits_search(estimator, grid, refit):
    """Fit a 2-fold grid search on 400 scaled digits, quietly."""
    X, y = load_digits(return_X_y=True)
    search = GridSearchCV(estimator, grid, cv=2, refit=refit)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return search.fit(X[:400], y[:400])


def test_reconstruction_score_search_picks_largest_size():
    """Check the problem the rule solves: -MSE alone picks the largest code."""
    pipe = Pipeline([("scale", MinMaxScaler()), ("autoencoder", clone(SMALL_AE))])
    search = _digits_search(pipe, {"autoencoder__n_components": [2, 8, 32]}, True)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.diff(scores) > 0)
    assert search.best_params_ == {"autoencoder__n_components": 32}


def test_smallest_within_refits_pipeline_search_on_digits():
    """Check the recipe: a Pipeline search scored downstream, refit by the rule."""
    pipe = Pipeline(
        [
            ("scale", MinMaxScaler()),
            ("autoencoder", clone(SMALL_AE)),
            ("classifier", LogisticRegression(max_iter=500)),
        ]
    )
    grid = {"autoencoder__n_components": [2, 8, 32]}
    search = _digits_search(pipe, grid, smallest_within(0.2))
    scores = search.cv_results_["mean_test_score"]
    # The classifier's accuracy does not grow with the code by construction:
    # two codes are far worse than the best size.
    assert scores[0] < 0.8 * scores.max()
    within = np.flatnonzero(scores >= 0.8 * scores.max())
    expected = int(within[0])  # the grid is sorted by size
    assert search.best_index_ == expected
    chosen = grid["autoencoder__n_components"][expected]
    assert search.best_params_ == {"autoencoder__n_components": chosen}
    assert search.best_estimator_.named_steps["autoencoder"].n_components == chosen
    assert search.predict(np.zeros((3, 64))).shape == (3,)
