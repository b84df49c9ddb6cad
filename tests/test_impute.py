"""AutoencoderImputer: what it fills, what it leaves, and what it learns from."""

# SPDX-License-Identifier: BSD-3-Clause

import io
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

import skae
import skae._impute
import skae._modules.ppca
from skae import AutoencoderImputer

PARAMS = {"hidden_layer_sizes": (32,), "batch_size": 32, "random_state": 0}


@pytest.fixture(scope="module")
def low_rank():
    """A 400 x 12 matrix of rank 3, in units far from 1, with 20% holes."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 3)) @ rng.normal(size=(3, 12)) * 50 + 1000
    missing = rng.rand(*X.shape) < 0.2
    X_missing = X.copy()
    X_missing[missing] = np.nan
    return X, X_missing, missing


@pytest.fixture(scope="module")
def fitted(low_rank):
    """An imputer fitted on the matrix with holes."""
    _, X_missing, _ = low_rank
    return AutoencoderImputer(4, max_iter=150, **PARAMS).fit(X_missing)


def test_impute_leaves_observed_values_untouched(low_rank, fitted, dtype):
    """Check that transform fills every hole, keeps the dtype and changes no
    observed value, bit for bit."""
    _, X_missing, missing = low_rank
    X_missing = X_missing.astype(dtype)
    X_imputed = fitted.transform(X_missing)
    assert X_imputed.dtype == dtype
    assert not np.isnan(X_imputed).any()
    assert_array_equal(X_imputed[~missing], X_missing[~missing])


def test_impute_low_rank_far_better_than_the_mean(low_rank, fitted):
    """Check that a low-rank matrix is filled far better than by column means."""
    X, X_missing, missing = low_rank
    error = np.sqrt(np.mean((fitted.transform(X_missing) - X)[missing] ** 2))
    mean_error = np.sqrt(
        np.mean((SimpleImputer().fit_transform(X_missing) - X)[missing] ** 2)
    )
    assert error < 0.3 * mean_error


def test_impute_never_learns_from_missing_entries(low_rank):
    """Check that missing entries are never targets: a placeholder instead of
    NaN, whatever its value, gives the same fit, and the loss has no gradient
    with respect to the reconstruction of a missing entry."""
    _, X_missing, missing = low_rank
    reference = AutoencoderImputer(4, max_iter=3, **PARAMS).fit(X_missing)
    for placeholder in (-1.0, 12345.0):
        X_placeheld = np.where(missing, placeholder, X_missing)
        imputer = AutoencoderImputer(
            4, missing_values=placeholder, max_iter=3, **PARAMS
        ).fit(X_placeheld)
        assert_array_equal(
            imputer.transform(X_placeheld), reference.transform(X_missing)
        )
    X_batch = torch.from_numpy(X_missing[:16].astype(np.float32))
    X_reconstructed = torch.zeros_like(X_batch, requires_grad=True)
    module = reference.module_
    output = (X_reconstructed, None, torch.isnan(X_batch), None)
    reference._loss(module, output, X_batch, training=True).backward()
    gradient = X_reconstructed.grad.numpy()
    assert (gradient[missing[:16]] == 0).all()
    assert (gradient[~missing[:16]] != 0).any()


def test_impute_empty_features_and_indicator(low_rank):
    """Check keep_empty_features and add_indicator, with feature names, as in
    SimpleImputer."""
    _, X_missing, _ = low_rank
    X_missing = X_missing.copy()
    X_missing[:, 2] = np.nan
    columns = [f"x{i}" for i in range(12)]
    df = pd.DataFrame(X_missing, columns=columns)
    dropped = AutoencoderImputer(4, max_iter=2, add_indicator=True, **PARAMS)
    out = dropped.set_output(transform="pandas").fit(df).transform(df)
    names = [c for c in columns if c != "x2"]
    assert list(out.columns) == names + [f"missingindicator_{c}" for c in columns]
    assert_array_equal(out.iloc[:, 11:].to_numpy(), np.isnan(X_missing))
    kept = AutoencoderImputer(4, max_iter=2, keep_empty_features=True, **PARAMS)
    out = kept.fit_transform(X_missing)
    assert out.shape == (400, 12)
    assert_array_equal(out[:, 2], 0)


def test_impute_in_a_pipeline_and_grid_search(low_rank):
    """Check that the imputer precedes a classifier in a pipeline and a search."""
    X, X_missing, _ = low_rank
    y = (X[:, 0] > np.median(X[:, 0])).astype(int)
    pipe = make_pipeline(
        AutoencoderImputer(max_iter=3, **PARAMS), LogisticRegression(max_iter=500)
    )
    search = GridSearchCV(pipe, {"autoencoderimputer__n_components": [2, 4]}, cv=2)
    assert search.fit(X_missing, y).score(X_missing, y) > 0.5


def test_impute_saves_and_loads_exactly(low_rank, fitted):
    """Check that skae.save and skae.load give the same imputations."""
    _, X_missing, _ = low_rank
    buffer = io.BytesIO()
    skae.save(fitted, buffer)
    buffer.seek(0)
    loaded = skae.load(buffer)
    assert_array_equal(loaded.transform(X_missing), fitted.transform(X_missing))


def test_impute_refuses_sparse_input(low_rank):
    """Check that sparse input gets a clear error."""
    import scipy.sparse as sp

    with pytest.raises(TypeError, match="needs dense data"):
        AutoencoderImputer(max_iter=2, **PARAMS).fit(sp.csr_matrix(np.eye(5)))


def test_impute_has_no_inverse_transform(fitted):
    """Check that an imputer does not pretend to invert itself."""
    assert not hasattr(fitted, "inverse_transform")


def test_impute_score_is_the_observed_error(low_rank, fitted):
    """Check that score_samples is the negative error on observed values only."""
    _, X_missing, _ = low_rank
    scores = fitted.score_samples(X_missing)
    assert scores.shape == (400,) and np.isfinite(scores).all()
    assert_allclose(fitted.reconstruction_error_, -scores.mean(), rtol=1e-5)


def test_impute_network_reads_the_missing_value_mask(low_rank, fitted):
    """Check that the encoder tells a missing value from an observed one equal
    to its fill: the two rows fill alike but their codes differ."""
    _, X_missing, _ = low_rank
    row_missing = np.nanmean(X_missing, axis=0, keepdims=True).astype(np.float32)
    row_missing[0, 0] = np.nan
    module = fitted.module_
    with torch.inference_mode():
        # The encoder reads the filled row, then its mask.
        assert fitted.encoder_(torch.zeros(1, 24)).shape == (1, 4)
        filled = module.filled(torch.from_numpy(row_missing))
        row = (filled * module.scale + module.mean).numpy()
        X_pair = torch.from_numpy(np.vstack([row, row_missing]))
        assert_allclose(module.filled(X_pair)[0], module.filled(X_pair)[1], atol=1e-5)
        Z = module.encode(X_pair).numpy()
    assert not np.allclose(Z[0], Z[1])


def test_impute_hides_a_random_fraction_of_each_row():
    """Check that training hides mask_fraction of the values on average, with a
    fraction drawn anew for each row, from 0 to twice mask_fraction."""
    imputer = AutoencoderImputer(mask_fraction=0.2)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        hidden = torch.isnan(imputer._corrupt(torch.zeros(2000, 500))).double()
    fractions = hidden.mean(dim=1).numpy()
    assert abs(fractions.mean() - 0.2) < 0.01
    assert fractions.min() < 0.02 and 0.38 < fractions.max() < 0.48


def test_impute_validation_scores_only_hidden_values(low_rank):
    """Check that the validation loss is the error on the values hidden from the
    network, and that early stopping refuses to run with nothing hidden."""
    _, X_missing, _ = low_rank
    imputer = AutoencoderImputer(4, max_iter=3, early_stopping=True, **PARAMS)
    imputer.fit(X_missing)
    assert len(imputer.validation_scores_) == imputer.n_iter_
    X_batch = torch.from_numpy(X_missing[:16].astype(np.float32))
    hidden = torch.zeros_like(X_batch, dtype=torch.bool)
    hidden[:, :3] = ~torch.isnan(X_batch[:, :3])
    X_reconstructed = torch.zeros_like(X_batch, requires_grad=True)
    module = imputer.module_
    output = (X_reconstructed, None, hidden, None)
    imputer._loss(module, output, X_batch, training=False).backward()
    gradient = X_reconstructed.grad.numpy()
    assert (gradient[~hidden.numpy()] == 0).all()
    assert (gradient[hidden.numpy()] != 0).all()
    imputer.set_params(mask_fraction=0.0)
    with pytest.raises(ValueError, match="needs mask_fraction > 0"):
        imputer.fit(X_missing)


def test_impute_validation_mask_follows_mask_fraction(low_rank):
    """Check that a warm-started fit hides the validation values at the new
    mask_fraction."""
    _, X_missing, _ = low_rank
    imputer = AutoencoderImputer(
        4, max_iter=2, early_stopping=True, warm_start=True, **PARAMS
    ).fit(X_missing)
    assert imputer.module_.validation_mask_fraction == 0.2
    imputer.set_params(mask_fraction=0.3).fit(X_missing)
    assert imputer.module_.validation_mask_fraction == 0.3


@pytest.mark.parametrize("scaling", ["feature", "global"])
def test_impute_scaling(low_rank, scaling):
    """Check that each feature is centred on its observed mean and divided by its
    own standard deviation ("feature") or by one for all ("global")."""
    _, X_missing, _ = low_rank
    imputer = AutoencoderImputer(4, max_iter=1, scaling=scaling, **PARAMS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        imputer.fit(X_missing)
    module = imputer.module_
    centred = X_missing - np.nanmean(X_missing, axis=0)
    assert_allclose(module.mean.numpy(), np.nanmean(X_missing, axis=0), rtol=1e-5)
    if scaling == "feature":
        expected = np.sqrt(np.nanmean(centred**2, axis=0))
    else:
        expected = np.full(X_missing.shape[1], np.sqrt(np.nanmean(centred**2)))
    assert_allclose(module.scale.numpy(), expected, rtol=1e-4)


def test_impute_images_with_a_convolutional_network():
    """Check that image_shape gives the imputer the convolutional network
    (images and masks as channels), that it fills holes in images far better
    than the mean and leaves observed pixels untouched, and that a shape that
    does not fit is refused."""
    rng = np.random.RandomState(0)
    rows, cols = np.mgrid[0:6, 0:5]
    centres = rng.uniform([0, 0], [6, 5], size=(300, 2))
    distance = (rows - centres[:, :1, None]) ** 2 + (cols - centres[:, 1:, None]) ** 2
    X = np.exp(-distance / 2.0).reshape(300, 30)
    missing = rng.rand(*X.shape) < 0.2
    X_missing = np.where(missing, np.nan, X)
    imputer = AutoencoderImputer(
        8, image_shape=(6, 5), conv_channels=(4,), max_iter=100, **PARAMS
    )
    X_imputed = imputer.fit_transform(X_missing)
    first = next(m for m in imputer.module_.modules() if isinstance(m, torch.nn.Conv2d))
    assert first.in_channels == 2  # the image, then its mask
    assert_array_equal(X_imputed[~missing], X[~missing])
    error = np.sqrt(np.mean((X_imputed - X)[missing] ** 2))
    mean_error = np.sqrt(
        np.mean((SimpleImputer().fit_transform(X_missing) - X)[missing] ** 2)
    )
    assert error < 0.5 * mean_error
    with pytest.raises(ValueError, match=r"image_shape=\(5, 5\) does not fit the 30"):
        AutoencoderImputer(image_shape=(5, 5)).fit(X_missing)


@pytest.mark.parametrize(
    "initial_strategy, image_shape, n_factors",
    [
        ("auto", None, 12),
        ("auto", (3, 4), 0),
        ("gaussian", (3, 4), 12),
        ("mean", None, 0),
    ],
)
def test_impute_initial_strategy(low_rank, initial_strategy, image_shape, n_factors):
    """Check that tables get the Gaussian fill by default and images the mean,
    and that either can be asked for."""
    _, X_missing, _ = low_rank
    imputer = AutoencoderImputer(
        16,
        initial_strategy=initial_strategy,
        image_shape=image_shape,
        conv_channels=(4,),
        max_iter=1,
        **PARAMS,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        imputer.fit(X_missing)
    assert imputer.module_.fill.n_factors == n_factors


def test_impute_starts_from_the_gaussian_fill(low_rank):
    """Check that with init="pca" and a code as wide as the data the network
    starts by returning the Gaussian fill, which on a low-rank table is far
    better than the mean."""
    X, X_missing, missing = low_rank
    imputer = AutoencoderImputer(
        12, max_iter=1, learning_rate_init=1e-12, **{**PARAMS, "hidden_layer_sizes": ()}
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        X_imputed = imputer.fit_transform(X_missing)
    module = imputer.module_
    with torch.inference_mode():
        X_torch = torch.from_numpy(X_missing.astype(np.float32))
        fill = (module.filled(X_torch) * module.scale + module.mean).numpy()
    assert_allclose(X_imputed[missing], fill[missing], rtol=1e-4)
    error = np.sqrt(np.mean((X_imputed - X)[missing] ** 2))
    mean_error = np.sqrt(
        np.mean((SimpleImputer().fit_transform(X_missing) - X)[missing] ** 2)
    )
    assert error < 0.05 * mean_error


def test_impute_hidden_values_are_training_targets(low_rank, fitted):
    """Check that training scores the values it hides from the network: the
    loss has a gradient with respect to their reconstructions."""
    X, _, _ = low_rank
    X_batch = torch.from_numpy(X[:64].astype(np.float32))
    module = fitted.module_
    with torch.random.fork_rng():
        torch.manual_seed(0)
        X_hidden = fitted._corrupt(X_batch)
    hidden = torch.isnan(X_hidden)
    X_reconstructed = torch.zeros_like(X_batch, requires_grad=True)
    output = (X_reconstructed, None, hidden, None)
    fitted._loss(module, output, X_batch, training=True).backward()
    assert hidden.any()
    assert (X_reconstructed.grad[hidden] != 0).all()


def test_impute_auto_early_stopping_follows_the_data_size(low_rank, monkeypatch):
    """Check that "auto" holds out rows and stops after 3 epochs on large data,
    on a plateau after 30 on small data, never in partial_fit, and that a
    network fitted with it is saved, loaded and refused by partial_fit."""
    _, X_missing, _ = low_rank
    small = AutoencoderImputer(4, max_iter=2, **PARAMS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        small.fit(X_missing)
    assert not small.do_early_stopping_ and small.validation_scores_ is None
    assert dict(small.net_.callbacks_)["early_stopping"].patience == 30
    monkeypatch.setattr(skae._autoencoder_base, "LARGE_DATA_VALUES", X_missing.size)
    large = AutoencoderImputer(4, max_iter=2, **PARAMS).fit(X_missing)
    assert large.do_early_stopping_ and len(large.validation_scores_) == 2
    assert dict(large.net_.callbacks_)["early_stopping"].patience == 3
    explicit = AutoencoderImputer(4, max_iter=2, n_iter_no_change=7, **PARAMS)
    explicit.set_params(early_stopping=False).fit(X_missing)
    assert not explicit.do_early_stopping_
    assert dict(explicit.net_.callbacks_)["early_stopping"].patience == 7
    buffer = io.BytesIO()
    skae.save(large, buffer)
    buffer.seek(0)
    loaded = skae.load(buffer)
    assert_array_equal(loaded.transform(X_missing), large.transform(X_missing))
    with pytest.raises(ValueError, match="partial_fit does not support early"):
        loaded.partial_fit(X_missing)
    partial = AutoencoderImputer(4, **PARAMS).partial_fit(X_missing)
    assert not partial.do_early_stopping_ and partial.validation_scores_ is None


@pytest.mark.parametrize("wide, n_steps", [(False, 30), (True, 5)])
def test_impute_gaussian_fill_is_cheaper_on_wide_data(
    low_rank, monkeypatch, wide, n_steps
):
    """Check that the Gaussian fill takes 30 EM steps, and 5 where they would
    cost more than FILL_WORK."""
    _, X_missing, _ = low_rank
    if wide:
        monkeypatch.setattr(skae._impute, "FILL_WORK", 0)
    calls = []
    fit = skae._modules.ppca.ProbabilisticPCA.fit

    def spy(self, X, **options):
        calls.append((len(X), options))
        return fit(self, X, **options)

    monkeypatch.setattr(skae._modules.ppca.ProbabilisticPCA, "fit", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        AutoencoderImputer(4, max_iter=1, **PARAMS).fit(X_missing)
    assert calls == [(400, {"n_iter": n_steps})]
