"""AutoencoderImputer on real tables: categorical features and multiple imputation."""

# SPDX-License-Identifier: BSD-3-Clause

import io
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

import skae
from skae import AutoencoderImputer

PARAMS = {"hidden_layer_sizes": (32,), "batch_size": 64, "random_state": 0}
COLOURS = np.array(["blue", "green", "red"], dtype=object)


def _fit(imputer, X):
    """Fit `imputer` on `X`, quiet about convergence."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return imputer.fit(X)


@pytest.fixture(scope="module")
def mixed():
    """A 600-row table: two numbers that tell a colour (3 categories, strings)
    and a size (2 categories, numbers), a third number; 20% of each column
    removed at random."""
    rng = np.random.RandomState(0)
    latent = rng.normal(size=(600, 2))
    colour = np.digitize(latent[:, 0], [-0.5, 0.5])
    size = (latent[:, 1] > 0).astype(int) * 10 + 10  # 10 or 20
    df = pd.DataFrame(
        {
            "x0": latent[:, 0] * 3 + 0.1 * rng.normal(size=600),
            "colour": pd.Categorical(COLOURS[colour]),
            "x1": latent[:, 1] + 0.1 * rng.normal(size=600),
            "size": size.astype(float),
            "x2": latent.sum(axis=1) + rng.normal(size=600),
        }
    )
    missing = rng.rand(*df.shape) < 0.2
    df_missing = df.mask(missing)
    return df, df_missing, missing


@pytest.fixture(scope="module")
def fitted_mixed(mixed):
    """An imputer fitted on the mixed table, its output set to pandas."""
    _, df_missing, _ = mixed
    imputer = AutoencoderImputer(
        8, categorical_features=["colour", "size"], max_iter=150, **PARAMS
    )
    return _fit(imputer.set_output(transform="pandas"), df_missing)


def test_impute_categories_round_trip_with_pandas(mixed, fitted_mixed):
    """Check that pandas categoricals come back as categoricals of the same
    categories, observed values untouched and every gap filled with one of its
    column's categories."""
    _, df_missing, missing = mixed
    out = fitted_mixed.transform(df_missing)
    assert list(out.columns) == list(df_missing.columns)
    assert_array_equal(out.index, df_missing.index)
    assert out.notna().all().all()
    assert isinstance(out["colour"].dtype, pd.CategoricalDtype)
    assert list(out["colour"].cat.categories) == list(COLOURS)
    assert isinstance(out["size"].dtype, pd.CategoricalDtype)
    assert list(out["size"].cat.categories) == [10.0, 20.0]
    assert out["x0"].dtype == np.float64
    for j, name in enumerate(df_missing.columns):
        observed = ~missing[:, j]
        assert_array_equal(
            out[name].to_numpy(dtype=object)[observed],
            df_missing[name].to_numpy(dtype=object)[observed],
        )
    assert_array_equal(fitted_mixed.is_categorical_, [0, 1, 0, 1, 0])
    assert [list(c) for c in fitted_mixed.categories_] == [list(COLOURS), [10, 20]]


def test_impute_categories_learned_from_the_other_columns(mixed, fitted_mixed):
    """Check that removed categories that the numbers tell are filled far more
    accurately than by the most frequent category, and the numbers that the
    categories tell better than by the mean."""
    df, df_missing, missing = mixed
    out = fitted_mixed.transform(df_missing)
    for j, name in [(1, "colour"), (3, "size")]:
        truth = df[name].to_numpy(dtype=object)[missing[:, j]]
        filled = out[name].to_numpy(dtype=object)[missing[:, j]]
        majority = pd.Series(truth).value_counts(normalize=True).iloc[0]
        accuracy = np.mean(filled == truth)
        assert accuracy > majority + 0.25, (name, accuracy, majority)


@pytest.mark.parametrize(
    "categorical_features",
    [
        ["colour", "size"],
        [1, 3],
        [False, True, False, True, False],
    ],
)
def test_impute_categorical_features_by_name_index_or_mask(mixed, categorical_features):
    """Check that names, indices and a boolean mask pick the same features."""
    _, df_missing, _ = mixed
    imputer = AutoencoderImputer(
        categorical_features=categorical_features, max_iter=1, **PARAMS
    )
    _fit(imputer, df_missing)
    assert_array_equal(imputer.is_categorical_, [0, 1, 0, 1, 0])


