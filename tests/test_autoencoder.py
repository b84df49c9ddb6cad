"""Behaviour specific to the plain AutoencoderTransformer."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import pytest
from sklearn.decomposition import PCA

from skae import AutoencoderTransformer

# A linear autoencoder's optimum spans the PCA subspace; SGD gets close to it.
LINEAR_TO_PCA_TOLERANCE = 0.05


def test_linear_autoencoder_matches_pca(X_lowrank):
    """Check that a linear autoencoder's error is within 5% of PCA's."""
    pca = PCA(n_components=3).fit(X_lowrank)
    pca_error = np.mean(
        (pca.inverse_transform(pca.transform(X_lowrank)) - X_lowrank) ** 2
    )
    ae = AutoencoderTransformer(
        n_components=3,
        hidden_layer_sizes=(),
        activation="identity",
        learning_rate_init=3e-2,
        batch_size=50,
        max_iter=200,
        tol=0,
        random_state=0,
    ).fit(X_lowrank)
    assert -ae.score(X_lowrank) <= (1 + LINEAR_TO_PCA_TOLERANCE) * pca_error


def test_nonlinear_autoencoder_beats_pca_on_curved_data():
    """Check that hidden layers beat PCA on data near a curved 2-d manifold."""
    rng = np.random.RandomState(0)
    latent = rng.uniform(-1, 1, size=(300, 2))
    X = np.sin(2 * latent @ rng.normal(size=(2, 10)))
    pca = PCA(n_components=2).fit(X)
    pca_error = np.mean((pca.inverse_transform(pca.transform(X)) - X) ** 2)
    ae = AutoencoderTransformer(
        n_components=2,
        hidden_layer_sizes=(32,),
        max_iter=100,
        batch_size=32,
        random_state=0,
    ).fit(X)
    assert -ae.score(X) < 0.7 * pca_error


def test_overcomplete_code_is_refused(X_lowrank):
    """Check that n_components > n_features raises and points to the other kinds."""
    with pytest.raises(ValueError, match=r"n_components=11 must be <= n_features=10"):
        AutoencoderTransformer(n_components=11).fit(X_lowrank)
