"""What the displays share: lazy matplotlib, new Axes, rows, image grids."""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral

import numpy as np
from scipy import sparse
from sklearn.utils import check_random_state

# Space between the images of a grid, as a fraction of an image's larger side.
GRID_GAP = 0.12

# At most this many features are named on the axis of a tabular comparison.
MAX_NAMED_FEATURES = 30


def _check_matplotlib(caller):
    """Import matplotlib.pyplot, or say how to install it; return pyplot."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ImportError(
            f"{caller} requires matplotlib, an optional dependency of skae. "
            "Install it with `pip install skae[plot]` (or `pip install "
            "matplotlib`)."
        ) from exc
    return plt


def _axes(plt, ax, figsize):
    """`ax`, or the Axes of a new figure of `figsize`."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def _style(defaults, user, artist):
    """Merge the user's keyword arguments of a matplotlib `artist` into defaults.

    Aliases (``c``, ``ls``, ...) are resolved first, so that a user's alias
    replaces the default it stands for instead of clashing with it.
    """
    from matplotlib.cbook import normalize_kwargs

    return {**defaults, **normalize_kwargs(user or {}, artist)}


def _n_rows(X):
    """Number of rows of an array-like, DataFrame or sparse matrix."""
    return X.shape[0] if hasattr(X, "shape") else len(X)


def _take_rows(X, rows):
    """Rows `rows` of an array-like, keeping its type (DataFrames included)."""
    if hasattr(X, "iloc"):
        return X.iloc[rows]
    if not hasattr(X, "shape"):
        X = np.asarray(X)
    return X[rows]


def _dense(X):
    """A dense float ndarray of an array-like, DataFrame or sparse matrix."""
    if sparse.issparse(X):
        X = X.toarray()
    return np.asarray(X, dtype=float)


def _feature_names(X, estimator=None):
    """The column names of a DataFrame `X`, else the estimator's, else None."""
    if hasattr(X, "columns"):
        return np.asarray(X.columns, dtype=object)
    return getattr(estimator, "feature_names_in_", None)


def _choose_rows(n_rows, indices, n_samples, random_state):
    """The rows to show: `indices`, or `n_samples` random rows in their order."""
    if indices is not None:
        rows = np.asarray(indices).ravel()
        if rows.size == 0 or rows.dtype.kind not in "iu":
            raise ValueError(f"indices must be integers; got {indices!r}.")
        if rows.min() < -n_rows or rows.max() >= n_rows:
            raise ValueError(
                f"indices must be in [-{n_rows}, {n_rows}): X has {n_rows} rows."
            )
        return rows
    if not isinstance(n_samples, Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}.")
    if n_samples >= n_rows:
        return np.arange(n_rows)
    rng = check_random_state(random_state)
    return np.sort(rng.choice(n_rows, n_samples, replace=False))


def _check_image_shape(image_shape, n_features):
    """Return `image_shape` as ``(height, width)``, checked against `n_features`."""
    shape = tuple(image_shape)
    if (
        len(shape) != 2
        or not all(isinstance(side, Integral) and side >= 1 for side in shape)
        or shape[0] * shape[1] != n_features
    ):
        raise ValueError(
            f"image_shape={image_shape!r} does not fit rows of {n_features} "
            "features: pass (height, width) with height * width == "
            f"{n_features}."
        )
    return shape


def _image_grid(ax, rows, image_shape, imshow_kw, *, row_labels=(), col_labels=()):
    """Draw rows of flat images as a grid on one Axes; return their AxesImage.

    Each image keeps its own AxesImage (its data is ``get_array()``), placed by
    its `extent`; the rows' labels are the y tick labels.
    """
    from matplotlib.patches import Rectangle

    height, width = image_shape
    gap = GRID_GAP * max(height, width)
    n_cols = max(len(row) for row in rows)
    images = np.empty((len(rows), n_cols), dtype=object)
    for i, row in enumerate(rows):
        top = i * (height + gap)
        for j, image in enumerate(row):
            left = j * (width + gap)
            images[i, j] = ax.imshow(
                np.reshape(image, image_shape),
                extent=(left, left + width, top + height, top),
                **(imshow_kw[i] if isinstance(imshow_kw, list) else imshow_kw),
            )
            # A thin frame: images with a white background keep their edges.
            ax.add_patch(
                Rectangle(
                    (left, top), width, height, fill=False, edgecolor="0.7", lw=0.6
                )
            )
    ax.set_xlim(-gap / 2, n_cols * (width + gap) - gap / 2)
    ax.set_ylim(len(rows) * (height + gap) - gap / 2, -gap / 2)
    ax.set_aspect("equal")
    ax.set_yticks([i * (height + gap) + height / 2 for i in range(len(row_labels))])
    ax.set_yticklabels(row_labels)
    ax.set_xticks([j * (width + gap) + width / 2 for j in range(len(col_labels))])
    ax.set_xticklabels(col_labels)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    return images


def _image_style(images, imshow_kw):
    """imshow's arguments: grey levels over the range of `images`, no smoothing."""
    values = np.concatenate([np.ravel(image) for image in images])
    defaults = {
        "cmap": "gray_r",
        "interpolation": "nearest",
        "vmin": float(np.min(values)),
        "vmax": float(np.max(values)),
    }
    return {**defaults, **(imshow_kw or {})}
