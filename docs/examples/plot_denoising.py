"""
===========================================
Removing noise with a denoising autoencoder
===========================================

:class:`~skae.DenoisingAutoencoder` corrupts each training batch and learns
to reconstruct the clean batch, so that the network captures how pixels
depend on each other instead of copying them. Passing noisy images through
the fitted network, ``inverse_transform(transform(X_noisy))``, then cleans
them. This example compares it with PCA and with a plain
:class:`~skae.AutoencoderTransformer` of the same size on digits with added
Gaussian noise.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# Clean training images, noisy test images
# ----------------------------------------
#
# The models are trained on clean images scaled to [0, 1]. The test images get
# Gaussian noise of standard deviation 0.3, clipped back to [0, 1].

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer, DenoisingAutoencoder
from skae.plotting import ReconstructionDisplay

# Few epochs keep the example fast; the autoencoders warn that they could
# train longer.

X, _ = load_digits(return_X_y=True)
X = X / 16  # pixel intensities are 0 to 16
X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)
rng = np.random.RandomState(0)
X_noisy = np.clip(X_test + rng.normal(scale=0.3, size=X_test.shape), 0, 1)

# %%
# Three models with a code of 32 values
# -------------------------------------
#
# The two autoencoders share their architecture; their sigmoid output keeps
# reconstructions in [0, 1]. Only the denoising one sees noise while training,
# at the level of the test noise. The noise is drawn from `random_state`, so
# the fit is reproducible.
common = dict(
    n_components=32,
    hidden_layer_sizes=(128,),
    output_activation="sigmoid",
    early_stopping=True,
    max_iter=300,
    random_state=0,
)
models = {
    "PCA": PCA(n_components=32).fit(X_train),
    "autoencoder": AutoencoderTransformer(**common).fit(X_train),
    "denoising autoencoder": DenoisingAutoencoder(
        noise="gaussian", noise_level=0.3, **common
    ).fit(X_train),
}

# %%
# Denoising the test images
# -------------------------
#
# Each model reconstructs the noisy images from their codes. The error is
# measured against the clean images. PCA and the plain autoencoder remove some
# noise, because a 32-value code cannot hold all of it, but both were trained
# to reproduce their input as faithfully as they can, noise included. The
# denoising autoencoder was trained for exactly this task and comes closest
# to the clean images.
reconstructions = {
    name: model.inverse_transform(model.transform(X_noisy))
    for name, model in models.items()
}
print(f"{'noisy input':>22}: MSE {np.mean((X_noisy - X_test) ** 2):.4f}")
for name, X_denoised in reconstructions.items():
    print(f"{name:>22}: MSE {np.mean((X_denoised - X_test) ** 2):.4f}")

# %%
# Eight test digits: clean, noisy, and denoised by each model, drawn by
# :class:`~skae.plotting.ReconstructionDisplay` from the reconstructions
# computed above (``from_estimator`` draws a single model's).
ReconstructionDisplay.from_reconstructions(
    X_test,
    reconstructions,
    X_noisy=X_noisy,
    indices=range(8),
    image_shape=(8, 8),
    imshow_kw={"vmin": 0, "vmax": 1},
)
plt.show()

# %%
# The clean images are unchanged
# ------------------------------
#
# Noise is only ever added while training: `transform`, `inverse_transform`
# and `score` see the data as given. On clean images, the denoising
# autoencoder reconstructs somewhat less precisely than the plain one: it
# gave up a little fidelity for robustness.
for name in ["autoencoder", "denoising autoencoder"]:
    print(f"{name:>22}: clean test MSE {-models[name].score(X_test):.4f}")
