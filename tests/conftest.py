"""Shared fixtures: small data in both float dtypes, fast parameters, cuda marker."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import pytest
import torch

from skae._registry import AUTOENCODERS

ESTIMATORS = list(AUTOENCODERS)

# The kinds whose loss is a reconstruction error (they have `loss`, and
# `score` is the negative mean squared error); the variational one has a
# likelihood instead.
RECONSTRUCTION_ESTIMATORS = [
    cls for cls in AUTOENCODERS if "loss" in cls().get_params()
]

# The suite's networks are tiny, so a second OpenMP thread only adds spinning;
# on a busy 2-core machine it made the suite twenty times slower (14 min vs 36 s).
torch.set_num_threads(1)

# Small networks and few epochs keep the suite fast; behaviour tests that need
# real training raise max_iter themselves.
FAST_PARAMS = {
    "n_components": 1,
    "hidden_layer_sizes": (8,),
    "max_iter": 5,
    "batch_size": 32,
    "random_state": 0,
}


def pytest_collection_modifyitems(config, items):
    """Skip tests marked ``cuda`` when torch sees no CUDA GPU."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(params=ESTIMATORS, ids=lambda cls: cls.__name__)
def Estimator(request):
    """Each public autoencoder class."""
    return request.param


@pytest.fixture(params=RECONSTRUCTION_ESTIMATORS, ids=lambda cls: cls.__name__)
def ReconstructionEstimator(request):
    """Each autoencoder class whose score is the negative reconstruction error."""
    return request.param


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    """Each float dtype the estimators preserve."""
    return request.param


@pytest.fixture
def X_lowrank():
    """200 x 10 data in [0, 1] lying near a 3-dimensional curved manifold."""
    rng = np.random.RandomState(0)
    latent = rng.uniform(-1, 1, size=(200, 3))
    mixing = rng.normal(size=(3, 10))
    X = np.tanh(latent @ mixing) + 0.01 * rng.normal(size=(200, 10))
    return (X - X.min(0)) / (X.max(0) - X.min(0))


# Helper scripts that tests run in subprocesses (e.g. under torchrun) are not
# test modules: importing one would run it.
collect_ignore = ["scripts", "data"]
