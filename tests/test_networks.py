"""A user's own torch network through the `network` parameter, for every kind."""

# SPDX-License-Identifier: BSD-3-Clause

import io
import pickle
import warnings

import numpy as np
import pytest
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.utils.estimator_checks import parametrize_with_checks
from torch import nn

import skae
from skae._registry import AUTOENCODERS
from tests.conftest import FAST_PARAMS

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

KINDS = (*AUTOENCODERS, skae.AutoencoderImputer)


class TinyNet(nn.Module):
    """A user's network: tanh MLP halves of one hidden layer of `width`."""

    def __init__(self, n_features, n_components, width=8):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(n_features, width), nn.Tanh(), nn.Linear(width, n_components)
        )
        self.decoder = nn.Sequential(
            nn.Linear(n_components, width), nn.Tanh(), nn.Linear(width, n_features)
        )


class Affine(nn.Linear):
    """A linear half that can start from a given affine map."""

    @torch.no_grad()
    def start_linear(self, weight, bias):
        self.weight.copy_(weight)
        self.bias.copy_(bias)


def linear_network(n_features, n_components):
    """A user's factory function: a linear autoencoder that can start from PCA."""
    network = nn.Module()
    network.encoder = Affine(n_features, n_components)
    network.decoder = Affine(n_components, n_features)
    return network


class Scale(nn.Module):
    """A layer skae.onnx has no writer for."""

    def forward(self, X):
        return 2 * X


class NoDecoder(nn.Module):
    """A module without a decoder."""

    def __init__(self, n_features, n_components):
        super().__init__()
        self.encoder = nn.Linear(n_features, n_components)


PARAMS = {**FAST_PARAMS, "n_components": 2, "network": TinyNet, "init": "random"}


@pytest.fixture
def X():
    """100 x 6 float32 data near a 2-d curved surface, in [0, 1]."""
    rng = np.random.RandomState(0)
    latent = rng.uniform(-1, 1, size=(100, 2))
    X = np.tanh(latent @ rng.normal(size=(2, 6)))
    return ((X + 1) / 2).astype(np.float32)


@parametrize_with_checks(
    [Kind(**PARAMS) for Kind in KINDS]
    + [
        # As in test_common: scikit-learn's checks label a binary problem {-1, 1}.
        skae.AutoencoderClassifier(
            skae.AutoencoderTransformer(**PARAMS),
            unlabeled_label=None,
            learning_rate_init=1e-2,
            batch_size=32,
            max_iter=40,
            random_state=0,
        )
    ]
)
def test_networks_user_module_passes_sklearn_checks(estimator, check):
    """Check scikit-learn's checks for every kind training a user's module."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.mark.parametrize("Kind", KINDS, ids=lambda cls: cls.__name__)
def test_networks_every_kind_trains_the_user_module(Kind, X):
    """Check that each kind trains the user's encoder and decoder (the
    variational kind one built for twice the codes), and that it learns."""
    ae = Kind(**{**PARAMS, "max_iter": 20, "network_params": {"width": 5}})
    ae.fit(X)
    assert ae.loss_curve_[-1] < ae.loss_curve_[0]
    linears = [m for m in ae.module_.modules() if isinstance(m, nn.Linear)]
    assert {m.out_features for m in linears} & {5}
    assert ae.module_.encode(torch.from_numpy(X)).shape == (100, 2)


def test_networks_classifier_pretrains_a_user_module(X):
    """Check that the classifier fine-tunes the user's pretrained encoder."""
    y = (X[:, 0] > 0.5).astype(int)
    clf = skae.AutoencoderClassifier(
        skae.AutoencoderTransformer(**PARAMS),
        learning_rate_init=1e-2,
        batch_size=32,
        max_iter=50,
        random_state=0,
    ).fit(X, y)
    assert isinstance(clf.encoder_[0], nn.Linear)
    assert clf.score(X, y) > 0.8


