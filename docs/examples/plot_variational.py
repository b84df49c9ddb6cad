"""
===================================================
A variational autoencoder: codes, samples, evidence
===================================================

:class:`~skae.VariationalAutoencoder` encodes each image as a Gaussian
distribution over the code, with a standard normal prior, and decodes a code
into a distribution over images. That makes it a generative model, as
probabilistic PCA is: it can draw new images with ``sample``, and its ``score``
is a held-out log-likelihood bound in nats per image, the units of
:meth:`PCA.score <sklearn.decomposition.PCA.score>`. This example fits it to
the 8x8 digits and compares its evidence with PCA's, draws its 2-d codes,
samples new digits and walks from one digit to another through the code
space.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# Held-out evidence against PCA
# -----------------------------
#
# With ``likelihood="gaussian"`` (the default), both models describe an image
# as a point of a k-dimensional code mapped into pixel space plus isotropic
# Gaussian noise: PCA's map is linear, the VAE's a neural network. PCA's
# ``score`` is its exact log-likelihood; the VAE's ``score`` is the evidence
# lower bound (ELBO), and ``log_likelihood`` a tighter importance-weighted
# estimate. Higher is better, on images the models have not seen.
#
# ``early_stopping=True`` holds out a tenth of the training images and stops
# when their ELBO stops improving: on 1,347 images a VAE overfits soon.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split

from skae import VariationalAutoencoder
from skae.plotting import LatentSpaceDisplay, SampleGridDisplay

X, y = load_digits(return_X_y=True)
X = X / 16  # pixel intensities are 0 to 16
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

vaes, pcas = {}, {}
for k in (2, 8):
    pcas[k] = PCA(n_components=k).fit(X_train)
    vaes[k] = VariationalAutoencoder(
        n_components=k,
        hidden_layer_sizes=(128,),
        max_iter=500,
        early_stopping=True,
        random_state=0,
    ).fit(X_train)
    print(
        f"k={k}: PCA log-likelihood {pcas[k].score(X_test):6.1f}, "
        f"VAE ELBO {vaes[k].score(X_test):6.1f}, "
        f"VAE importance-weighted {vaes[k].log_likelihood(X_test).mean():6.1f} "
        f"nats per image ({vaes[k].n_iter_} epochs)"
    )

# %%
# The ELBO alone already beats PCA's exact log-likelihood: the nonlinear
# decoder explains the images with less noise. ``score_samples`` gives the
# ELBO of each image, an anomaly score that is a likelihood rather than a
# reconstruction error.
#
# A 2-d code
# ----------
#
# ``transform`` returns the posterior mean of each image's code, which
# :class:`~skae.plotting.LatentSpaceDisplay` plots coloured by digit. PCA's
# scores spread the digits along the two directions of largest variance; the
# VAE's codes, pulled towards the standard normal prior, follow the curved
# structure of the data and set more of the digits apart.
fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), layout="constrained")
for ax, (name, model) in zip(
    axes, [("PCA", pcas[2]), ("VariationalAutoencoder", vaes[2])], strict=True
):
    LatentSpaceDisplay.from_estimator(model, X_test, y_test, ax=ax)
    ax.set_title(f"{name}, k=2")
axes[0].get_legend().remove()  # the same classes and colours in both
plt.show()

# %%
# Samples
# -------
#
# ``sample`` draws codes from the prior and decodes them: new digits, none of
# them in the training set. The decoder's mean is returned, without the
# pixel noise of the Gaussian likelihood.
# :class:`~skae.plotting.SampleGridDisplay` draws them in a grid.
display = SampleGridDisplay.from_estimator(
    vaes[8],
    image_shape=(8, 8),
    n_samples=36,
    n_cols=6,
    random_state=0,
    imshow_kw={"vmin": 0, "vmax": 1},  # the pixels' range
)
display.ax_.set_title("Samples of the VAE, k=8")
plt.show()

# %%
# Interpolation through the code space
# ------------------------------------
#
# Decoding the points of the line between the codes of two test images morphs
# one digit into the other: each image on the way is one the decoder makes
# from a code (the ends are the reconstructions of the two images). Blending
# the two images pixel by pixel instead superposes them, as the middle
# columns of the second row show.
start = X_test[np.flatnonzero(y_test == 2)[0]]
end = X_test[np.flatnonzero(y_test == 7)[0]]
weights = np.linspace(0, 1, 8)[:, None]
Z_ends = vaes[8].transform(np.vstack([start, end]))
through_codes = vaes[8].inverse_transform(
    (1 - weights) * Z_ends[0] + weights * Z_ends[1]
)
through_pixels = (1 - weights) * start + weights * end

fig, axes = plt.subplots(2, len(weights), figsize=(9, 2.6))
for row, (name, images) in enumerate(
    [("codes", through_codes), ("pixels", through_pixels)]
):
    for ax, image in zip(axes[row], images, strict=True):
        ax.imshow(image.reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[row, 0].set_ylabel(name)
fig.suptitle("From a 2 to a 7: through the VAE's codes, and pixel by pixel")
plt.show()

# %%
# Going further
# -------------
#
# ``beta`` weights the KL term of the ELBO: values above 1 keep the codes
# closer to the prior (smoother samples, blurrier reconstructions), values
# below 1 let them carry more detail. ``likelihood="bernoulli"`` suits data
# in [0, 1] such as these pixels, with a sigmoid output, but its nats are
# those of a different model and cannot be compared with PCA's. Because
# ``score`` is a held-out log-likelihood bound, :class:`GridSearchCV
# <sklearn.model_selection.GridSearchCV>` can select ``n_components`` and
# ``beta`` without labels, as it can select PCA's ``n_components``.
