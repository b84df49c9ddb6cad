"""Convolutional networks (image_shape) for every autoencoder kind."""

# SPDX-License-Identifier: BSD-3-Clause

import io
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from torch import nn

import skae
from skae._modules.conv import ConvAutoencoder
from skae._registry import AUTOENCODERS
from tests.conftest import FAST_PARAMS

CONV = {"image_shape": (6, 5), "conv_channels": (4, 8), "batch_size": 32}


@pytest.fixture(scope="module")
def images():
    """120 grey 6x5 images (flat rows of 30 pixels in [0, 1]): blurred blobs."""
    rng = np.random.RandomState(0)
    rows, cols = np.mgrid[0:6, 0:5]
    centres = rng.uniform([0, 0], [6, 5], size=(120, 2))
    widths = rng.uniform(0.8, 2.0, size=(120, 1, 1))
    distance = (rows - centres[:, :1, None]) ** 2 + (cols - centres[:, 1:, None]) ** 2
    return np.exp(-distance / widths**2).reshape(120, 30).astype(np.float32)


@pytest.fixture(params=AUTOENCODERS, ids=lambda cls: cls.__name__)
def Estimator(request):
    """Each autoencoder kind."""
    return request.param


@parametrize_with_checks(
    [
        Estimator(**{**FAST_PARAMS, "image_shape": (-1, 1), "conv_channels": (2,)})
        for Estimator in (*AUTOENCODERS, skae.AutoencoderImputer)
    ]
)
def test_conv_passes_sklearn_checks(estimator, check):
    """Check scikit-learn's checks with a convolutional network; a -1 side of
    image_shape takes the checks' changing numbers of features."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_conv_builds_a_convolutional_network(Estimator, images):
    """Check that image_shape selects convolutions, rows stay flat, and both
    (H, W) and (C, H, W), odd sides included, come back whole."""
    for image_shape in [(6, 5), (1, 6, 5)]:
        ae = Estimator(4, **{**CONV, "image_shape": image_shape}, max_iter=2)
        ae.fit(images)
        assert any(isinstance(m, torch.nn.Conv2d) for m in ae.module_.modules())
        Z = ae.transform(images)
        assert Z.shape == (120, 4)
        assert ae.inverse_transform(Z).shape == (120, 30)


def test_conv_refuses_a_shape_that_does_not_fit(Estimator, images):
    """Check that features that do not make the image give an error naming
    both, and leave the estimator unfitted."""
    ae = Estimator(4, **{**CONV, "image_shape": (5, 5)})
    with pytest.raises(ValueError, match=r"image_shape=\(5, 5\) does not fit the 30"):
        ae.fit(images)
    assert not hasattr(ae, "net_")
    with pytest.raises(ValueError, match="image_shape must be"):
        Estimator(4, image_shape=(0, 30)).fit(images)


def test_conv_pca_start_is_never_worse_than_pca(images):
    """Check that init='pca' starts the convolutional network from PCA's
    solution: after training its error on the training data is below PCA's."""
    pca = PCA(4).fit(images)
    pca_error = np.mean((pca.inverse_transform(pca.transform(images)) - images) ** 2)
    module = ConvAutoencoder((1, 6, 5), 4, channels=(4,), linear_start=True)
    centred = torch.from_numpy(images - images.mean(0))
    components = torch.from_numpy(pca.components_)
    module.init_linear(
        components, torch.from_numpy(images.mean(0)), centred @ components.T
    )
    with torch.no_grad():
        X_reconstructed, _ = module(torch.from_numpy(images))
    start_error = torch.mean((X_reconstructed - torch.from_numpy(images)) ** 2)
    assert abs(float(start_error) - pca_error) < 1e-6
    ae = skae.AutoencoderTransformer(4, **CONV, max_iter=20, random_state=0)
    assert ae.fit(images).reconstruction_error_ <= pca_error


def test_conv_denoiser_trains_with_every_noise(images):
    """Check that the convolutional denoiser takes each kind of noise."""
    baseline = images.var(axis=0).sum() / images.shape[1]  # the mean image's
    for noise in ("gaussian", "masking", "salt_and_pepper"):
        dae = skae.DenoisingAutoencoder(4, noise=noise, **CONV, max_iter=3)
        assert dae.fit(images).reconstruction_error_ < baseline


def test_conv_in_pipelines_searches_pandas_and_files(images):
    """Check a pipeline after MinMaxScaler, a grid search, pandas output,
    partial_fit and an exact save/load round trip."""
    y = (images[:, :15].sum(1) > images[:, 15:].sum(1)).astype(int)
    ae = skae.AutoencoderTransformer(4, **CONV, max_iter=2, random_state=0)
    pipe = make_pipeline(MinMaxScaler(), ae, LogisticRegression())
    search = GridSearchCV(pipe, {"autoencodertransformer__n_components": [2, 4]}, cv=2)
    search.fit(images, y)
    df = pd.DataFrame(images, columns=[f"p{i}" for i in range(30)])
    Z = ae.set_output(transform="pandas").fit(df).transform(df)
    assert list(Z.columns) == [f"autoencodertransformer{i}" for i in range(4)]
    ae.set_output(transform="default").partial_fit(images)
    assert ae.n_iter_ == 3
    buffer = io.BytesIO()
    skae.save(ae, buffer)
    buffer.seek(0)
    assert_array_equal(skae.load(buffer).transform(images), ae.transform(images))


def test_conv_corrects_the_mlp_decoder_with_convolutions(images):
    """Check the network's design: the MLP of hidden_layer_sizes, then the
    conv_channels stages over its decoded images, mirrored back."""
    ae = skae.AutoencoderTransformer(
        4,
        image_shape=(6, 5),
        hidden_layer_sizes=(7,),
        conv_channels=(3, 5),
        max_iter=1,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ae.fit(images)
    widths = {m.out_features for m in ae.module_.modules() if isinstance(m, nn.Linear)}
    assert 7 in widths
    convolutions = [
        (type(m).__name__, m.out_channels)
        for m in ae.module_.decoder.convolutions
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)
    ]
    assert convolutions == [
        ("Conv2d", 3),
        ("Conv2d", 5),
        ("ConvTranspose2d", 3),
        ("ConvTranspose2d", 1),
    ]
