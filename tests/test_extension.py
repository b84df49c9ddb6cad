"""The user recipe "write your own autoencoder kind": a tied-weights autoencoder."""

# SPDX-License-Identifier: BSD-3-Clause

import io
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks
from torch import nn

import skae
from skae import AutoencoderTransformer
from tests.conftest import FAST_PARAMS


# The recipe, as docs/user_guide.rst shows it: a torch module with encode,
# decode and a forward returning (reconstruction, codes), and one seam.
class TiedModule(nn.Module):
    """An encoder ``tanh(X W^T + b)`` and the decoder ``Z W + c``: one matrix."""

    def __init__(self, n_features, n_components):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(n_components, n_features) * 0.1)
        self.code_bias = nn.Parameter(torch.zeros(n_components))
        self.bias = nn.Parameter(torch.zeros(n_features))

    def encode(self, X):
        return torch.tanh(X @ self.weight.T + self.code_bias)

    def decode(self, Z):
        return Z @ self.weight + self.bias

    def forward(self, X):
        Z = self.encode(X)
        return self.decode(Z), Z


class TiedAutoencoder(AutoencoderTransformer):
    """An autoencoder whose decoder is its encoder's transpose."""

    def _build_module(self, n_features):
        return TiedModule(n_features, self.n_components)


PARAMS = {**FAST_PARAMS, "n_components": 2, "init": "random"}


@pytest.fixture
def X():
    """200 x 6 data near a 2-d curved surface."""
    rng = np.random.RandomState(0)
    latent = rng.uniform(-1, 1, size=(200, 2))
    return np.tanh(latent @ rng.normal(size=(2, 6))).astype(np.float32)


@parametrize_with_checks([TiedAutoencoder(**PARAMS)])
def test_extension_passes_sklearn_checks(estimator, check):
    """Check that a kind written by overriding one seam is a full estimator."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_extension_trains_its_own_module(X):
    """Check that the kind's module is the one trained, and that it learns."""
    ae = TiedAutoencoder(**{**PARAMS, "max_iter": 30}).fit(X)
    assert isinstance(ae.module_, TiedModule)
    assert ae.loss_curve_[-1] < ae.loss_curve_[0]
    assert ae.transform(X).shape == (200, 2)


def test_extension_keeps_sklearn_behaviour(X):
    """Check clone, pickle, a pipeline, a grid search and pandas output."""
    ae = TiedAutoencoder(**PARAMS)
    assert clone(ae).get_params() == ae.get_params()
    y = (X[:, 0] > 0).astype(int)
    pipe = make_pipeline(ae, LogisticRegression())
    search = GridSearchCV(pipe, {"tiedautoencoder__n_components": [1, 2]}, cv=2)
    search.fit(X, y)
    assert search.best_params_["tiedautoencoder__n_components"] in (1, 2)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    Z = clone(ae).set_output(transform="pandas").fit(df).transform(df)
    assert list(Z.columns) == ["tiedautoencoder0", "tiedautoencoder1"]
    fitted = clone(ae).fit(X)
    assert_array_equal(
        pickle.loads(pickle.dumps(fitted)).transform(X), fitted.transform(X)
    )


def test_extension_without_init_linear_refuses_a_pca_start(X):
    """Check that init='pca' with a module that cannot start from PCA names
    the method it lacks, and leaves the estimator unfitted."""
    ae = TiedAutoencoder(**{**PARAMS, "init": "pca"})
    with pytest.raises(TypeError, match=r"init_linear.*Set init='random'"):
        ae.fit(X)
    assert not hasattr(ae, "net_")


def test_extension_saves_and_loads_when_named(X):
    """Check that skae.save writes the kind and skae.load builds it only when
    the caller names the class."""
    ae = TiedAutoencoder(**PARAMS).fit(X)
    buffer = io.BytesIO()
    skae.save(ae, buffer)
    buffer.seek(0)
    with pytest.raises(ValueError, match=r"load\(file, classes=\[...\]\)"):
        skae.load(buffer)
    buffer.seek(0)
    loaded = skae.load(buffer, classes=[TiedAutoencoder])
    assert type(loaded) is TiedAutoencoder
    assert_array_equal(loaded.transform(X), ae.transform(X))