def test_networks_params_are_parameters(X):
    """Check that network_params clones, sets and grid-searches like any
    parameter, and that the network's arguments reach it."""
    ae = skae.AutoencoderTransformer(**PARAMS)
    assert clone(ae).get_params()["network"] is TinyNet
    search = GridSearchCV(
        ae, {"network_params": [{"width": 3}, {"width": 6}]}, cv=2
    ).fit(X)
    width = search.best_params_["network_params"]["width"]
    assert search.best_estimator_.encoder_[0].out_features == width


def test_networks_pca_start_needs_start_linear(X):
    """Check that init='pca' names the method a user's half lacks, and that
    halves with start_linear start exactly at PCA's reconstruction."""
    with pytest.raises(TypeError, match=r"start_linear.*Set init='random'"):
        skae.AutoencoderTransformer(**{**PARAMS, "init": "pca"}).fit(X)
    ae = skae.AutoencoderTransformer(
        **{**PARAMS, "max_iter": 1, "learning_rate_init": 1e-12}
    ).set_params(network=linear_network, init="pca")
    ae.fit(X)
    pca = PCA(2).fit(X)
    assert_allclose(
        ae.inverse_transform(ae.transform(X)),
        pca.inverse_transform(pca.transform(X)),
        atol=1e-4,
    )


@pytest.mark.parametrize(
    "network, error, match",
    [
        (TinyNet(6, 2), TypeError, "Pass the class"),
        (NoDecoder, TypeError, "has no decoder"),
        (lambda n_features, n_components: 3, TypeError, "not a torch.nn.Module"),
        ("resnet", ValueError, "network"),
    ],
)
def test_networks_refuses_what_it_cannot_train(network, error, match, X):
    """Check the errors for a module instance, a module without a decoder, a
    factory returning something else and an unknown family."""
    ae = skae.AutoencoderTransformer(**{**PARAMS, "network": network})
    with pytest.raises(error, match=match):
        ae.fit(X)
    assert not hasattr(ae, "net_")


def test_networks_pickle_and_save_by_allowed_name(X):
    """Check that a fitted user network pickles, and that skae.save stores it
    by name: skae.load builds it only from the networks the caller allows."""
    ae = skae.AutoencoderTransformer(**PARAMS).fit(X)
    assert_array_equal(pickle.loads(pickle.dumps(ae)).transform(X), ae.transform(X))
    buffer = io.BytesIO()
    skae.save(ae, buffer)
    buffer.seek(0)
    with pytest.raises(ValueError, match=r"tests\.test_networks\.TinyNet.*networks="):
        skae.load(buffer)
    buffer.seek(0)
    loaded = skae.load(buffer, networks=[TinyNet])
    assert loaded.network is TinyNet
    assert_array_equal(loaded.transform(X), ae.transform(X))


def test_networks_save_refuses_a_network_without_a_name(X):
    """Check that a local class cannot be saved, with an error pointing to
    pickle."""

    class Local(TinyNet):
        pass

    ae = skae.AutoencoderTransformer(**{**PARAMS, "network": Local}).fit(X)
    with pytest.raises(TypeError, match=r"has none.*use pickle"):
        skae.save(ae, io.BytesIO())


def test_networks_onnx_converts_torch_layers_and_names_the_others(X):
    """Check that a user network of torch layers exports to ONNX, and that a
    layer without a writer is named in the error."""
    onnxruntime = pytest.importorskip("onnxruntime")
    skl2onnx = pytest.importorskip("skl2onnx")
    import skae.onnx

    ae = skae.AutoencoderTransformer(**PARAMS).fit(X)
    model = skl2onnx.to_onnx(ae, X[:1])
    session = onnxruntime.InferenceSession(model.SerializeToString())
    assert_allclose(session.run(None, {"X": X})[0], ae.transform(X), rtol=1e-5)
    ae.module_.encoder.append(Scale())
    with pytest.raises(TypeError, match="no writer for Scale"):
        skl2onnx.to_onnx(ae, X[:1])
