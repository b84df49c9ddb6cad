"""
=================================================
PCA versus an autoencoder on handwritten digits
=================================================

:class:`~skae.AutoencoderTransformer` is a nonlinear counterpart of
:class:`~sklearn.decomposition.PCA`: both compress each sample into a code of
``n_components`` values and map codes back to the input space. This example
fits both to scikit-learn's 8x8 digits and compares their two-dimensional
codes, their reconstruction error as the code grows, and how well a logistic
regression classifies the codes.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# The data
# --------
#
# 1,797 grey-scale images of 8x8 pixels, scaled to [0, 1] with a
# :class:`~sklearn.preprocessing.MinMaxScaler` fitted on the training images.
# Every score below is measured on held-out test images.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler

from skae import AutoencoderTransformer
from skae.plotting import LatentSpaceDisplay

# Few epochs keep the example fast; the autoencoders warn that they could
# train longer.

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
scaler = MinMaxScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)

# %%
# Fitting PCA and autoencoders of several sizes
# ---------------------------------------------
#
# The same code sizes for both. A small network and 100 epochs are enough for
# 64 pixels. ``PCA.score`` is a log-likelihood, so the reconstruction error is
# computed directly, the same way for both models.
sizes = [2, 4, 8, 16]
models = {"PCA": {}, "autoencoder": {}}
for k in sizes:
    models["PCA"][k] = PCA(n_components=k).fit(X_train)
    models["autoencoder"][k] = AutoencoderTransformer(
        n_components=k,
        hidden_layer_sizes=(128, 64),
        early_stopping=True,
        max_iter=300,
        random_state=0,
    ).fit(X_train)


def reconstruction_error(model, X):
    """Mean squared error between `X` and its reconstruction."""
    return np.mean((model.inverse_transform(model.transform(X)) - X) ** 2)


def accuracy(model):
    """Test accuracy of a logistic regression trained on the codes."""
    clf = LogisticRegression(max_iter=1000)
    clf.fit(model.transform(X_train), y_train)
    return clf.score(model.transform(X_test), y_test)


errors = {
    name: [reconstruction_error(m[k], X_test) for k in sizes]
    for name, m in models.items()
}
accuracies = {name: [accuracy(m[k]) for k in sizes] for name, m in models.items()}
print("n_components | test MSE: PCA, autoencoder | accuracy: PCA, autoencoder")
for i, k in enumerate(sizes):
    print(
        f"{k:12d} | {errors['PCA'][i]:13.4f}, {errors['autoencoder'][i]:.4f}"
        f" | {accuracies['PCA'][i]:13.2f}, {accuracies['autoencoder'][i]:.2f}"
    )

# %%
# Two-dimensional codes
# ---------------------
#
# With two components, PCA keeps the two directions of largest variance and
# several digits overlap. The autoencoder bends its code to the data and
# separates more of the classes, although it never saw the labels.
# :class:`~skae.plotting.LatentSpaceDisplay` draws any transformer's codes,
# PCA's included, coloured by digit.
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), layout="constrained")
for ax, name in zip(axes, models, strict=True):
    display = LatentSpaceDisplay.from_estimator(
        models[name][2], X_test, y_test, ax=ax, scatter_kw={"s": 8}
    )
    ax.set_title(f"{name}, 2 components\ntest MSE {errors[name][0]:.4f}")
    ax.set_xticks([])
    ax.set_yticks([])
# One legend of the digits is enough: the right panel's.
axes[0].get_legend().remove()
display.legend_.set_title("digit")
plt.show()

# %%
# Reconstruction error and accuracy against the code size
# -------------------------------------------------------
#
# For small codes, where a nonlinear map makes the most difference, the
# autoencoder reconstructs held-out digits better than PCA and its codes are
# more useful to the classifier. As the code grows, PCA catches up and
# overtakes this briefly trained network: with 16 of 64 components, a linear
# projection keeps nearly everything, and the autoencoder would need more
# epochs (a larger `max_iter`) to match it. Where PCA's small codes suffice,
# PCA is the cheaper choice.
fig, (ax_error, ax_accuracy) = plt.subplots(1, 2, figsize=(10, 4))
for name, marker in zip(models, ["o", "s"], strict=True):
    ax_error.plot(sizes, errors[name], marker=marker, label=name)
    ax_accuracy.plot(sizes, accuracies[name], marker=marker, label=name)
for ax in (ax_error, ax_accuracy):
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(k) for k in sizes])
    ax.set_xlabel("n_components")
    ax.legend()
ax_error.set_ylabel("test reconstruction MSE")
ax_accuracy.set_ylabel("test accuracy of a logistic regression")
fig.tight_layout()
plt.show()

# %%
# In a pipeline
# -------------
#
# The autoencoder drops in wherever PCA stands, for instance between a scaler
# and a classifier. :ref:`sphx_glr_auto_examples_plot_latent_size_search.py`
# shows how to choose `n_components` in such a pipeline.
