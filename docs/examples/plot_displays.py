"""
=======================================
Looking at autoencoders with displays
=======================================

:mod:`skae.plotting` draws what an autoencoder learned, in the style of
scikit-learn's displays: a ``from_estimator`` class method computes what is
drawn through the estimator's public methods, ``plot(ax=...)`` draws it and
returns the display, and the matplotlib objects stay on the display
(``ax_``, ``figure_``, and artists such as ``images_``, ``scatter_`` or
``lines_``) for further styling. This example shows each display on
scikit-learn's 8x8 digits.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# The models
# ----------
#
# A plain autoencoder with early stopping, a denoising autoencoder, an
# over-complete sparse autoencoder, a variational autoencoder with a
# Bernoulli likelihood (the pixels are in [0, 1]), and a classifier on the
# plain autoencoder's codes, trained on a fifth of the labels. A relative
# tolerance of 1% stops each autoencoder's training once its loss levels off.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits, load_wine
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skae import (
    AutoencoderClassifier,
    AutoencoderTransformer,
    DenoisingAutoencoder,
    SparseAutoencoder,
    VariationalAutoencoder,
)
from skae.plotting import (
    CodeActivationDisplay,
    LatentSpaceDisplay,
    LatentTraversalDisplay,
    ReconstructionDisplay,
    SampleGridDisplay,
    TrainingHistoryDisplay,
)

X, y = load_digits(return_X_y=True)
X = X / 16  # pixel intensities are 0 to 16
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
common = dict(
    hidden_layer_sizes=(128,),
    learning_rate_init=3e-3,
    max_iter=500,
    tol=1e-2,
    random_state=0,
)
ae = AutoencoderTransformer(n_components=8, early_stopping=True, **common)
ae.fit(X_train)
dae = DenoisingAutoencoder(n_components=32, noise_level=0.3, **common)
dae.fit(X_train)
sae = SparseAutoencoder(n_components=64, sparsity_weight=0.05, **common)
sae.fit(X_train)
vae = VariationalAutoencoder(n_components=4, likelihood="bernoulli", **common)
vae.fit(X_train)
# -1 marks the unlabeled rows; the frozen autoencoder is used as it is.
rng = np.random.RandomState(0)
y_semi = np.where(rng.uniform(size=len(y_train)) < 0.2, y_train, -1)
# About 270 labeled rows: batches of 64 give several steps an epoch (the default
# 256 would give one).
clf = AutoencoderClassifier(
    FrozenEstimator(ae), batch_size=64, early_stopping=True, random_state=0
)
clf.fit(X_train, y_semi)

# %%
# Reconstructions
# ---------------
#
# :class:`~skae.plotting.ReconstructionDisplay` shows test images above their
# reconstructions, here with the absolute error of each. ``indices`` chooses
# the rows; by default ``n_samples`` rows are drawn at random.
display = ReconstructionDisplay.from_estimator(
    ae, X_test, image_shape=(8, 8), n_samples=10, random_state=0, show_error=True
)
display.ax_.set_title("Test digits and their reconstructions (8 codes)")
plt.show()

# %%
# For a denoising autoencoder, ``X_noisy`` adds the noisy inputs, and the
# reconstructions are those of the noisy inputs (see also
# :ref:`sphx_glr_auto_examples_plot_denoising.py`).
X_noisy = np.clip(X_test + rng.normal(scale=0.3, size=X_test.shape), 0, 1)
display = ReconstructionDisplay.from_estimator(
    dae, X_test, X_noisy=X_noisy, image_shape=(8, 8), n_samples=10, random_state=0
)
display.ax_.set_title("Noisy test digits, denoised (32 codes)")
plt.show()

# %%
# The latent space
# ----------------
#
# :class:`~skae.plotting.LatentSpaceDisplay` draws each test image at its
# code, coloured by its label, which the autoencoder never saw. Codes of
# more than two values are projected on their first two principal
# components (``projection="pca"``); a code of two values is drawn as it is,
# and any estimator with ``fit_transform``, such as
# :class:`~sklearn.manifold.TSNE`, can project instead.
display = LatentSpaceDisplay.from_estimator(ae, X_test, y_test)
display.ax_.set_title("Codes of the test digits, by digit")
plt.show()

# %%
# Training history
# ----------------
#
# :class:`~skae.plotting.TrainingHistoryDisplay` draws the loss of each epoch
# and marks the best one. With early stopping (left) the validation loss
# chose the weights kept. A variational autoencoder's loss, the negative
# evidence lower bound, is the sum of a reconstruction term and a KL term,
# drawn as well (middle). The classifier's loss is the cross-entropy of the
# labeled rows (right). Displays share a figure through ``ax``.
fig, axes = plt.subplots(1, 3, figsize=(15, 4), layout="constrained")
for ax, model, title in zip(
    axes,
    [ae, vae, clf],
    [
        "AutoencoderTransformer, early stopping",
        "VariationalAutoencoder (nats per image)",
        "AutoencoderClassifier, early stopping",
    ],
    strict=True,
):
    TrainingHistoryDisplay.from_estimator(model, ax=ax)
    ax.set_title(title)
plt.show()

# %%
# Code activations
# ----------------
#
# :class:`~skae.plotting.CodeActivationDisplay` draws the distribution of all
# code values of the test images, each model's scaled by its largest, with
# the fraction of codes near zero in the legend. The plain autoencoder's
# codes spread around zero; the sparse autoencoder's ReLU codes are zero for
# most units of most images.
fig, ax = plt.subplots(figsize=(6.4, 4), layout="constrained")
CodeActivationDisplay.from_estimator(ae, X_test, ax=ax)
CodeActivationDisplay.from_estimator(sae, X_test, ax=ax)
ax.set_title("Code values of the test digits")
plt.show()

# %%
# Samples of a generative model
# -----------------------------
#
# A variational autoencoder is a generative model:
# :meth:`~skae.VariationalAutoencoder.sample` draws codes from the prior and
# decodes them, and :class:`~skae.plotting.SampleGridDisplay` shows a grid of
# them. With four codes and 1,257 training images, most samples are
# recognisable digits, some are blends of two.
display = SampleGridDisplay.from_estimator(
    vae, image_shape=(8, 8), n_samples=32, random_state=0
)
display.ax_.set_title("Digits drawn from the variational autoencoder")
plt.show()

# %%
# Latent traversal
# ----------------
#
# :class:`~skae.plotting.LatentTraversalDisplay` moves one code at a time from
# the prior's mean, in steps of its standard deviation, and decodes each
# step: each row shows what one code controls. Given data (``X``), it moves
# around the mean of the data's codes instead, which works for every
# autoencoder.
display = LatentTraversalDisplay.from_estimator(vae, image_shape=(8, 8))
display.ax_.set_title("One code at a time, the others at zero")
plt.show()

# %%
# Tabular data
# ------------
#
# Without ``image_shape``, :class:`~skae.plotting.ReconstructionDisplay`
# compares the features of a few rows: the original values (solid) against
# their reconstructions (dashed), in one colour per row. Here, 13 chemical
# measurements of wines, standardised, go through a code of 3 values; a
# DataFrame's column names label the features.
wine = load_wine(as_frame=True)
X_wine = StandardScaler().set_output(transform="pandas").fit_transform(wine.data)
wine_ae = AutoencoderTransformer(n_components=3, **common).fit(X_wine)
display = ReconstructionDisplay.from_estimator(
    wine_ae, X_wine, n_samples=3, random_state=1
)
display.ax_.set_title("Three wines and their reconstructions (3 codes)")
print(
    "Largest reconstruction error of those rows:",
    f"{np.abs(display.X_reconstructed['reconstructed'] - display.X).max():.2f}",
)
plt.show()
