"""
=======================================
Choosing the size of the code by search
=======================================

How many components should the code have? The autoencoder's own `score`, the
negative reconstruction error, cannot tell: a larger code always reconstructs
at least as well, so a search scored by it picks the largest size in the
grid. This example searches `n_components` in a pipeline that ends with a
classifier, scores the candidates by the classifier's accuracy, and uses
:func:`~skae.model_selection.smallest_within` to pick the smallest code whose
accuracy is within 3% of the best.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# A pipeline and two scores
# -------------------------
#
# The digits are scaled to [0, 1], encoded and classified by a logistic
# regression. The search records two scores for every candidate: the
# pipeline's accuracy, and the autoencoder's `score` on the scaled images,
# which is what a search over the autoencoder alone would select on.

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skae import AutoencoderTransformer
from skae.model_selection import smallest_within

# Few epochs keep the example fast; the autoencoders warn that they could
# train longer.

X, y = load_digits(return_X_y=True)
pipe = make_pipeline(
    MinMaxScaler(),
    AutoencoderTransformer(
        hidden_layer_sizes=(128,), early_stopping=True, max_iter=300, random_state=0
    ),
    LogisticRegression(max_iter=1000),
)


def reconstruction_score(pipe, X, y=None):
    """The autoencoder's score (negative reconstruction MSE) on scaled `X`."""
    scaler, autoencoder = pipe[0], pipe[1]
    return autoencoder.score(scaler.transform(X))


# %%
# The search
# ----------
#
# ``refit=smallest_within(0.03, scoring="accuracy")`` chooses, among the
# candidates whose mean accuracy is within 3% of the best candidate's, the one
# with the smallest `n_components`, and refits it on all the data. How much
# accuracy a smaller code is worth is the user's call: `tolerance` sets it
# (``tolerance_mode="std"`` measures it in standard deviations over the
# folds instead).
sizes = [2, 4, 8, 16, 32]
search = GridSearchCV(
    pipe,
    {"autoencodertransformer__n_components": sizes},
    scoring={"accuracy": "accuracy", "reconstruction": reconstruction_score},
    refit=smallest_within(0.03, scoring="accuracy"),
    cv=3,
)
search.fit(X, y)

results = search.cv_results_
accuracy = results["mean_test_accuracy"]
reconstruction = results["mean_test_reconstruction"]
chosen = sizes[search.best_index_]
print("n_components | mean accuracy | mean reconstruction score")
for k, acc, rec in zip(sizes, accuracy, reconstruction, strict=True):
    print(f"{k:12d} | {acc:13.3f} | {rec:.4f}")
print(f"best accuracy:       n_components={sizes[np.argmax(accuracy)]}")
print(f"best reconstruction: n_components={sizes[np.argmax(reconstruction)]}")
print(f"smallest within 3%:  n_components={chosen}")

# %%
# Two scores against the code size
# --------------------------------
#
# The reconstruction score improves with every doubling of the code, so it
# would select the largest size in the grid whatever the grid. The accuracy
# rises steeply, then flattens: past some size, doubling the code buys little.
# The rule stops at the first size close enough to the best.
fig, (ax_accuracy, ax_reconstruction) = plt.subplots(1, 2, figsize=(10, 4))
ax_accuracy.errorbar(
    sizes, accuracy, yerr=results["std_test_accuracy"], marker="o", capsize=3
)
ax_accuracy.axhspan(
    accuracy.max() * 0.97,
    accuracy.max(),
    color="tab:green",
    alpha=0.2,
    label="within 3% of the best",
)
ax_accuracy.axvline(chosen, color="tab:green", linestyle="--", label="chosen")
ax_accuracy.set_ylabel("mean cross-validated accuracy")
ax_accuracy.legend(loc="lower right")
ax_reconstruction.plot(sizes, reconstruction, marker="o", color="tab:orange")
ax_reconstruction.set_ylabel("mean reconstruction score (-MSE)")
for ax in (ax_accuracy, ax_reconstruction):
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes, [str(k) for k in sizes])
    ax.set_xlabel("n_components")
fig.tight_layout()
plt.show()

# %%
# The refitted pipeline uses the chosen size. With a callable `refit`, the
# search sets `best_index_` and `best_params_` but not `best_score_`; the
# chosen candidate's score is in `cv_results_`.
print(search.best_params_)
print(f"accuracy of the chosen size: {accuracy[search.best_index_]:.3f}")