def test_impute_categorical_from_dtype_and_none(mixed):
    """Check that "from_dtype" picks pandas categoricals only (none in an
    array), and None none: a string column then asks to be named."""
    _, df_missing, _ = mixed
    imputer = _fit(AutoencoderImputer(max_iter=1, **PARAMS), df_missing)
    assert_array_equal(imputer.is_categorical_, [0, 1, 0, 0, 0])
    X = df_missing.drop(columns="colour").to_numpy()
    assert _fit(AutoencoderImputer(max_iter=1, **PARAMS), X).is_categorical_ is None
    imputer = AutoencoderImputer(categorical_features=None, max_iter=1, **PARAMS)
    with pytest.raises(ValueError, match="Encode text or categorical columns"):
        imputer.fit(df_missing)


@pytest.mark.parametrize(
    "categorical_features, message",
    [
        ([7], "indices out of range for 5 features"),
        ([True, False], "one entry per feature: 5, got 2"),
        (["colour", "shape"], r"names \['shape'\], which are not features"),
        ([1.5], "must be 'from_dtype', None, or an array-like"),
    ],
)
def test_impute_categorical_features_errors(mixed, categorical_features, message):
    """Check the errors of a categorical_features that does not fit X."""
    _, df_missing, _ = mixed
    imputer = AutoencoderImputer(categorical_features=categorical_features)
    with pytest.raises(ValueError, match=message):
        imputer.fit(df_missing)
    if isinstance(categorical_features[0], str):
        with pytest.raises(ValueError, match="X has no feature names"):
            imputer.fit(df_missing.to_numpy())


def test_impute_object_array_gives_object_array(mixed):
    """Check that a numpy object array with string categories comes back as an
    object array with those categories, numbers as floats; None is missing."""
    _, df_missing, missing = mixed
    X = df_missing.astype(object).where(~missing, None).to_numpy()
    imputer = _fit(
        AutoencoderImputer(categorical_features=[1, 3], max_iter=5, **PARAMS), X
    )
    out = imputer.transform(X)
    assert out.dtype == object and out.shape == X.shape
    assert set(out[:, 1]) <= set(COLOURS)
    assert set(out[:, 3]) <= {10.0, 20.0}
    assert np.isfinite(out[:, [0, 2, 4]].astype(float)).all()
    assert_array_equal(out[~missing], X[~missing])


def test_impute_numeric_categories_keep_the_float_dtype(mixed, dtype):
    """Check that categories that are numbers give a float array in the input's
    dtype, each gap one of its column's values."""
    _, df_missing, _ = mixed
    X = df_missing.drop(columns="colour").to_numpy(dtype=dtype)
    imputer = _fit(
        AutoencoderImputer(categorical_features=[2], max_iter=5, **PARAMS), X
    )
    out = imputer.transform(X)
    assert out.dtype == dtype
    assert set(np.unique(out[:, 2])) == {10.0, 20.0}
    observed = ~np.isnan(X)
    assert_array_equal(out[observed], X[observed])


def test_impute_unknown_category_is_refused(mixed, fitted_mixed):
    """Check that a category not seen at fit is refused, not overwritten."""
    _, df_missing, _ = mixed
    df = df_missing.astype({"colour": object})
    df.loc[0, "colour"] = "purple"
    with pytest.raises(ValueError, match=r"unknown categories \['purple'\]"):
        fitted_mixed.transform(df)


def test_impute_categories_with_indicator_and_placeholder(mixed):
    """Check add_indicator with categories, and a placeholder that marks
    missing values in numbers and categories alike."""
    _, df_missing, missing = mixed
    df = df_missing.drop(columns="colour")
    X = df.fillna(-1).to_numpy()
    imputer = AutoencoderImputer(
        categorical_features=[2],
        missing_values=-1,
        add_indicator=True,
        max_iter=2,
        **PARAMS,
    )
    out = _fit(imputer, X).transform(X)
    assert out.shape == (600, 8)
    assert_array_equal(out[:, 4:], np.delete(missing, 1, axis=1))
    assert set(np.unique(out[:, 2])) == {10.0, 20.0}
    assert [list(c) for c in imputer.categories_] == [[10.0, 20.0]]


