"""Behaviour specific to SparseAutoencoder: a sparsity penalty on the code."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose

from skae import AutoencoderTransformer, SparseAutoencoder
from skae._sparse import _kl_sparsity

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

PARAMS = {"hidden_layer_sizes": (32,), "batch_size": 32, "random_state": 0}


def _near_zero_fraction(Z):
    """Fraction of codes below a thousandth of the largest one in magnitude."""
    return np.mean(np.abs(Z) < 1e-3 * np.abs(Z).max())


def test_l1_codes_are_sparser_than_plain(X_lowrank):
    """Check that the L1 penalty gives many more near-zero codes than plain."""
    plain = AutoencoderTransformer(n_components=8, max_iter=60, **PARAMS)
    sparse = SparseAutoencoder(n_components=8, max_iter=60, **PARAMS)
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
    sparse = SparseAutoencoder(n_components=2, max_iter=60, **params)
    Z = sparse.fit_transform(X_lowrank)
    assert (Z > 0).any(axis=0).all()
