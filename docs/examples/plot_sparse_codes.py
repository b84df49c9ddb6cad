"""
======================================
Sparse codes with a sparse autoencoder
======================================

:class:`~skae.SparseAutoencoder` adds a penalty on the code to the
reconstruction error, so that each sample activates only a few code units.
With ``sparsity="l1"`` (the default) the code passes through a ReLU and its
mean absolute value is penalised, which sets many codes to exactly zero. This
example fits an over-complete code (128 units for 64 pixels) to the digits
with increasing `sparsity_weight`, and shows the trade-off between sparsity
and reconstruction error, and what the units encode.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# Fitting codes of increasing sparsity
# ------------------------------------
#
# ``sparsity_weight=0`` is the same network without the penalty; its ReLU code
# is already partly zero. The reconstruction error is measured on held-out
# images, the sparsity of the code by the number of active (non-zero) units
# per image.

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skae import SparseAutoencoder
from skae.plotting import CodeActivationDisplay

# Early stopping ends each fit once the error on a held-out tenth of the
# training images, that of the averaged weights, stops falling.

X, _ = load_digits(return_X_y=True)
X = X / 16  # pixel intensities are 0 to 16
X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)

weights = [0.0, 1e-3, 1e-2, 1e-1]
models, errors, active = {}, [], []
for weight in weights:
    sae = SparseAutoencoder(
        n_components=128,
        sparsity="l1",
        sparsity_weight=weight,
        hidden_layer_sizes=(128,),
        output_activation="sigmoid",
        early_stopping=True,
        max_iter=500,
        random_state=0,
    ).fit(X_train)
    Z = sae.transform(X_test)
    models[weight] = sae
    errors.append(-sae.score(X_test))
    active.append((Z > 0).sum(axis=1).mean())
    print(
        f"sparsity_weight={weight:<6g} test MSE {errors[-1]:.4f}, "
        f"{active[-1]:5.1f} of 128 units active per image, "
        f"{(Z == 0).mean():.0%} of the codes exactly zero, "
        f"{(Z.max(axis=0) == 0).sum()} units never active"
    )

# %%
# The trade-off
# -------------
#
# A mild penalty leaves the reconstruction error about where it was (it can
# even act as a regulariser) while switching off many units; a strong one
# describes each image with a handful of units at a clearly higher error. The
# default, ``1e-3``, is on the cautious side: raise `sparsity_weight` until
# the error starts to climb.
fig, ax = plt.subplots(figsize=(6, 4))
ax.plot(active, errors, marker="o")
for weight, n_active, error in zip(weights, active, errors, strict=True):
    ax.annotate(
        f"{weight:g}", (n_active, error), textcoords="offset points", xytext=(5, 5)
    )
ax.set_xlabel("active units per test image (of 128)")
ax.set_ylabel("test reconstruction MSE")
ax.set_title("Sparsity against reconstruction error, by sparsity_weight")
fig.tight_layout()
plt.show()

# %%
# What sparse codes look like
# ---------------------------
#
# The codes of the first 40 test images, one row per image and one column per
# unit; white is exactly zero. Without the penalty, the ReLU silences some
# units altogether, but most of the others are on for every image. With the
# penalty, each image switches on its own few units, and a strong penalty
# leaves more units off for every image.
shown = [0.0, 1e-2, 1e-1]
fig, axes = plt.subplots(1, len(shown), figsize=(10, 3.2), layout="constrained")
for ax, weight in zip(axes, shown, strict=True):
    Z = models[weight].transform(X_test[:40])
    ax.imshow(Z, cmap="Greys", aspect="auto", interpolation="nearest")
    ax.set_title(f"sparsity_weight={weight:g}")
    ax.set_xlabel("code unit")
axes[0].set_ylabel("test image")
plt.show()

# %%
# The distribution of the code values
# -----------------------------------
#
# :class:`~skae.plotting.CodeActivationDisplay` sums the codes of all test
# images up: the density of the code values, each model's scaled by its
# largest, and the fraction of codes near zero in the legend. The penalty
# piles the codes up at zero and thins out the rest.
fig, ax = plt.subplots(figsize=(6.4, 4), layout="constrained")
for weight in shown:
    CodeActivationDisplay.from_estimator(
        models[weight], X_test, name=f"sparsity_weight={weight:g}", ax=ax
    )
ax.set_xlim(-0.05, 1)  # ReLU codes are never negative
ax.set_title("Code values of the test images")
plt.show()
