"""ONNX export: onnxruntime gives what the estimators give, alone and in pipelines."""

# SPDX-License-Identifier: BSD-3-Clause

import copy
import importlib
import sys
from functools import cache

import numpy as np
import onnxruntime
import pytest
import skl2onnx
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from torch import nn

import skae.onnx
from skae import (
    AutoencoderClassifier,
    AutoencoderImputer,
    AutoencoderTransformer,
    SparseAutoencoder,
    VariationalAutoencoder,
)
from skae._modules.mlp import ACTIVATIONS
from skae._registry import AUTOENCODERS, ESTIMATORS
from skae.onnx import to_onnx_decoder

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# onnxruntime must agree with the estimator within this relative tolerance,
# entry by entry or relative to the largest entry (float32 sums in another
# order differ by about 1e-7 of the terms, so entries near zero need the latter).
RTOL = 1e-5
N_TRAIN = 600
BATCH_SIZES = [1, 1000]
# Kinds skae.onnx does not convert yet, each with the reason.
NOT_CONVERTED = {}
FAST_PARAMS = {
    "n_components": 3,
    "hidden_layer_sizes": (8,),
    "max_iter": 3,
    "random_state": 0,
}


def _make_data():
    """1,600 x 12 samples on a curved 3-d manifold, in [0, 5], with 3 classes.

    The first `N_TRAIN` rows are for fitting; the other 1,000 are held out.
    """
    rng = np.random.RandomState(0)
    latent = rng.uniform(-1, 1, size=(1600, 3))
    X = np.tanh(latent @ rng.normal(size=(3, 12))) + 0.01 * rng.normal(size=(1600, 12))
    X = 5 * (X - X.min(0)) / (X.max(0) - X.min(0))
    y = np.digitize(latent[:, 0] + latent[:, 1], [-0.5, 0.5])
    return X, y


X, Y = _make_data()
X_UNIT = X / 5  # in [0, 1], for the kinds fitted without a scaler


@cache
def _fitted(cls, **params):
    """A fitted autoencoder of kind `cls`, shared by the tests that only read it."""
    return cls(**{**FAST_PARAMS, **params}).fit(X_UNIT[:N_TRAIN].astype(np.float32))


def _held_out(n_rows, dtype, data=X_UNIT):
    """The first `n_rows` held-out rows of `data`, in `dtype`."""
    return data[N_TRAIN : N_TRAIN + n_rows].astype(dtype)


def _scrambled(estimator, seed=0):
    """A copy of `estimator` with every weight drawn anew, so that every path counts.

    A few epochs leave the corrections of ``init="pca"`` networks near zero;
    random weights make a wrong correction, activation or head show.
    """
    estimator = copy.deepcopy(estimator)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in estimator.module_.parameters():
            noise = torch.randn(parameter.shape, generator=generator)
            parameter.copy_(noise)
    return estimator


def _run(model, X):
    """The outputs of an ONNX model for input ``"X"``, from onnxruntime."""
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, {"X": X})


def _assert_close(actual, expected):
    """Check that onnxruntime's output matches the estimator's, dtype included."""
    assert actual.dtype == expected.dtype
    scale = np.abs(expected).max()
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=RTOL * scale)


