"""VariationalAutoencoder: likelihood against probabilistic PCA, codes, samples."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.decomposition import PCA

from skae import VariationalAutoencoder
from tests.conftest import FAST_PARAMS

PARAMS = {"hidden_layer_sizes": (8,), "max_iter": 5, "batch_size": 64}


@pytest.fixture(scope="module")
def X_ppca():
    """Held-in and held-out rows drawn from a probabilistic PCA model: a linear
    map of 2-d standard Gaussian codes plus isotropic noise, in 10-d."""
    rng = np.random.RandomState(0)
    W = rng.normal(size=(2, 10))
    mean = rng.normal(size=10)
    X = rng.normal(size=(3000, 2)) @ W + mean + 0.3 * rng.normal(size=(3000, 10))
    X = X.astype(np.float32)
    return X[:2000], X[2000:]


@pytest.fixture(scope="module")
def linear_vae(X_ppca):
    """A linear variational autoencoder (Gaussian likelihood) fitted on them."""
    X_train, _ = X_ppca
    vae = VariationalAutoencoder(
        2, hidden_layer_sizes=(), max_iter=60, batch_size=128, random_state=0
    )
    return vae.fit(X_train)


def test_variational_linear_model_reaches_ppca_likelihood(X_ppca, linear_vae):
    """Check that on probabilistic-PCA data a linear VAE's importance-weighted
    log-likelihood of held-out rows is within 1% of PCA's exact one, and that
    its ELBO does not exceed it by more than the estimate's noise."""
    X_train, X_test = X_ppca
    exact = PCA(2).fit(X_train).score(X_test)
    log_likelihood = linear_vae.log_likelihood(X_test, n_importance=200)
    assert abs(log_likelihood.mean() - exact) <= 0.01 * abs(exact)
    elbo = linear_vae.score_samples(X_test)
    noise = 3 * elbo.std() / np.sqrt(len(elbo))
    assert elbo.mean() <= exact + noise
    # The importance-weighted bound is the tighter one.
    assert log_likelihood.mean() >= elbo.mean()


def test_variational_transform_is_the_posterior_mean(X_ppca, linear_vae):
    """Check that transform returns the encoder's posterior mean, the same for
    a row alone as within a batch, and that the score is deterministic."""
    _, X_test = X_ppca
    Z = linear_vae.transform(X_test)
    with torch.inference_mode():
        mean, _ = linear_vae.encoder_.posterior(torch.from_numpy(X_test))
    assert_allclose(Z, mean.numpy(), rtol=1e-6, atol=1e-6)
    # float64 input is computed in float64: the same to rounding, batched or
    # not (BLAS may take another kernel for one row); float32 matrix products
    # may round differently for another batch size.
    X_64 = X_test.astype(np.float64)
    assert_allclose(
        linear_vae.transform(X_64[:1]), linear_vae.transform(X_64)[:1], rtol=1e-12
    )
    assert_allclose(linear_vae.transform(X_test[:1]), Z[:1], rtol=1e-6, atol=1e-6)
    assert_array_equal(
        linear_vae.score_samples(X_test), linear_vae.score_samples(X_test)
    )


def test_variational_sample_is_reproducible(linear_vae):
    """Check that sample draws the same rows for a seed, others for another
    seed, and leaves the global numpy and torch RNGs alone."""
    numpy_state = np.random.get_state()  # noqa: NPY002 (the global state is the point)
    torch_state = torch.get_rng_state()
    first = linear_vae.sample(5, random_state=0)
    assert first.shape == (5, 10)
    assert_array_equal(linear_vae.sample(5, random_state=0), first)
    assert not np.allclose(linear_vae.sample(5, random_state=1), first)
    linear_vae.sample(5)
    assert_array_equal(np.random.get_state()[1], numpy_state[1])  # noqa: NPY002
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_variational_loss_curve_parts_add_up(X_ppca):
    """Check that each epoch's loss is its reconstruction part plus beta times
    its KL part."""
    X_train, _ = X_ppca
    vae = VariationalAutoencoder(2, beta=2.0, random_state=0, **PARAMS).fit(X_train)
    assert len(vae.reconstruction_loss_curve_) == len(vae.loss_curve_) == vae.n_iter_
    expected = np.add(
        vae.reconstruction_loss_curve_, 2.0 * np.array(vae.kl_loss_curve_)
    )
    assert_allclose(vae.loss_curve_, expected, rtol=1e-5)


def test_variational_kl_shrinks_as_beta_grows(X_ppca):
    """Check that a larger beta gives codes closer to the prior (a smaller KL)."""
    X_train, _ = X_ppca
    kl = [
        VariationalAutoencoder(2, beta=beta, random_state=0, **PARAMS)
        .fit(X_train)
        .kl_loss_curve_[-1]
        for beta in (0.25, 1.0, 4.0)
    ]
    assert kl[0] > kl[1] > kl[2]


def test_variational_bernoulli_needs_unit_range(X_ppca):
    """Check that a Bernoulli likelihood refuses data outside [0, 1] and learns
    data inside it, with a sigmoid mean."""
    X_train, _ = X_ppca
    vae = VariationalAutoencoder(2, likelihood="bernoulli", random_state=0, **PARAMS)
    with pytest.raises(
        ValueError, match=r"likelihood='bernoulli' needs data in \[0, 1\]"
    ):
        vae.fit(X_train)
    X_unit = (X_train - X_train.min(0)) / (X_train.max(0) - X_train.min(0))
    vae.fit(X_unit)
    X_reconstructed = vae.inverse_transform(vae.transform(X_unit))
    assert X_reconstructed.min() >= 0 and X_reconstructed.max() <= 1
    assert vae.loss_curve_[-1] < vae.loss_curve_[0]


def test_variational_rejects_a_bad_n_importance(linear_vae, X_ppca):
    """Check that log_likelihood and sample refuse non-positive counts."""
    _, X_test = X_ppca
    with pytest.raises(ValueError, match="n_importance must be a positive integer"):
        linear_vae.log_likelihood(X_test, n_importance=0)
    with pytest.raises(ValueError, match="n_samples must be a positive integer"):
        linear_vae.sample(0)


def test_variational_has_no_loss_or_output_activation():
    """Check that the likelihood replaces the reconstruction loss parameters."""
    params = VariationalAutoencoder().get_params()
    assert "likelihood" in params and "beta" in params
    assert "loss" not in params and "output_activation" not in params


def test_variational_importance_weighted_training(X_ppca):
    """Check that importance_samples > 1 trains on the importance-weighted
    bound, which is at least the ELBO of the same weights, records the ELBO's
    terms, and refuses a weighted KL term."""
    X, _ = X_ppca
    params = {**FAST_PARAMS, "n_components": 2, "max_iter": 20}
    vae = VariationalAutoencoder(**params, importance_samples=8).fit(X)
    assert vae.loss_curve_[-1] < vae.loss_curve_[0]
    assert len(vae.kl_loss_curve_) == vae.n_iter_
    module = vae.module_
    rows = torch.from_numpy(X.astype(np.float32))
    torch.manual_seed(0)
    with torch.no_grad():
        _, _, bound = module(rows)
        module.importance_samples = 1
        elbo_nll, elbo_kl, none = module(rows)
    assert none is None
    assert float(bound.mean()) >= float(-(elbo_nll + elbo_kl).mean())
    with pytest.raises(ValueError, match="set beta=1"):
        VariationalAutoencoder(**params, importance_samples=8, beta=2.0).fit(X)
