"""
===========================================
Convolutional autoencoders for images
===========================================

Every autoencoder kind builds a convolutional network when it is told the
shape of the images its rows hold: ``image_shape=(height, width)``. The rows
stay flat, as scikit-learn transformers see images, so a convolutional
autoencoder drops into the same pipelines and searches as an MLP one. The
network is the MLP of ``hidden_layer_sizes`` whose decoded images
convolutions then correct: each of the ``conv_channels`` stages is a 3x3
convolution of stride 2 that halves the height and width, transposed
convolutions mirror them back, and their output is added to the decoder's.
Convolutions restore the local structure (edges, strokes) that the MLP
decoder blurs. With ``init="pca"`` (the default) the network starts exactly
at PCA's solution, both corrections at zero.

This example compares PCA, an MLP autoencoder and a convolutional one on
scikit-learn's 8x8 digits, for reconstructing clean images and for removing
noise. The benchmark on Fashion-MNIST (28x28), under a time budget, is in
the :ref:`benchmarks <benchmarks>`.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# Clean training images, noisy test images
# ----------------------------------------
#
# Pixels are scaled to [0, 1]. The test images also get Gaussian noise of
# standard deviation 0.3, clipped back to [0, 1].
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer, DenoisingAutoencoder
from skae.plotting import ReconstructionDisplay

# Few epochs keep the example fast; the autoencoders warn that they could
# train longer.
warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, _ = load_digits(return_X_y=True)
X = (X / 16).astype(np.float32)  # pixel intensities are 0 to 16
X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)
rng = np.random.RandomState(0)
X_noisy = np.clip(X_test + rng.normal(scale=0.3, size=X_test.shape), 0, 1)
X_noisy = X_noisy.astype(np.float32)

# %%
# The same code size, two networks
# --------------------------------
#
# Both autoencoders train for the same 30 epochs from PCA's solution, with
# hidden layers of 256 and 128 units; the convolutional one adds a stage of
# 32 channels (``conv_channels=(32,)``, the default) that corrects the
# decoded 8x8 digits from 4x4 feature maps.
n_components = 8
common = dict(max_iter=30, random_state=0)
mlp = dict(hidden_layer_sizes=(256, 128))
conv = dict(image_shape=(8, 8), **mlp)
models = {
    "PCA": PCA(n_components),
    "MLP": AutoencoderTransformer(n_components, **mlp, **common),
    "conv": AutoencoderTransformer(n_components, **conv, **common),
}
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train)
    X_reconstructed = model.inverse_transform(model.transform(X_test))
    error = np.mean((X_reconstructed - X_test) ** 2)
    print(f"{name:>5}: test MSE {error:.4f}, fit {time.perf_counter() - start:.1f} s")

# %%
# Eight test digits, as each model reconstructs them from 8 numbers, drawn by
# :class:`~skae.plotting.ReconstructionDisplay`.
ReconstructionDisplay.from_reconstructions(
    X_test,
    {
        name: model.inverse_transform(model.transform(X_test))
        for name, model in models.items()
    },
    indices=range(8),
    image_shape=(8, 8),
    imshow_kw={"vmin": 0, "vmax": 1},
)
plt.show()

# %%
# Denoising
# ---------
#
# A :class:`~skae.DenoisingAutoencoder` takes the same ``image_shape`` and
# ``conv_channels``. Both denoisers see Gaussian noise at the level of the test
# noise while training; the error is measured against the clean images.
denoisers = {
    "MLP denoising": DenoisingAutoencoder(
        n_components, noise_level=0.3, **mlp, **common
    ),
    "conv denoising": DenoisingAutoencoder(
        n_components, noise_level=0.3, **conv, **common
    ),
}
denoised = {}
for name, model in denoisers.items():
    model.fit(X_train)
    denoised[name] = model.inverse_transform(model.transform(X_noisy))
    psnr = 10 * np.log10(1 / np.mean((denoised[name] - X_test) ** 2))
    print(f"{name:>14}: PSNR {psnr:.2f} dB")

ReconstructionDisplay.from_reconstructions(
    X_test,
    denoised,
    X_noisy=X_noisy,
    indices=range(8),
    image_shape=(8, 8),
    imshow_kw={"vmin": 0, "vmax": 1},
)
plt.show()

# %%
# Which network wins depends on the images and on the training time. On 8x8
# digits there is little local structure for convolutions to restore, and the
# two networks reconstruct and denoise about equally well here. The
# Fashion-MNIST benchmark (28x28 images, each model trained for the same
# minutes on a CPU) measures the two against each other at every code size.