def test_impute_categories_save_and_load(mixed, fitted_mixed):
    """Check that skae.save and skae.load keep the categories and the fills."""
    _, df_missing, _ = mixed
    buffer = io.BytesIO()
    skae.save(fitted_mixed, buffer)
    buffer.seek(0)
    loaded = skae.load(buffer).set_output(transform="pandas")
    pd.testing.assert_frame_equal(
        loaded.transform(df_missing), fitted_mixed.transform(df_missing)
    )


def test_impute_hidden_categories_are_training_targets(mixed):
    """Check that training scores the categories it hides from the network:
    the loss has a gradient with respect to their logits."""
    df, _, _ = mixed
    imputer = _fit(
        AutoencoderImputer(categorical_features=[1, 3], max_iter=1, **PARAMS), df
    )
    module = imputer.module_.train()
    X = imputer._encode_categories(df, fit=False).to_numpy(dtype=np.float32)
    X = torch.from_numpy(X[:64])
    with torch.random.fork_rng():
        torch.manual_seed(0)
        X_hidden = imputer._corrupt(X)
    values, Z, missing, log_variance = module(X_hidden)
    values = values.detach().requires_grad_()
    loss = imputer._loss(module, (values, Z, missing, log_variance), X, training=True)
    loss.backward()
    hidden = torch.isnan(X_hidden)[:, 1]
    colour = slice(int(module.first_slot[1]), int(module.first_slot[1]) + 3)
    assert hidden.any()
    assert (values.grad[hidden, colour] != 0).all()


@pytest.fixture(scope="module")
def sampler(mixed):
    """An imputer that draws its fills, fitted on the mixed table."""
    _, df_missing, _ = mixed
    imputer = AutoencoderImputer(
        8,
        categorical_features=["colour", "size"],
        sample_posterior=True,
        max_iter=100,
        **PARAMS,
    )
    return _fit(imputer, df_missing)


def test_impute_draws_reproducible_and_seeded(mixed, sampler):
    """Check that draws keep observed values, repeat with the same seed (also
    from an imputer fitted again), differ with another, and vary around the
    deterministic fill."""
    _, df_missing, missing = mixed
    first = sampler.transform(df_missing)
    assert_array_equal(first[~missing], df_missing.to_numpy(dtype=object)[~missing])
    assert_array_equal(sampler.transform(df_missing), first)
    again = _fit(clone(sampler), df_missing)
    assert_array_equal(again.transform(df_missing), first)
    other = sampler.set_params(random_state=1).transform(df_missing)
    sampler.set_params(random_state=0)
    numbers = missing[:, [0, 2, 4]]
    assert (first[:, [0, 2, 4]][numbers] != other[:, [0, 2, 4]][numbers]).all()
    assert np.mean(first[:, 1][missing[:, 1]] != other[:, 1][missing[:, 1]]) > 0.05
    assert set(first[:, 1]) <= set(COLOURS)


def test_impute_draws_calibrated_on_gaussian_data():
    """Check that on Gaussian data the central 90% interval of 20 draws
    covers about 90% of the removed values."""
    rng = np.random.RandomState(0)
    covariance = np.full((5, 5), 0.6) + 0.4 * np.eye(5)
    X = rng.multivariate_normal(np.zeros(5), covariance, size=1500)
    missing = rng.rand(*X.shape) < 0.3
    X_missing = np.where(missing, np.nan, X)
    imputer = _fit(
        AutoencoderImputer(sample_posterior=True, max_iter=100, **PARAMS), X_missing
    )
    draws = np.stack(
        [
            imputer.set_params(random_state=seed).transform(X_missing)[missing]
            for seed in range(20)
        ]
    )
    # Weibull's plotting positions: with 20 draws of the true distribution the
    # interval then covers 90% on average (the default linear interpolation
    # would cover 81%).
    low, high = np.quantile(draws, [0.05, 0.95], axis=0, method="weibull")
    coverage = np.mean((low <= X[missing]) & (X[missing] <= high))
    assert 0.85 < coverage < 0.95