@pytest.mark.parametrize("n_rows", BATCH_SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", AUTOENCODERS, ids=lambda cls: cls.__name__)
def test_transform_matches_estimator(cls, dtype, n_rows):
    """Check that an exported autoencoder encodes held-out rows as transform does."""
    autoencoder = _fitted(cls)
    X_test = _held_out(n_rows, dtype)
    # Converted from one row: the batch size is dynamic.
    model = skl2onnx.to_onnx(autoencoder, X_test[:1])
    (Z,) = _run(model, X_test)
    assert Z.shape == (n_rows, autoencoder.n_components_)
    _assert_close(Z, autoencoder.transform(X_test))


@pytest.mark.parametrize("n_rows", BATCH_SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", AUTOENCODERS, ids=lambda cls: cls.__name__)
def test_inverse_transform_matches_estimator(cls, dtype, n_rows):
    """Check that to_onnx_decoder's model decodes codes as inverse_transform does."""
    autoencoder = _fitted(cls)
    Z = autoencoder.transform(_held_out(n_rows, dtype))
    model = to_onnx_decoder(autoencoder, Z[:1])
    (X_reconstructed,) = _run(model, Z)
    assert X_reconstructed.shape == (n_rows, X.shape[1])
    _assert_close(X_reconstructed, autoencoder.inverse_transform(Z))


@cache
def _pipeline(cls, dtype):
    """MinMaxScaler -> autoencoder -> LogisticRegression, fitted in `dtype`."""
    pipeline = make_pipeline(MinMaxScaler(), cls(**FAST_PARAMS), LogisticRegression())
    return pipeline.fit(X[:N_TRAIN].astype(dtype), Y[:N_TRAIN])


@pytest.mark.parametrize("n_rows", BATCH_SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", AUTOENCODERS, ids=lambda cls: cls.__name__)
def test_pipeline_matches_estimator(cls, dtype, n_rows):
    """Check MinMaxScaler -> autoencoder -> LogisticRegression: labels, probabilities.

    skl2onnx converts the scikit-learn steps, skae the autoencoder.
    """
    pipeline = _pipeline(cls, dtype)
    X_test = _held_out(n_rows, dtype, data=X)
    model = skl2onnx.to_onnx(pipeline, X_test[:1], options={"zipmap": False})
    label, proba = _run(model, X_test)
    _assert_close(proba, pipeline.predict_proba(X_test))
    np.testing.assert_array_equal(label, pipeline.predict(X_test))


@cache
def _classifier(labels="int"):
    """A fitted classifier on the shared autoencoder, with int or str labels."""
    y = Y[:N_TRAIN] if labels == "int" else np.array(["a", "b", "c"])[Y[:N_TRAIN]]
    autoencoder = FrozenEstimator(_fitted(AutoencoderTransformer))
    classifier = AutoencoderClassifier(autoencoder, max_iter=3, random_state=0)
    return classifier.fit(X_UNIT[:N_TRAIN].astype(np.float32), y)


@pytest.mark.parametrize("labels", ["int", "str"])
@pytest.mark.parametrize("n_rows", BATCH_SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_classifier_matches_estimator(dtype, n_rows, labels):
    """Check AutoencoderClassifier's exported predict and predict_proba."""
    classifier = _classifier(labels)
    X_test = _held_out(n_rows, dtype)
    model = skl2onnx.to_onnx(classifier, X_test[:1], options={"zipmap": False})
    label, proba = _run(model, X_test)
    _assert_close(proba, classifier.predict_proba(X_test))
    np.testing.assert_array_equal(label, classifier.predict(X_test))


def test_classifier_options_follow_skl2onnx():
    """Check the zipmap default (one dict per row) and nocl (class indices)."""
    classifier = _classifier("str")
    X_test = _held_out(5, np.float32)
    label, proba = _run(skl2onnx.to_onnx(classifier, X_test[:1]), X_test)
    expected = classifier.predict_proba(X_test)
    assert [list(row) for row in proba] == [list(classifier.classes_)] * 5
    values = np.array([list(row.values()) for row in proba], dtype=np.float32)
    _assert_close(values, expected)
    options = {"zipmap": False, "nocl": True}
    label, _ = _run(skl2onnx.to_onnx(classifier, X_test[:1], options=options), X_test)
    np.testing.assert_array_equal(label, np.argmax(expected, axis=1))


@pytest.mark.parametrize("target_opset", [None, 17], ids=["latest", "opset17"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("init", ["pca", "random"])
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_and_init_converts(activation, init, dtype, target_opset):
    """Check each activation, both network layouts and opsets, with random weights.

    Opsets before 20 have no Gelu operator: GELU is then written as its formula.
    """
    autoencoder = _fitted(
        AutoencoderTransformer,
        activation=activation,
        init=init,
        output_activation="sigmoid",
    )
    autoencoder = _scrambled(autoencoder)
    X_test = _held_out(100, dtype)
    model = skl2onnx.to_onnx(autoencoder, X_test[:1], target_opset=target_opset)
    (Z,) = _run(model, X_test)
    _assert_close(Z, autoencoder.transform(X_test))
    model = to_onnx_decoder(autoencoder, Z[:1], target_opset=target_opset)
    _assert_close(_run(model, Z)[0], autoencoder.inverse_transform(Z))


@pytest.mark.parametrize(
    ("cls", "params"),
    [
        (SparseAutoencoder, {"sparsity": "kl"}),
        (VariationalAutoencoder, {"likelihood": "bernoulli"}),
        (VariationalAutoencoder, {"hidden_layer_sizes": (), "init": "random"}),
        (VariationalAutoencoder, {"hidden_layer_sizes": ()}),
        (VariationalAutoencoder, {"hidden_layer_sizes": (8, 4), "init": "random"}),
    ],
    ids=["sparse-kl", "vae-bernoulli", "vae-linear", "vae-linear-pca", "vae-deep"],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_kind_variants_convert(cls, params, dtype):
    """Check the kinds' own layouts: sigmoid codes, Bernoulli means, no hidden layer."""
    autoencoder = _scrambled(_fitted(cls, **params))
    X_test = _held_out(100, dtype)
    (Z,) = _run(skl2onnx.to_onnx(autoencoder, X_test[:1]), X_test)
    _assert_close(Z, autoencoder.transform(X_test))
    (X_reconstructed,) = _run(to_onnx_decoder(autoencoder, Z[:1]), Z)
    _assert_close(X_reconstructed, autoencoder.inverse_transform(Z))


@pytest.mark.parametrize("image_shape", [(3, 4), (2, 2, 3)])
@pytest.mark.parametrize("init", ["pca", "random"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cls", AUTOENCODERS, ids=lambda cls: cls.__name__)
def test_convolutional_networks_convert(cls, dtype, init, image_shape):
    """Check convolutional kinds (image_shape): an odd side is cropped back."""
    params = {"image_shape": image_shape, "conv_channels": (2, 3), "init": init}
    autoencoder = _scrambled(_fitted(cls, **params))
    X_test = _held_out(100, dtype)
    (Z,) = _run(skl2onnx.to_onnx(autoencoder, X_test[:1]), X_test)
    _assert_close(Z, autoencoder.transform(X_test))
    (X_reconstructed,) = _run(to_onnx_decoder(autoencoder, Z[:1]), Z)
    _assert_close(X_reconstructed, autoencoder.inverse_transform(Z))


def test_classifier_on_convolutional_encoder():
    """Check a classifier whose encoder is convolutional, in a pipeline."""
    autoencoder = _fitted(AutoencoderTransformer, image_shape=(3, 4))
    classifier = AutoencoderClassifier(
        FrozenEstimator(autoencoder), max_iter=2, random_state=0
    )
    pipeline = make_pipeline(MinMaxScaler(), classifier).fit(X[:N_TRAIN], Y[:N_TRAIN])
    X_test = _held_out(1000, np.float32, data=X)
    model = skl2onnx.to_onnx(pipeline, X_test[:1], options={"zipmap": False})
    label, proba = _run(model, X_test)
    _assert_close(proba, pipeline.predict_proba(X_test))
    np.testing.assert_array_equal(label, pipeline.predict(X_test))


def test_float64_graph_computes_in_float64():
    """Check that a float64 graph agrees to float64 rounding, as skae computes it.

    GELU is left out: its erf is computed in float32 (no float64 Erf kernel).
    """
    autoencoder = _scrambled(_fitted(AutoencoderTransformer, activation="tanh"))
    X_test = _held_out(100, np.float64)
    (Z,) = _run(skl2onnx.to_onnx(autoencoder, X_test[:1]), X_test)
    expected = autoencoder.transform(X_test)
    np.testing.assert_allclose(Z, expected, rtol=1e-12, atol=1e-12)


def test_integer_input_is_computed_in_float32():
    """Check that integer input is cast to float32, as skl2onnx's transformers do."""
    autoencoder = _fitted(AutoencoderTransformer)
    X_int = (_held_out(50, np.float64) * 3).round().astype(np.int64)
    (Z,) = _run(skl2onnx.to_onnx(autoencoder, X_int[:1]), X_int)
    _assert_close(Z, autoencoder.transform(X_int.astype(np.float32)))


def test_register_covers_every_estimator():
    """Check that every registered estimator kind has a converter, or a reason."""
    from skl2onnx._supported_operators import sklearn_operator_name_map

    skae.onnx.register()
    missing = {cls.__name__ for cls in ESTIMATORS} - {
        cls.__name__ for cls in sklearn_operator_name_map
    }
    assert missing <= set(NOT_CONVERTED), "add a converter in skae/onnx.py"


def test_to_onnx_decoder_refuses_what_it_cannot_convert():
    """Check the errors of to_onnx_decoder: wrong estimator, unfitted, wrong width."""
    with pytest.raises(TypeError, match="converts a skae autoencoder, but got PCA"):
        to_onnx_decoder(PCA(2).fit(X))
    with pytest.raises(NotFittedError):
        to_onnx_decoder(AutoencoderTransformer())
    with pytest.raises(ValueError, match="X has 5 features, but the decoder takes 3"):
        to_onnx_decoder(_fitted(AutoencoderTransformer), np.zeros((1, 5)))


def test_unknown_module_raises_type_error():
    """Check that a torch module without an ONNX writer is named in a TypeError."""
    autoencoder = copy.deepcopy(_fitted(AutoencoderTransformer))
    autoencoder.module_.encoder = nn.Sequential(nn.Linear(12, 3), nn.Softplus())
    with pytest.raises(TypeError, match="cannot convert the torch module Softplus"):
        skl2onnx.to_onnx(autoencoder, X[:1].astype(np.float32))


def test_missing_extra_raises_import_error(monkeypatch):
    """Check that importing skae.onnx without skl2onnx says what to install."""
    monkeypatch.setitem(sys.modules, "skl2onnx", None)
    monkeypatch.delitem(sys.modules, "skae.onnx")
    with pytest.raises(ImportError, match=r"pip install 'skae\[onnx\]'"):
        importlib.import_module("skae.onnx")


def _with_gaps(X, seed=0):
    """`X` with its third feature a category coded 0, 2 or 4, its sixth one
    coded 10 or 11, and 20% of its entries removed at random."""
    X = X.copy()
    X[:, 2] = 2 * np.digitize(X[:, 2], [1.5, 3])
    X[:, 5] = 10 + (X[:, 5] > 2.5)
    rng = np.random.RandomState(seed)
    return np.where(rng.rand(*X.shape) < 0.2, np.nan, X)


X_GAPS = _with_gaps(X)

IMPUTER_PARAMS = {
    "gaussian": {},
    "categories": {"categorical_features": [2, 5]},
    "mean-indicator": {"initial_strategy": "mean", "add_indicator": True},
    "conv": {"image_shape": (3, 4), "conv_channels": (2, 3)},
}


@cache
def _fitted_imputer(name, dtype):
    """An imputer of `IMPUTER_PARAMS[name]` fitted on the rows with gaps, in
    `dtype`, its network's weights drawn anew (see `_scrambled`)."""
    params = {**FAST_PARAMS, "n_components": 6, **IMPUTER_PARAMS[name]}
    imputer = AutoencoderImputer(**params)
    return _scrambled(imputer.fit(X_GAPS[:N_TRAIN].astype(dtype)))


@pytest.mark.parametrize("n_rows", BATCH_SIZES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", sorted(IMPUTER_PARAMS))
def test_imputer_matches_transform(name, dtype, n_rows):
    """Check that an exported imputer fills held-out rows as transform does:
    the Gaussian fill, categories (numbers), the indicator, a conv network."""
    imputer = _fitted_imputer(name, dtype)
    X_test = X_GAPS[N_TRAIN : N_TRAIN + n_rows].astype(dtype)
    (X_imputed,) = _run(skl2onnx.to_onnx(imputer, X_test[:1]), X_test)
    expected = imputer.transform(X_test)
    assert X_imputed.shape == expected.shape
    _assert_close(X_imputed, expected)


def test_imputer_placeholder_and_empty_feature():
    """Check a placeholder for missing values and a feature empty at fit,
    dropped or kept as zeros."""
    X_train = np.nan_to_num(X_GAPS[:N_TRAIN], nan=-1.0).astype(np.float32)
    X_train[:, 7] = -1
    X_test = np.nan_to_num(X_GAPS[N_TRAIN:], nan=-1.0).astype(np.float32)
    for keep in (False, True):
        imputer = AutoencoderImputer(
            **FAST_PARAMS, missing_values=-1, keep_empty_features=keep
        ).fit(X_train)
        (X_imputed,) = _run(skl2onnx.to_onnx(imputer, X_test[:1]), X_test)
        assert X_imputed.shape == (1000, 12 if keep else 11)
        _assert_close(X_imputed, imputer.transform(X_test))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_imputer_in_a_pipeline_before_a_classifier(dtype):
    """Check imputer -> LogisticRegression exported whole: labels, probabilities."""
    imputer = AutoencoderImputer(**FAST_PARAMS, categorical_features=[2, 5])
    pipeline = make_pipeline(imputer, LogisticRegression(max_iter=500))
    pipeline.fit(X_GAPS[:N_TRAIN].astype(dtype), Y[:N_TRAIN])
    X_test = X_GAPS[N_TRAIN:].astype(dtype)
    model = skl2onnx.to_onnx(pipeline, X_test[:1], options={"zipmap": False})
    label, proba = _run(model, X_test)
    _assert_close(proba, pipeline.predict_proba(X_test))
    np.testing.assert_array_equal(label, pipeline.predict(X_test))


def test_imputer_refuses_draws_and_text_categories():
    """Check that draws and categories that are not numbers are refused."""
    X_train = X_GAPS[:N_TRAIN].astype(np.float32)
    imputer = AutoencoderImputer(**FAST_PARAMS, sample_posterior=True).fit(X_train)
    with pytest.raises(TypeError, match="not one with sample_posterior=True"):
        skl2onnx.to_onnx(imputer, X_train[:1])
    X_text = X_train.astype(object)
    X_text[:, 2] = np.array(["a", "b", "c", None], dtype=object)[
        np.nan_to_num(X_train[:, 2], nan=6).astype(int) // 2
    ]
    imputer = AutoencoderImputer(**FAST_PARAMS, categorical_features=[2]).fit(X_text)
    with pytest.raises(TypeError, match="encode them as numbers before the imputer"):
        skl2onnx.to_onnx(imputer, X_train[:1])
