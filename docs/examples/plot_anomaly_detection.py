"""
===============================================
Anomaly detection with the reconstruction error
===============================================

An autoencoder learns to reconstruct the kind of data it was trained on, and
reconstructs other data worse. Its
:meth:`~skae.AutoencoderTransformer.score_samples`, the negative
reconstruction error of each sample, is therefore an anomaly score: higher
means more normal.

Here an :class:`~skae.AutoencoderTransformer` is trained on the handwritten
digits of every class but one. Held-out images of the known classes should
score high, images of the left-out class low. The ROC AUC measures how well
the score separates the two.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# Data: train on every digit but one
# ----------------------------------
# Pixels are scaled to [0, 1]. A quarter of the normal images is held out, so
# that the normal images we score were not seen in training either.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from skae import AutoencoderTransformer

# 50 epochs are a deliberate budget here, not a failure to converge.

X, y = load_digits(return_X_y=True)
X = (X / 16).astype(np.float32)

LEFT_OUT = 7
normal = y != LEFT_OUT
X_train, X_normal = train_test_split(X[normal], test_size=0.25, random_state=0)
X_anomalous = X[~normal]
print(
    f"train: {len(X_train)}, held-out normal: {len(X_normal)}, "
    f"left-out digit {LEFT_OUT}: {len(X_anomalous)}"
)

# %%
# Fit the autoencoder and score
# -----------------------------
# A small code (8 values) forces the network to learn what the known digits
# have in common rather than to copy its input.


def make_autoencoder():
    """A small autoencoder that stops on its own once held-out error levels off."""
    return AutoencoderTransformer(
        n_components=8,
        hidden_layer_sizes=(32,),
        early_stopping=True,
        max_iter=300,
        batch_size=64,
        random_state=0,
    )


autoencoder = make_autoencoder().fit(X_train)
scores_normal = autoencoder.score_samples(X_normal)
scores_anomalous = autoencoder.score_samples(X_anomalous)

# roc_auc_score expects larger values for the positive class (anomalies), so
# it gets the reconstruction error, the negative of score_samples.
is_anomaly = np.r_[np.zeros(len(scores_normal)), np.ones(len(scores_anomalous))]
errors = -np.r_[scores_normal, scores_anomalous]
print(f"ROC AUC, left-out digit {LEFT_OUT}: {roc_auc_score(is_anomaly, errors):.3f}")

# %%
# Score histograms
# ----------------
# The left-out digit is reconstructed worse: its errors sit to the right.
fig, ax = plt.subplots(figsize=(6, 3.5))
bins = np.linspace(0, errors.max(), 40)
ax.hist(-scores_normal, bins=bins, alpha=0.6, density=True, label="known digits")
ax.hist(
    -scores_anomalous,
    bins=bins,
    alpha=0.6,
    density=True,
    label=f"left-out digit {LEFT_OUT}",
)
ax.set_xlabel("reconstruction error (-score_samples)")
ax.set_ylabel("density")
ax.legend()
fig.tight_layout()
plt.show()

# %%
# Every digit in turn
# -------------------
# Some digits are harder to tell apart from the others: a left-out 1 looks
# like a thin 7, and a 9 like a 4 or an 8.
for digit in range(10):
    normal = y != digit
    X_train, X_normal = train_test_split(X[normal], test_size=0.25, random_state=0)
    autoencoder = make_autoencoder().fit(X_train)
    errors = -np.r_[
        autoencoder.score_samples(X_normal), autoencoder.score_samples(X[~normal])
    ]
    is_anomaly = np.r_[np.zeros(len(X_normal)), np.ones(np.sum(~normal))]
    print(f"left-out digit {digit}: ROC AUC {roc_auc_score(is_anomaly, errors):.3f}")
