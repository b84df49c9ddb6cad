"""Behaviour specific to SparseAutoencoder: a sparsity penalty on the code."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from skae import AutoencoderTransformer, SparseAutoencoder
from skae._sparse import _hoyer_penalty, _kl_sparsity

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

PARAMS = {"hidden_layer_sizes": (32,), "batch_size": 32, "random_state": 0}


def _near_zero_fraction(Z):
    """Fraction of codes below a thousandth of the largest one in magnitude."""
    return np.mean(np.abs(Z) < 1e-3 * np.abs(Z).max())


def _hoyer(Z):
    """Mean over rows of Hoyer's sparseness of the codes (all-zero rows: 1)."""
    k = Z.shape[1]
    l1, l2 = np.abs(Z).sum(axis=1), np.sqrt((Z**2).sum(axis=1))
    ratio = np.where(l2 > 0, l1 / np.maximum(l2, 1e-30), 1.0)
    return np.mean((np.sqrt(k) - ratio) / (np.sqrt(k) - 1))


def test_default_codes_are_sparser_than_plain(X_lowrank):
    """Check that the default (Hoyer) penalty gives codes clearly sparser than
    the plain autoencoder's, in Hoyer's measure and in near-zero codes."""
    plain = AutoencoderTransformer(n_components=8, max_iter=60, **PARAMS)
    sparse = SparseAutoencoder(n_components=8, max_iter=60, **PARAMS)
    Z_plain = plain.fit_transform(X_lowrank)
    Z_sparse = sparse.fit_transform(X_lowrank)
    assert _hoyer(Z_sparse) > _hoyer(Z_plain) + 0.1
    assert _near_zero_fraction(Z_sparse) > _near_zero_fraction(Z_plain) + 0.05


def test_hoyer_penalty_ignores_scale_and_stays_finite():
    """Check that the Hoyer penalty is 0 for one active unit, 1 for equal ones,
    the same after scaling, and has finite gradients for all-zero rows."""
    Z = torch.tensor([[3.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    assert _hoyer_penalty(Z[:1]).item() == pytest.approx(0.0)
    assert _hoyer_penalty(Z[1:]).item() == pytest.approx(1.0)
    assert _hoyer_penalty(Z).item() == pytest.approx(_hoyer_penalty(1e-3 * Z).item())
    zeros = torch.zeros(2, 4, requires_grad=True)
    _hoyer_penalty(zeros).backward()
    assert torch.isfinite(zeros.grad).all()
    assert _hoyer_penalty(torch.ones(3, 1)).item() == 0.0


def test_l1_codes_are_sparser_than_plain(X_lowrank):
    """Check that the L1 penalty gives many more near-zero codes than plain."""
    plain = AutoencoderTransformer(n_components=8, max_iter=60, **PARAMS)
    sparse = SparseAutoencoder(n_components=8, sparsity="l1", max_iter=60, **PARAMS)
    Z_plain = plain.fit_transform(X_lowrank)
    Z_sparse = sparse.fit_transform(X_lowrank)
    assert _near_zero_fraction(Z_sparse) > _near_zero_fraction(Z_plain) + 0.1
    assert -sparse.score(X_lowrank) < 0.01


def test_kl_pulls_mean_activation_to_target(X_lowrank):
    """Check that the KL penalty lowers the mean sigmoid activation towards 0.05."""
    means = {}
    for weight in (0.0, 1e-2):
        sae = SparseAutoencoder(
            n_components=8, sparsity="kl", sparsity_weight=weight, max_iter=60, **PARAMS
        )
        Z = sae.fit_transform(X_lowrank)
        assert Z.min() >= 0 and Z.max() <= 1
        means[weight] = Z.mean()
    assert means[1e-2] < 0.5 * means[0.0]


def test_score_excludes_penalty(X_lowrank):
    """Check that score is the reconstruction error only, without the penalty."""
    sae = SparseAutoencoder(
        n_components=8, sparsity_weight=10.0, max_iter=3, **PARAMS
    ).fit(X_lowrank)
    X_reconstructed = sae.inverse_transform(sae.transform(X_lowrank))
    assert_allclose(
        sae.score(X_lowrank), -np.mean((X_reconstructed - X_lowrank) ** 2), rtol=1e-6
    )
    assert sae.loss_curve_[-1] > -sae.score(X_lowrank)


def test_kl_sparsity_is_zero_at_target():
    """Check that the KL penalty vanishes when every unit's mean is the target."""
    Z = torch.full((10, 4), 0.05)
    assert _kl_sparsity(Z, 0.05).item() == pytest.approx(0.0, abs=1e-6)
    assert _kl_sparsity(torch.full((10, 4), 0.5), 0.05).item() > 1.0


def test_overcomplete_code_is_allowed(X_lowrank):
    """Check that a sparse code may be wider than the input."""
    sae = SparseAutoencoder(n_components=32, max_iter=2, **PARAMS).fit(X_lowrank)
    assert sae.transform(X_lowrank).shape == (200, 32)


@pytest.mark.parametrize("seed", range(3))
def test_l1_keeps_every_code_unit_alive_at_small_codes(X_lowrank, seed):
    """Check that no code unit dies at n_components=2 (all-zero codes collapsed
    the model to a constant before init='pca')."""
    params = {**PARAMS, "random_state": seed}
    sparse = SparseAutoencoder(n_components=2, sparsity="l1", max_iter=60, **params)
    Z = sparse.fit_transform(X_lowrank)
    assert (Z > 0).any(axis=0).all()
