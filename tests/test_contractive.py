"""ContractiveAutoencoder: the penalty on the encoder's Jacobian."""

# SPDX-License-Identifier: BSD-3-Clause

import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning

from skae import AutoencoderTransformer, ContractiveAutoencoder
from skae._contractive import jacobian_norm
from tests.conftest import FAST_PARAMS


def test_contractive_jacobian_norm_is_unbiased():
    """Check that the one-probe estimate averages to the exact squared
    Frobenius norm of a linear map's Jacobian."""
    torch.manual_seed(0)
    weight = torch.randn(3, 5)
    X = torch.randn(20_000, 5)
    estimates = jacobian_norm(lambda X: X @ weight.T, X)
    exact = weight.square().sum()
    assert torch.allclose(estimates.mean(), exact, rtol=0.03)


def test_contractive_penalty_reaches_the_encoder():
    """Check that the penalty's gradient reaches the encoder's weights (it
    is built with create_graph), and is absent outside training."""
    ae = ContractiveAutoencoder(**{**FAST_PARAMS, "n_components": 2})
    ae.fit(np.random.RandomState(0).rand(50, 6).astype(np.float32))
    module = ae.module_
    X = torch.rand(8, 6)
    output = module(X)
    module.zero_grad()
    ae._penalty(module, X, output[1]).backward()
    assert any(
        p.grad is not None and p.grad.abs().sum() > 0
        for p in module.encoder.parameters()
    )
    assert float(ae._loss(module, output, X, training=False).detach()) == pytest.approx(
        float(torch.nn.functional.mse_loss(output[0], X).detach())
    )


def test_contractive_codes_are_less_sensitive(X_lowrank):
    """Check that the contraction penalty lowers the Jacobian's norm of the
    fitted encoder against the plain autoencoder trained alike, and that a
    weight of 0 is the plain autoencoder."""
    X = X_lowrank.astype(np.float32)
    params = {**FAST_PARAMS, "n_components": 3, "max_iter": 40, "init": "random"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = AutoencoderTransformer(**params).fit(X)
        contractive = ContractiveAutoencoder(**params, contraction_weight=1.0).fit(X)
        unpenalised = ContractiveAutoencoder(**params, contraction_weight=0.0).fit(X)
    torch.manual_seed(0)
    rows = torch.from_numpy(X)
    norms = {
        name: float(jacobian_norm(ae.module_.encode, rows).mean().detach())
        for name, ae in [("plain", plain), ("contractive", contractive)]
    }
    assert norms["contractive"] < 0.5 * norms["plain"]
    np.testing.assert_array_equal(unpenalised.transform(X), plain.transform(X))
