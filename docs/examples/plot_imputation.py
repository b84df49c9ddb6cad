"""
===============================================
Filling in missing pixels with an autoencoder
===============================================

:class:`~skae.AutoencoderImputer` learns to fill in missing values by hiding
some of the values it does see and reconstructing them, and fills each
missing value with the network's reconstruction of its row. This example
removes 30% of the pixels of the digits at random and fills them in with
scikit-learn's :class:`~sklearn.impute.SimpleImputer` (the mean of each
pixel), its :class:`~sklearn.impute.KNNImputer` (the nearest images) and
skae's imputer, then compares the filled images with the originals.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# Digits with holes
# -----------------
#
# Pixels are scaled to [0, 1]. Each pixel of the training and the test images
# is removed with probability 0.3, independently of the others (missing
# completely at random), and marked with NaN.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.impute import KNNImputer, SimpleImputer
from sklearn.model_selection import train_test_split

from skae import AutoencoderImputer

X, _ = load_digits(return_X_y=True)
X = X / 16  # pixel intensities are 0 to 16
X_train, X_test = train_test_split(X, test_size=0.25, random_state=0)
rng = np.random.RandomState(0)
missing_train = rng.rand(*X_train.shape) < 0.3
missing_test = rng.rand(*X_test.shape) < 0.3
X_train_holes = np.where(missing_train, np.nan, X_train)
X_test_holes = np.where(missing_test, np.nan, X_test)

# %%
# Three imputers
# --------------
#
# Each imputer is fitted on the training images with holes and fills the
# holes of the test images. Pixels share their units, so skae divides them
# all by one standard deviation (``scaling="global"``) instead of each by its
# own, which would magnify the border pixels that are nearly always 0. Early
# stopping holds out a tenth of the training images, hides some of their
# pixels and keeps the network that filled them in best; training stops by
# itself once that error has not improved for ``n_iter_no_change`` epochs.
# For 64 pixels a code of 16 values is enough (the default, 64, is for wider
# data), and trains faster. ``image_shape=(8, 8)`` makes the network
# convolutional, so that a hole is filled from its neighbouring pixels too.
imputers = {
    "mean (SimpleImputer)": SimpleImputer(),
    "nearest images (KNNImputer)": KNNImputer(),
    "skae (AutoencoderImputer)": AutoencoderImputer(
        n_components=16,
        image_shape=(8, 8),
        scaling="global",
        early_stopping=True,
        n_iter_no_change=30,
        max_iter=500,
        random_state=0,
    ),
}
filled = {}
for name, imputer in imputers.items():
    imputer.fit(X_train_holes)
    filled[name] = imputer.transform(X_test_holes)
    errors = (filled[name] - X_test)[missing_test]
    print(f"{name:<28s} RMSE of the filled pixels: {np.sqrt(np.mean(errors**2)):.3f}")
print(f"skae trained {imputers['skae (AutoencoderImputer)'].n_iter_} epochs")

# %%
# The filled images
# -----------------
#
# The first row shows test images, the second the same images with their
# holes (in red), and each following row the holes filled in by one imputer.
# The mean fills each hole with that pixel's average grey, whatever the
# digit; the nearest images and the autoencoder fill in strokes.
shown = np.arange(8)
rows = {"original": X_test[shown], "with holes": X_test_holes[shown]}
rows.update({name: images[shown] for name, images in filled.items()})
cmap = plt.get_cmap("gray_r").with_extremes(bad="tab:red")
fig, axes = plt.subplots(len(rows), len(shown), figsize=(8, 6.5))
for axes_row, (name, images) in zip(axes, rows.items(), strict=True):
    for ax, image in zip(axes_row, images, strict=True):
        ax.imshow(np.ma.masked_invalid(image.reshape(8, 8)), cmap=cmap, vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    axes_row[0].set_ylabel(name.split(" (")[0], rotation=0, ha="right", va="center")
fig.suptitle("Digits with 30% of the pixels removed, filled in by each imputer")
fig.tight_layout()
plt.show()
