"""The torch modules: shapes, activations and gradients."""

# SPDX-License-Identifier: BSD-3-Clause

import pytest
import torch
from torch import nn

from skae._modules.mlp import ACTIVATIONS, MLPAutoencoder, make_mlp
from skae._modules.ppca import ProbabilisticPCA


@pytest.mark.parametrize("hidden", [(), (16,), (16, 8)])
def test_autoencoder_shapes(hidden):
    """Check that the code and reconstruction have the expected shapes."""
    module = MLPAutoencoder(n_features=10, n_components=3, hidden_layer_sizes=hidden)
    X_reconstructed, Z = module(torch.randn(5, 10))
    assert Z.shape == (5, 3)
    assert X_reconstructed.shape == (5, 10)


def test_decoder_mirrors_encoder():
    """Check that the decoder's layer widths mirror the encoder's."""
    module = MLPAutoencoder(10, 3, hidden_layer_sizes=(16, 8))
    enc = [
        layer.out_features for layer in module.encoder if isinstance(layer, nn.Linear)
    ]
    dec = [
        layer.in_features for layer in module.decoder if isinstance(layer, nn.Linear)
    ]
    assert enc == [16, 8, 3]
    assert dec == [3, 8, 16]


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_make_mlp_places_activations(name):
    """Check that hidden layers get `activation` and the last layer its own."""
    mlp = make_mlp([4, 6, 2], name, "sigmoid")
    kinds = [type(layer) for layer in mlp]
    expected = [nn.Linear] + ([] if name == "identity" else [ACTIVATIONS[name]])
    assert kinds == [*expected, nn.Linear, nn.Sigmoid]


def test_gradients_reach_every_parameter():
    """Check that a reconstruction loss gives every parameter a gradient."""
    module = MLPAutoencoder(6, 2, hidden_layer_sizes=(4,), activation="tanh")
    X = torch.randn(8, 6)
    X_reconstructed, _ = module(X)
    ((X_reconstructed - X) ** 2).mean().backward()
    assert all(
        p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters()
    )


@pytest.mark.parametrize("code_activation", ["identity", "relu"])
def test_init_linear_starts_at_the_linear_autoencoder(code_activation):
    """Check that init_linear makes the residual model exactly linear, as given,
    with ReLU codes shifted to start non-negative on the sample's scores."""
    module = MLPAutoencoder(
        6,
        2,
        hidden_layer_sizes=(5,),
        code_activation=code_activation,
        linear_start=True,
    )
    components = torch.linalg.qr(torch.randn(6, 2)).Q.T
    mean = torch.randn(6)
    X = mean + torch.randn(8, 6)
    scores = (X - mean) @ components.T
    module.init_linear(components, mean, scores)
    shift = torch.zeros(2) if code_activation == "identity" else -scores.amin(dim=0)
    X_reconstructed, Z = module(X)
    Z_expected = (X - mean) @ components.T + shift
    torch.testing.assert_close(Z, Z_expected)
    torch.testing.assert_close(
        X_reconstructed, (Z_expected - shift) @ components + mean
    )
    assert (Z >= 0).all() or code_activation == "identity"


def test_init_linear_needs_linear_start():
    """Check that a plain MLP autoencoder refuses init_linear with a clear error."""
    module = MLPAutoencoder(6, 2, hidden_layer_sizes=(5,))
    with pytest.raises(TypeError, match="linear_start=True"):
        module.init_linear(torch.eye(2, 6), torch.zeros(6), torch.zeros(2))


def test_residual_gradients_reach_every_parameter():
    """Check that a few steps away from the linear start, all parameters learn.

    At a PCA-like start the code's gradient is zero (a stationary point of the
    linear autoencoder): the decoder's correction moves first, then the
    encoder's last layer, then its first.
    """
    module = MLPAutoencoder(
        6, 2, hidden_layer_sizes=(4,), activation="tanh", linear_start=True
    )
    module.init_linear(torch.eye(2, 6), torch.zeros(6), torch.zeros(2))
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    X = torch.randn(8, 6)
    for _ in range(3):
        optimizer.zero_grad()
        X_reconstructed, _ = module(X)
        ((X_reconstructed - X) ** 2).mean().backward()
        optimizer.step()
    assert all(p.grad.abs().sum() > 0 for p in module.parameters())


def _gaussian_with_holes(n_samples=3000, fraction=0.2, seed=0):
    """Correlated Gaussian rows (5 features) and a copy with holes."""
    generator = torch.Generator().manual_seed(seed)
    mixing = torch.randn(5, 5, generator=generator, dtype=torch.float64)
    X = torch.randn(n_samples, 5, generator=generator, dtype=torch.float64) @ mixing
    holes = torch.rand(X.shape, generator=generator, dtype=torch.float64) < fraction
    return X, X.masked_fill(holes, float("nan"))


def test_probabilistic_pca_recovers_the_covariance_from_rows_with_holes():
    """Check that EM on the observed values alone finds the mean and the
    covariance of the complete rows."""
    X, X_missing = _gaussian_with_holes()
    model = ProbabilisticPCA(5, 5).double().fit(X_missing)
    covariance = model.components @ model.components.T + model.noise * torch.eye(5)
    scale = torch.cov(X.T).abs().max()
    assert torch.allclose(covariance, torch.cov(X.T), atol=0.05 * scale)
    assert torch.allclose(model.mean, X.mean(dim=0), atol=0.05 * scale.sqrt())


def test_probabilistic_pca_fills_with_the_conditional_mean():
    """Check that a missing value becomes its Gaussian conditional mean given
    the row's observed values, observed values stay, and without factors
    every missing value becomes the mean."""
    _, X_missing = _gaussian_with_holes(n_samples=500)
    model = ProbabilisticPCA(5, 3).double().fit(X_missing)
    covariance = model.components @ model.components.T + model.noise * torch.eye(5)
    row = X_missing[~torch.isnan(X_missing).any(dim=1)][:1].clone()
    row[0, [1, 3]] = float("nan")
    observed = ~torch.isnan(row[0])
    conditional = model.mean[~observed] + covariance[~observed][:, observed] @ (
        torch.linalg.solve(
            covariance[observed][:, observed], row[0, observed] - model.mean[observed]
        )
    )
    filled = model(row)
    assert torch.equal(filled[0, observed], row[0, observed])
    assert torch.allclose(filled[0, ~observed], conditional)
    mean_only = ProbabilisticPCA(5, 0)
    mean_only.mean.fill_(2.0)
    assert torch.equal(mean_only(row)[0, ~observed], torch.full((2,), 2.0))
