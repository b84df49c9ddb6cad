"""LatentSpaceDisplay and CodeActivationDisplay: what the codes look like."""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral, Real

import numpy as np
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted

from skae.plotting._display import _axes, _check_matplotlib, _dense, _style


def _project(Z, projection, code_names):
    """Two coordinates per row of codes `Z`, and the names of the two axes."""
    n_codes = Z.shape[1]
    if isinstance(projection, str) and projection == "auto":
        projection = None if n_codes == 2 else "pca"
    if projection is None:
        if n_codes != 2:
            raise ValueError(
                f"projection=None plots codes of 2 values, but these have "
                f"{n_codes}: use projection='pca'."
            )
        return Z, list(code_names)
    if n_codes < 2:
        raise ValueError(
            f"A 2-d projection needs codes of 2 values or more; got {n_codes}."
        )
    if isinstance(projection, str) and projection == "pca":
        # A full SVD: deterministic, and cheap for a few dozen codes.
        pca = PCA(n_components=2, svd_solver="full").fit(Z)
        names = [
            f"PC{i + 1} of the codes ({ratio:.0%} of their variance)"
            for i, ratio in enumerate(pca.explained_variance_ratio_)
        ]
        return pca.transform(Z), names
    if hasattr(projection, "fit_transform"):
        embedding = np.asarray(clone(projection).fit_transform(Z), dtype=float)
        if embedding.ndim != 2 or embedding.shape[1] != 2:
            raise ValueError(
                "The projection must return 2 columns; it returned shape "
                f"{embedding.shape}."
            )
        name = type(projection).__name__
        return embedding, [f"{name} 1", f"{name} 2"]
    raise ValueError(
        "projection must be 'auto', 'pca', None or an estimator with "
        f"fit_transform; got {projection!r}."
    )


