"""Behaviour specific to DenoisingAutoencoder: noise on training inputs only."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal

from skae import AutoencoderTransformer, DenoisingAutoencoder
from skae._denoising import _CORRUPTIONS

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

PARAMS = {"hidden_layer_sizes": (32,), "batch_size": 32, "random_state": 0}


@pytest.fixture
def X_wide():
    """300 x 30 data in [0, 1] on a 3-dimensional curved manifold."""
    rng = np.random.RandomState(0)
    X = np.tanh(rng.uniform(-1, 1, size=(300, 3)) @ rng.normal(size=(3, 30)))
    return (X - X.min(0)) / (X.max(0) - X.min(0))


def test_denoising_reconstructs_noisy_inputs_better(X_wide):
    """Check that the denoising autoencoder cleans noisy inputs better than plain."""
    X_noisy = X_wide + 0.2 * np.random.RandomState(1).normal(size=X_wide.shape)
    errors = {}
    for Estimator in (AutoencoderTransformer, DenoisingAutoencoder):
        ae = Estimator(n_components=8, max_iter=60, **PARAMS).fit(X_wide)
        X_reconstructed = ae.inverse_transform(ae.transform(X_noisy))
        errors[Estimator] = np.mean((X_reconstructed - X_wide) ** 2)
    assert errors[DenoisingAutoencoder] < 0.9 * errors[AutoencoderTransformer]


@pytest.mark.parametrize("noise", ["gaussian", "masking", "salt_and_pepper"])
def test_transform_adds_no_noise(X_wide, noise):
    """Check that transform and score are deterministic: noise is training-only."""
    dae = DenoisingAutoencoder(n_components=4, noise=noise, max_iter=2, **PARAMS)
    dae.fit(X_wide)
    assert_array_equal(dae.transform(X_wide), dae.transform(X_wide))
    assert dae.score(X_wide) == dae.score(X_wide)


def test_corruption_is_seeded(X_wide):
    """Check that the same random_state gives the same noise, hence the same fit."""
    fits = [
        DenoisingAutoencoder(n_components=4, max_iter=3, **PARAMS).fit(X_wide)
        for _ in range(2)
    ]
    assert_array_equal(fits[0].transform(X_wide), fits[1].transform(X_wide))


def test_corruptions_change_the_expected_fraction():
    """Check that masking and salt-and-pepper corrupt about noise_level of values."""
    X = torch.rand(2000, 50) * 0.8 + 0.1
    torch.manual_seed(0)
    masked = _CORRUPTIONS["masking"](X, 0.3)
    assert abs((masked == 0).float().mean().item() - 0.3) < 0.01
    salted = _CORRUPTIONS["salt_and_pepper"](X, 0.3)
    changed = salted != X
    assert abs(changed.float().mean().item() - 0.3) < 0.01
    extremes = (salted == X.amin(0)) | (salted == X.amax(0))
    assert bool(extremes[changed].all())
    noisy = _CORRUPTIONS["gaussian"](X, 0.5)
    assert abs((noisy - X).std().item() - 0.5) < 0.01


@pytest.mark.parametrize("noise", ["masking", "salt_and_pepper"])
def test_fraction_noise_level_above_one_is_refused(X_wide, noise):
    """Check that a fraction noise_level > 1 is refused before any training,
    leaving the estimator unfitted, and a fitted one as it was."""
    dae = DenoisingAutoencoder(n_components=2, noise=noise, noise_level=1.5)
    with pytest.raises(ValueError, match=r"noise_level=1.5 is a fraction"):
        dae.fit(X_wide)
    assert not hasattr(dae, "n_iter_") and not hasattr(dae, "net_")
    dae.set_params(noise_level=0.2, max_iter=2, warm_start=True, **PARAMS)
    Z = dae.fit(X_wide).transform(X_wide)
    dae.set_params(noise_level=1.5)
    with pytest.raises(ValueError, match=r"noise_level=1.5 is a fraction"):
        dae.fit(X_wide)
    assert dae.n_iter_ == 2
    np.testing.assert_array_equal(dae.transform(X_wide), Z)


def test_overcomplete_code_is_allowed(X_wide):
    """Check that a denoising code may be wider than the input."""
    dae = DenoisingAutoencoder(n_components=40, max_iter=2, **PARAMS).fit(X_wide)
    assert dae.transform(X_wide).shape == (300, 40)


@pytest.mark.parametrize("clip", [True, False])
def test_noise_is_clipped_to_the_training_range(X_wide, clip):
    """Check that clip=True keeps corrupted inputs within the data's range."""
    dae = DenoisingAutoencoder(
        noise_level=0.5, clip=clip, max_iter=1, **PARAMS
    ).partial_fit(0.5 * X_wide)
    dae.partial_fit(X_wide)  # the range grows with the data seen: [0, 1]
    X_noisy = dae._corrupt(torch.as_tensor(X_wide, dtype=torch.float32))
    inside = bool((X_noisy >= 0).all() and (X_noisy <= 1).all())
    assert inside == clip
    assert X_noisy.max() > 0.5  # the range of the second call was used
