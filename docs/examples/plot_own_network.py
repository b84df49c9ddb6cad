"""
=====================================
Training a network of your own design
=====================================

Every skae autoencoder takes a ``network``: a family's name (``"mlp"``,
``"conv"``, ``"auto"``) or a callable of yours, a :class:`torch.nn.Module`
subclass or a function, that skae calls as ``network(n_features=...,
n_components=..., **network_params)`` once it has seen the data. The module it
returns needs an ``encoder`` and a ``decoder``; skae trains both, and
everything else stays scikit-learn's: ``transform`` is the encoder,
``inverse_transform`` the decoder, and ``network_params`` is a parameter like
any other, so a grid search can tune it and :func:`skae.save` can store it.

This example writes a residual MLP for a table, scikit-learn's breast cancer
data (569 tumours, 30 measurements each), trains it, tunes its size by
cross-validation, compares it with the built-in MLP and with PCA, and saves
and loads it.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# The data
# --------
# A quarter of the rows is held out, and the measurements, whose scales
# differ by orders of magnitude, are standardised with the training rows'
# means and deviations.

import io
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn

import skae

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test = train_test_split(X, test_size=0.25, stratify=y, random_state=0)
scaler = StandardScaler().fit(X_train)
X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
print(f"training rows: {X_train.shape}, held-out rows: {X_test.shape}")

# %%
# The network
# -----------
# Each half is a linear map plus a nonlinear correction: a stack of
# pre-norm residual blocks between a lifting and a projecting layer.
# ``start_linear(weight, bias)`` is optional: with it, a half can become
# exactly the affine map ``X @ weight.T + bias`` (the linear path set, the
# correction's last layer zeroed), which is what ``init="pca"``, the default,
# needs to start training from PCA's solution. Without it, pass
# ``init="random"``.


class ResidualBlock(nn.Module):
    """``h + W2 gelu(W1 layer_norm(h))``: a pre-norm residual block."""

    def __init__(self, width):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.inner = nn.Linear(width, width)
        self.outer = nn.Linear(width, width)

    def forward(self, h):
        return h + self.outer(nn.functional.gelu(self.inner(self.norm(h))))


class ResidualHalf(nn.Module):
    """A linear map from `n_in` to `n_out` values plus a residual correction."""

    def __init__(self, n_in, n_out, width, depth):
        super().__init__()
        self.linear = nn.Linear(n_in, n_out)
        self.lift = nn.Linear(n_in, width)
        self.blocks = nn.Sequential(*(ResidualBlock(width) for _ in range(depth)))
        self.project = nn.Linear(width, n_out)

    def forward(self, X):
        return self.linear(X) + self.project(self.blocks(self.lift(X)))

    @torch.no_grad()
    def start_linear(self, weight, bias):
        """Become ``X @ weight.T + bias``: the linear path set, no correction."""
        self.linear.weight.copy_(weight)
        self.linear.bias.copy_(bias)
        self.project.weight.zero_()
        self.project.bias.zero_()


class ResidualMLP(nn.Module):
    """An autoencoder of two residual halves, `width` wide and `depth` blocks deep."""

    def __init__(self, n_features, n_components, width=128, depth=2):
        super().__init__()
        self.encoder = ResidualHalf(n_features, n_components, width, depth)
        self.decoder = ResidualHalf(n_components, n_features, width, depth)


# %%
# Training it
# -----------
# The class is passed, not an instance: skae builds the module when ``fit``
# knows the number of features. A few hundred training rows are few for a
# network of this size: trained until its training error levels off, it
# learns them by heart (the benchmark below measures how far). So
# ``early_stopping=True`` holds 10% of them out and stops once the error on
# those stops falling.

autoencoder = skae.AutoencoderTransformer(
    n_components=4,
    network=ResidualMLP,
    network_params={"width": 128, "depth": 2},
    early_stopping=True,
    random_state=0,
)
autoencoder.fit(X_train)
Z = autoencoder.transform(X_test)
print(f"codes: {Z.shape}; epochs: {autoencoder.n_iter_}")


def heldout_mse(model):
    """Mean squared error of the held-out rows encoded and decoded."""
    return np.mean((model.inverse_transform(model.transform(X_test)) - X_test) ** 2)


pca = PCA(n_components=4).fit(X_train)
print(f"held-out MSE, residual MLP: {heldout_mse(autoencoder):.3f}")
print(f"held-out MSE, PCA:          {heldout_mse(pca):.3f}")

# %%
# Tuning the network's own parameters
# -----------------------------------
# ``network_params`` is one parameter whose value is a dict, so a grid lists
# whole dicts. The search scores each candidate by the autoencoder's
# ``score``, the negative reconstruction error, on the held-out folds.

search = GridSearchCV(
    autoencoder,
    {"network_params": [{"width": 32, "depth": 1}, {"width": 128, "depth": 2}]},
    cv=3,
)
search.fit(X_train)
for params, score in zip(
    search.cv_results_["params"], search.cv_results_["mean_test_score"], strict=True
):
    print(f"{params['network_params']}: cross-validated MSE {-score:.3f}")
print(f"chosen: {search.best_params_['network_params']}")

# %%
# Against the built-in MLP and PCA
# --------------------------------
# The figure is read from ``docs/results/network.json``, the record of the
# benchmark ``python -m benchmarks.bench_network``, not computed here: that
# run trains this class (read from this file), the built-in MLP
# (``network="mlp"``) and PCA at a few code sizes, on several splits of the
# same data, once with skae's defaults and once with ``early_stopping=True``.
# Run that command from the repository root to measure again; the numbers
# below are the file's.

# The gallery runs an example from its own folder; a user from the root.
RESULTS = next(
    path
    for path in (Path("docs/results/network.json"), Path("../results/network.json"))
    if path.exists()
)
record = json.loads(RESULTS.read_text())
print(f"{record['command']} ({record['created'][:10]})")
ks = record["settings"]["ks"]
labels = {"pca": "PCA", "mlp": "built-in MLP", "residual": "ResidualMLP"}

fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True)
for ax, (regime, params) in zip(
    axes, record["settings"]["regimes"].items(), strict=True
):
    for model, label in labels.items():
        rows = [
            next(
                r
                for r in record["summary"]
                if r["model"] == model
                and r["k"] == k
                and (model == "pca" or r["regime"] == regime)
            )
            for k in ks
        ]
        ax.errorbar(
            ks,
            [r["test_mse_mean"] for r in rows],
            yerr=[r["test_mse_std"] for r in rows],
            marker="o",
            capsize=3,
            label=label,
        )
    changed = ", ".join(f"{name}={value}" for name, value in params.items())
    ax.set_title(f"networks trained with {changed or 'skae defaults'}")
    ax.set_xlabel("code size k")
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter("{x:.2f}")
    ax.yaxis.set_minor_formatter("{x:.2f}")
axes[0].set_ylabel("held-out MSE (standardised units)")
axes[0].legend()
fig.suptitle(
    f"breast cancer, mean and sd over {record['settings']['n_repeats']} splits"
)
fig.tight_layout()
plt.show()

# %%
# The same record, as multiples of PCA's held-out error (below 1: better than
# PCA), with the training error beside it: a gap between the two is what a
# network has learned of its training rows that does not carry to new ones.

for row in record["summary"]:
    if row["model"] == "pca":
        continue
    print(
        f"k={row['k']} {labels[row['model']]:<13} {row['regime']:<20} "
        f"held-out {row['ratio_mean']:.2f} x PCA (sd {row['ratio_std']:.2f}), "
        f"training {row['train_ratio_mean']:.2f} x PCA"
    )

# %%
# Does the network of your own beat the built-in one? The record answers, in
# each training regime, code size by code size (means over the splits):

ratio = {(r["model"], r["regime"], r["k"]): r["ratio_mean"] for r in record["summary"]}
for regime in record["settings"]["regimes"]:
    wins = [k for k in ks if ratio["residual", regime, k] < ratio["mlp", regime, k]]
    print(
        f"{regime}: ResidualMLP's held-out error is below the built-in MLP's "
        f"at k in {wins} of {ks}"
    )

# %%
# The point of this example is the seam, not a winner: a network of your own
# trains, tunes, and saves like the built-in ones, and a benchmark of it reads
# like theirs.

# %%
# Saving and loading
# ------------------
# :func:`skae.save` stores the network by its qualified name, never as code.
# :func:`skae.load` builds it only from the classes or functions the caller
# passes as ``networks``, so loading a file runs none of its contents.

buffer = io.BytesIO()
skae.save(autoencoder, buffer)
buffer.seek(0)
loaded = skae.load(buffer, networks=[ResidualMLP])
print(f"same codes after loading: {np.array_equal(loaded.transform(X_test), Z)}")

buffer.seek(0)
try:
    skae.load(buffer)
except ValueError as error:
    print(f"without networks=[ResidualMLP]: {error}")