class LatentSpaceDisplay:
    """Latent space visualization: a scatter plot of the codes.

    Each sample is a point at its code, coloured by its label when labels are
    given: a colour per class with a legend, or a colour scale with a
    colorbar for a continuous target. Codes of more than two values are
    projected onto the plane of their first two principal components
    (:class:`~sklearn.decomposition.PCA` fitted on the codes shown), or by
    any estimator with `fit_transform` (such as
    :class:`~sklearn.manifold.TSNE`).

    It is recommended to use :meth:`from_estimator` or :meth:`from_codes` to
    create a display. All parameters are stored as attributes.

    Read more in the :ref:`User Guide <plotting>`.

    Parameters
    ----------
    embedding : ndarray of shape (n_samples, 2)
        The two coordinates of each sample.

    y : array-like of shape (n_samples,), default=None
        Labels (or a continuous target) that colour the points.

    axis_labels : list of str, default=None
        Labels of the horizontal and vertical axes.

    Attributes
    ----------
    scatter_ : matplotlib PathCollection
        The points.

    legend_ : matplotlib Legend or None
        The legend of the classes, when `y` holds class labels.

    colorbar_ : matplotlib Colorbar or None
        The colour scale, when `y` is continuous.

    ax_ : matplotlib Axes
        Axes with the scatter plot.

    figure_ : matplotlib Figure
        Figure containing the scatter plot.

    See Also
    --------
    ReconstructionDisplay : Originals above their reconstructions.
    LatentTraversalDisplay : What the decoder makes of codes along each axis.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import LatentSpaceDisplay
    >>> X, y = load_digits(return_X_y=True)
    >>> X, y = X[:200] / 16, y[:200]
    >>> ae = AutoencoderTransformer(
    ...     n_components=4, hidden_layer_sizes=(16,), max_iter=3, random_state=0
    ... ).fit(X)
    >>> display = LatentSpaceDisplay.from_estimator(ae, X, y)
    >>> display.scatter_.get_offsets().shape
    (200, 2)
    >>> display.ax_.get_xlabel()[:3]
    'PC1'
    """

    def __init__(self, embedding, *, y=None, axis_labels=None):
        self.embedding = embedding
        self.y = y
        self.axis_labels = axis_labels

    def plot(self, ax=None, *, scatter_kw=None):
        """Plot visualization.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes object to plot on. If `None`, a new figure and axes is
            created.

        scatter_kw : dict, default=None
            Keyword arguments passed to `matplotlib.axes.Axes.scatter`, e.g.
            ``{"s": 4, "alpha": 0.5}``. ``cmap`` names the colours of the
            classes or of the colour scale.

        Returns
        -------
        display : LatentSpaceDisplay
            Object that stores computed values.
        """
        plt = _check_matplotlib(f"{type(self).__name__}.plot")
        from matplotlib import colormaps
        from matplotlib.collections import PathCollection
        from matplotlib.colors import ListedColormap
        from matplotlib.lines import Line2D

        embedding = np.asarray(self.embedding, dtype=float)
        if embedding.ndim != 2 or embedding.shape[1] != 2:
            raise ValueError(
                f"embedding must have shape (n_samples, 2); got {embedding.shape}."
            )
        ax = _axes(plt, ax, (6.4, 4.8))
        kw = _style({"s": 10}, scatter_kw, PathCollection)
        cmap = kw.pop("cmap", None)
        self.legend_ = self.colorbar_ = None
        x, y_coord = embedding[:, 0], embedding[:, 1]
        if self.y is None:
            self.scatter_ = ax.scatter(x, y_coord, **kw)
        elif type_of_target(np.asarray(self.y)) == "continuous":
            self.scatter_ = ax.scatter(
                x,
                y_coord,
                c=np.asarray(self.y, dtype=float),
                cmap=cmap or "viridis",
                **kw,
            )
            self.colorbar_ = ax.figure.colorbar(self.scatter_, ax=ax)
        else:
            classes, codes = np.unique(np.asarray(self.y), return_inverse=True)
            n_classes = len(classes)
            if cmap is not None:
                cmap = (
                    colormaps[cmap].resampled(n_classes)
                    if isinstance(cmap, str)
                    else cmap
                )
            elif n_classes <= 10:
                cmap = ListedColormap(colormaps["tab10"].colors[:n_classes])
            elif n_classes <= 20:
                cmap = ListedColormap(colormaps["tab20"].colors[:n_classes])
            else:
                cmap = colormaps["viridis"].resampled(n_classes)
            self.scatter_ = ax.scatter(
                x, y_coord, c=codes, cmap=cmap, vmin=-0.5, vmax=n_classes - 0.5, **kw
            )
            colors = self.scatter_.cmap(self.scatter_.norm(np.arange(n_classes)))
            handles = [
                Line2D([], [], linestyle="", marker="o", color=color, label=str(label))
                for label, color in zip(classes, colors, strict=True)
            ]
            self.legend_ = ax.legend(
                handles=handles,
                loc="center left",
                bbox_to_anchor=(1.0, 0.5),
                fontsize="small",
            )
        if self.axis_labels is not None:
            ax.set_xlabel(self.axis_labels[0])
            ax.set_ylabel(self.axis_labels[1])
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(
        cls, estimator, X, y=None, *, projection="auto", ax=None, scatter_kw=None
    ):
        """Plot the codes ``estimator.transform(X)``, coloured by `y`.

        Parameters
        ----------
        estimator : estimator instance
            A fitted skae autoencoder, or any fitted transformer (such as
            :class:`~sklearn.decomposition.PCA`).

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples to encode.

        y : array-like of shape (n_samples,), default=None
            Labels (or a continuous target) that colour the points.

        projection : {"auto", "pca"}, estimator instance or None, default="auto"
            How codes are put on a plane. ``"pca"`` projects them on their
            first two principal components; None plots codes of two values as
            they are; an estimator with `fit_transform` to two columns (such
            as :class:`~sklearn.manifold.TSNE`) is cloned and fitted on the
            codes. ``"auto"`` is None for codes of two values and ``"pca"``
            otherwise.

        ax : matplotlib Axes, default=None
            Axes object to plot on. If `None`, a new figure and axes is
            created.

        scatter_kw : dict, default=None
            Keyword arguments passed to `matplotlib.axes.Axes.scatter`.

        Returns
        -------
        display : LatentSpaceDisplay
            Object that stores computed values.
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        Z = _dense(estimator.transform(X))
        try:
            names = list(estimator.get_feature_names_out())
        except (AttributeError, ValueError, TypeError):
            names = [f"code {j}" for j in range(Z.shape[1])]
        embedding, axis_labels = _project(Z, projection, names)
        display = cls(embedding, y=y, axis_labels=axis_labels)
        return display.plot(ax=ax, scatter_kw=scatter_kw)

    @classmethod
    def from_codes(cls, Z, y=None, *, projection="auto", ax=None, scatter_kw=None):
        """Plot codes computed beforehand, coloured by `y`.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_components)
            The codes, such as the output of a transformer's `transform`.

        y : array-like of shape (n_samples,), default=None
            Labels (or a continuous target) that colour the points.

        projection : {"auto", "pca"}, estimator instance or None, default="auto"
            How codes are put on a plane; see :meth:`from_estimator`.

        ax : matplotlib Axes, default=None
            Axes object to plot on. If `None`, a new figure and axes is
            created.

        scatter_kw : dict, default=None
            Keyword arguments passed to `matplotlib.axes.Axes.scatter`.

        Returns
        -------
        display : LatentSpaceDisplay
            Object that stores computed values.
        """
        _check_matplotlib(f"{cls.__name__}.from_codes")
        names = [str(name) for name in Z.columns] if hasattr(Z, "columns") else None
        Z = _dense(Z)
        names = names or [f"code {j}" for j in range(Z.shape[1])]
        embedding, axis_labels = _project(Z, projection, names)
        display = cls(embedding, y=y, axis_labels=axis_labels)
        return display.plot(ax=ax, scatter_kw=scatter_kw)


class CodeActivationDisplay:
    """Code statistics visualization: the distribution of the code values.

    A histogram (as a density) of all the code values of a set of samples,
    by default scaled by the largest in magnitude, so that the codes of
    models of different scales can share an Axes, with the fraction of
    near-zero codes in the legend. Sparse codes, such as those of
    :class:`~skae.SparseAutoencoder`, show as a spike at zero.

    It is recommended to use :meth:`from_estimator` or :meth:`from_codes` to
    create a display. All parameters are stored as attributes.

    Read more in the :ref:`User Guide <plotting>`.

    Parameters
    ----------
    density : ndarray of shape (n_bins,)
        The density of the code values in each bin.

    bin_edges : ndarray of shape (n_bins + 1,)
        The edges of the bins.

    near_zero_fraction : float, default=None
        The fraction of code values near zero, shown in the legend. None
        shows none.

    name : str, default=None
        Name of the model, shown in the legend.

    normalized : bool, default=True
        Whether the values were divided by the largest in magnitude (this
        labels the horizontal axis).

    Attributes
    ----------
    stairs_ : matplotlib StepPatch
        The histogram.

    legend_ : matplotlib Legend or None
        The legend, when there is a name or a fraction to show.

    ax_ : matplotlib Axes
        Axes with the histogram.

    figure_ : matplotlib Figure
        Figure containing the histogram.

    See Also
    --------
    LatentSpaceDisplay : The codes of samples, in two dimensions.
    TrainingHistoryDisplay : The loss of each epoch of training.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import SparseAutoencoder
    >>> from skae.plotting import CodeActivationDisplay
    >>> X = load_digits().data[:200] / 16
    >>> sae = SparseAutoencoder(
    ...     n_components=32, hidden_layer_sizes=(16,), max_iter=3, random_state=0
    ... ).fit(X)
    >>> display = CodeActivationDisplay.from_estimator(sae, X, bins=40)
    >>> display.stairs_.get_data().values.shape
    (40,)
    >>> 0 <= display.near_zero_fraction <= 1
    True
    """

    def __init__(
        self, density, bin_edges, *, near_zero_fraction=None, name=None, normalized=True
    ):
        self.density = density
        self.bin_edges = bin_edges
        self.near_zero_fraction = near_zero_fraction
        self.name = name
        self.normalized = normalized

    def plot(self, ax=None, *, log_scale=True, stairs_kw=None):
        """Plot visualization.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes object to plot on. If `None`, a new figure and axes is
            created.

        log_scale : bool, default=True
            Whether the density axis is logarithmic, which shows both the
            spike of sparse codes at zero and the tails.

        stairs_kw : dict, default=None
            Keyword arguments passed to `matplotlib.axes.Axes.stairs`, e.g.
            ``{"color": "C2"}``.

        Returns
        -------
        display : CodeActivationDisplay
            Object that stores computed values.
        """
        plt = _check_matplotlib(f"{type(self).__name__}.plot")
        from matplotlib.patches import StepPatch

        ax = _axes(plt, ax, (6.4, 4.0))
        label = self.name
        if self.near_zero_fraction is not None:
            fraction = f"{self.near_zero_fraction:.0%} near zero"
            label = fraction if label is None else f"{label} ({fraction})"
        kw = _style({"label": label, "linewidth": 1.5}, stairs_kw, StepPatch)
        self.stairs_ = ax.stairs(
            np.asarray(self.density, dtype=float),
            np.asarray(self.bin_edges, dtype=float),
            **kw,
        )
        if log_scale:
            ax.set_yscale("log")
        ax.set_xlabel("code value z / max|z|" if self.normalized else "code value z")
        ax.set_ylabel("density")
        ax.grid(True, alpha=0.3)
        has_labels = any(
            not handle.get_label().startswith("_")
            for handle in ax.get_legend_handles_labels()[0]
        )
        self.legend_ = ax.legend() if has_labels else None
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        *,
        bins=80,
        near_zero=1e-3,
        normalize=True,
        name=None,
        log_scale=True,
        ax=None,
        stairs_kw=None,
    ):
        """Plot the distribution of the codes ``estimator.transform(X)``.

        Parameters
        ----------
        estimator : estimator instance
            A fitted skae autoencoder, or any fitted transformer.

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The samples to encode.

        bins : int, default=80
            Number of bins of the histogram.

        near_zero : float, default=1e-3
            A code value counts as near zero when its magnitude is below
            `near_zero` times the largest code magnitude, so that the
            fraction does not depend on the codes' scale.

        normalize : bool, default=True
            Whether to divide the codes by the largest in magnitude, so that
            the histogram spans [-1, 1]. If False, it spans the codes' range.

        name : str, default=None
            Name of the model, shown in the legend. None means the class name
            of `estimator`.

        log_scale : bool, default=True
            Whether the density axis is logarithmic.

        ax : matplotlib Axes, default=None
            Axes object to plot on. If `None`, a new figure and axes is
            created.

        stairs_kw : dict, default=None
            Keyword arguments passed to `matplotlib.axes.Axes.stairs`.

        Returns
        -------
        display : CodeActivationDisplay
            Object that stores computed values.
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        return cls.from_codes(
            estimator.transform(X),
            bins=bins,
            near_zero=near_zero,
            normalize=normalize,
            name=type(estimator).__name__ if name is None else name,
            log_scale=log_scale,
            ax=ax,
            stairs_kw=stairs_kw,
        )

    @classmethod
    def from_codes(
        cls,
        Z,
        *,
        bins=80,
        near_zero=1e-3,
        normalize=True,
        name=None,
        log_scale=True,
        ax=None,
        stairs_kw=None,
    ):
        """Plot the distribution of codes computed beforehand.

        Parameters
        ----------
        Z : array-like of shape (n_samples, n_components)
            The codes, such as the output of a transformer's `transform`.

        bins : int, default=80
            Number of bins of the histogram.

        near_zero : float, default=1e-3
            A code value counts as near zero when its magnitude is below
            `near_zero` times the largest code magnitude.

        normalize : bool, default=True
            Whether to divide the codes by the largest in magnitude, so that
            the histogram spans [-1, 1].

        name : str, default=None
            Name of the model, shown in the legend.

        log_scale : bool, default=True
            Whether the density axis is logarithmic.

        ax : matplotlib Axes, default=None
            Axes object to plot on. If `None`, a new figure and axes is
            created.

        stairs_kw : dict, default=None
            Keyword arguments passed to `matplotlib.axes.Axes.stairs`.

        Returns
        -------
        display : CodeActivationDisplay
            Object that stores computed values.
        """
        _check_matplotlib(f"{cls.__name__}.from_codes")
        if not isinstance(bins, Integral) or bins < 1:
            raise ValueError(f"bins must be a positive integer; got {bins!r}.")
        if not isinstance(near_zero, Real) or near_zero < 0:
            raise ValueError(
                f"near_zero must be a non-negative number; got {near_zero!r}."
            )
        Z = _dense(Z).ravel()
        # All-zero codes keep their scale: the histogram is then one spike.
        scale = float(np.abs(Z).max(initial=0)) or 1.0
        if normalize:
            density, edges = np.histogram(
                Z / scale, bins=bins, range=(-1, 1), density=True
            )
        else:
            density, edges = np.histogram(Z, bins=bins, density=True)
        display = cls(
            density,
            edges,
            near_zero_fraction=float(np.mean(np.abs(Z) < near_zero * scale)),
            name=name,
            normalized=normalize,
        )
        return display.plot(ax=ax, log_scale=log_scale, stairs_kw=stairs_kw)
