"""ReconstructionDisplay: originals above their reconstructions."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skae.plotting._display import (
    MAX_NAMED_FEATURES,
    _axes,
    _check_image_shape,
    _check_matplotlib,
    _choose_rows,
    _dense,
    _feature_names,
    _image_grid,
    _image_style,
    _n_rows,
    _take_rows,
)


class ReconstructionDisplay:
    """Reconstruction visualization: originals above their reconstructions.

    For images (`image_shape` given), each column is a sample and each row a
    version of it: the original, the noisy input given to a denoiser when
    there is one, then each reconstruction, optionally followed by its
    absolute error. For tabular data, each sample's features are drawn as a
    line, original and reconstructions in the sample's colour with a line
    style per version, so that they can be compared feature by feature.

    It is recommended to use :meth:`from_estimator` or
    :meth:`from_reconstructions` to create a display. All parameters are
    stored as attributes.

    Read more in the :ref:`User Guide <plotting>`.

    Parameters
    ----------
    X : ndarray of shape (n_shown, n_features)
        The original samples shown.

    X_reconstructed : ndarray of shape (n_shown, n_features) or dict
        Their reconstructions, or a dict that maps a name (the row's label) to
        the reconstructions of each model being compared.

    X_noisy : ndarray of shape (n_shown, n_features), default=None
        The noisy inputs that were reconstructed, for a denoiser; None when
        `X` itself was.

    image_shape : tuple of (int, int), default=None
        ``(height, width)`` of the images that the rows hold. None for tabular
        data.

    feature_names : array-like of str, default=None
        Names of the features, for tabular data. None numbers them.

    indices : array-like of int, default=None
        The rows of the data that are shown, to label tabular samples. None
        numbers them from 0.

    Attributes
    ----------
    images_ : ndarray of matplotlib AxesImage of shape (n_versions, n_shown) or None
        The images, one row per version (original, noisy input,
        reconstructions and errors, in that order). None for tabular data.

    lines_ : ndarray of matplotlib Line2D of shape (n_shown, n_versions) or None
        The lines of tabular data, one row per sample. None for images.

    row_labels_ : list of str
        The name of each version, in the order drawn.

    legend_ : matplotlib Legend or None
        The legend of tabular data. None for images.

    ax_ : matplotlib Axes
        Axes with the reconstructions.

    figure_ : matplotlib Figure
        Figure containing the reconstructions.

    See Also
    --------
    LatentSpaceDisplay : The codes of samples, in two dimensions.
    TrainingHistoryDisplay : The loss of each epoch of training.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import ReconstructionDisplay
    >>> X = load_digits().data[:200] / 16
    >>> ae = AutoencoderTransformer(
    ...     n_components=4, hidden_layer_sizes=(16,), max_iter=3, random_state=0
    ... ).fit(X)
    >>> display = ReconstructionDisplay.from_estimator(
    ...     ae, X, image_shape=(8, 8), n_samples=6, random_state=0
    ... )
    >>> display.images_.shape
    (2, 6)
    >>> display.row_labels_
    ['original', 'reconstructed']
    """

    def __init__(
        self,
        X,
        X_reconstructed,
        *,
        X_noisy=None,
        image_shape=None,
        feature_names=None,
        indices=None,
    ):
        self.X = X
        self.X_reconstructed = X_reconstructed
        self.X_noisy = X_noisy
        self.image_shape = image_shape
        self.feature_names = feature_names
        self.indices = indices

    def plot(self, ax=None, *, show_error=False, imshow_kw=None):
        """Plot visualization.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes object to plot on. If `None`, a new figure and axes is
            created. The image grid is drawn inside this one Axes.

        show_error : bool, default=False
            Whether to follow each reconstruction with its absolute error
            against `X` (images only), on the grey scale of the images
            shifted to start at 0.

        imshow_kw : dict, default=None
            Keyword arguments passed to `matplotlib.axes.Axes.imshow` for the
            images, e.g. ``{"cmap": "viridis", "vmin": 0, "vmax": 1}``.

        Returns
        -------
        display : ReconstructionDisplay
            Object that stores computed values.
        """
        plt = _check_matplotlib(f"{type(self).__name__}.plot")
        X = np.asarray(self.X)
        reconstructions = self.X_reconstructed
        if not isinstance(reconstructions, dict):
            reconstructions = {"reconstructed": reconstructions}
        versions = {"clean" if self.X_noisy is not None else "original": X}
        if self.X_noisy is not None:
            versions["noisy input"] = np.asarray(self.X_noisy)
        errors = {}
        for name, X_reconstructed in reconstructions.items():
            versions[name] = np.asarray(X_reconstructed)
            if show_error and self.image_shape is not None:
                errors[f"|error|\n{name}"] = np.abs(versions[name] - X)
                versions[f"|error|\n{name}"] = errors[f"|error|\n{name}"]
        for name, values in versions.items():
            if values.shape != X.shape:
                raise ValueError(
                    f"{name!r} has shape {values.shape}, but X has {X.shape}."
                )
        self.row_labels_ = list(versions)
        self.images_ = self.lines_ = self.legend_ = None
        if self.image_shape is not None:
            image_shape = _check_image_shape(self.image_shape, X.shape[1])
            n_rows, n_cols = len(versions), X.shape[0]
            ax = _axes(plt, ax, (0.9 * n_cols + 1.4, 0.9 * n_rows + 0.4))
            style = _image_style([X], imshow_kw)
            # Errors keep the images' contrast, from zero.
            error_style = {**style, "vmin": 0, "vmax": style["vmax"] - style["vmin"]}
            error_style.update(imshow_kw or {})
            styles = [error_style if name in errors else style for name in versions]
            self.images_ = _image_grid(
                ax,
                list(versions.values()),
                image_shape,
                styles,
                row_labels=self.row_labels_,
            )
        else:
            ax = _axes(plt, ax, (max(6.4, 0.3 * X.shape[1] + 2.5), 4.8))
            self._plot_tabular(ax, versions)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    def _plot_tabular(self, ax, versions):
        """Draw each sample's versions as lines over the features."""
        from matplotlib.lines import Line2D

        n_shown, n_features = next(iter(versions.values())).shape
        styles = [{"linestyle": "-", "marker": "o"}]
        if self.X_noisy is not None:
            styles.append({"linestyle": ":", "marker": "x"})
        markers = ["s", "^", "D", "v", "P", "*"]
        n_reconstructions = len(versions) - len(styles)
        styles += [
            {"linestyle": "--", "marker": markers[i % len(markers)], "markersize": 4}
            for i in range(n_reconstructions)
        ]
        indices = np.arange(n_shown) if self.indices is None else self.indices
        x = np.arange(n_features)
        self.lines_ = np.empty((n_shown, len(versions)), dtype=object)
        for i in range(n_shown):
            for j, values in enumerate(versions.values()):
                (self.lines_[i, j],) = ax.plot(
                    x, values[i], color=f"C{i % 10}", **styles[j]
                )
        handles = [
            Line2D([], [], color="0.3", label=name.replace("\n", " "), **style)
            for name, style in zip(versions, styles, strict=True)
        ]
        handles += [
            Line2D([], [], color=f"C{i % 10}", linewidth=4, label=f"row {index}")
            for i, index in enumerate(indices)
        ]
        self.legend_ = ax.legend(
            handles=handles,
            loc="center left",
            bbox_to_anchor=(1.0, 0.5),
            fontsize="small",
        )
        if n_features <= MAX_NAMED_FEATURES:
            names = self.feature_names
            if names is None:
                names = [f"x{j}" for j in range(n_features)]
            ax.set_xticks(x, [str(name) for name in names], rotation=90)
        ax.set_xlabel("feature")
        ax.set_ylabel("value")
        ax.grid(True, alpha=0.3)

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X,
        *,
        X_noisy=None,
        indices=None,
        n_samples=8,
        image_shape=None,
        random_state=None,
        name=None,
        show_error=False,
        ax=None,
        imshow_kw=None,
    ):
        """Plot the reconstructions of some rows of `X` by a fitted estimator.

        The reconstructions are ``estimator.inverse_transform(
        estimator.transform(X))`` of the rows shown (of `X_noisy` when it is
        given), computed through the estimator's public methods: a model on a
        GPU is plotted from the NumPy arrays they return.

        Parameters
        ----------
        estimator : estimator instance
            A fitted skae autoencoder, or any fitted transformer with
            `inverse_transform` (such as :class:`~sklearn.decomposition.PCA`
            or a :class:`~sklearn.pipeline.Pipeline`).

        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            The original samples (a DataFrame keeps its feature names).

        X_noisy : {array-like, sparse matrix} of shape (n_samples, n_features), \
                default=None
            Noisy copies of `X` for a denoiser: the rows shown are then the
            clean originals, the noisy inputs and the reconstructions of the
            noisy inputs.

        indices : array-like of int, default=None
            The rows of `X` to show. None shows `n_samples` rows drawn at
            random.

        n_samples : int, default=8
            Number of rows drawn when `indices` is None (all rows when `X`
            has no more).

        image_shape : tuple of (int, int), default=None
            ``(height, width)`` of images stored as rows of `X`, which are then
            drawn as a grid. None compares tabular data feature by feature.

        random_state : int, RandomState instance or None, default=None
            Seeds the choice of rows when `indices` is None. Pass an int for
            the same rows on every call.

        name : str, default=None
            Label of the reconstructions. None means ``"reconstructed"``, or
            ``"denoised"`` when `X_noisy` is given.

        show_error : bool, default=False
            Whether to add the absolute error of the reconstructions (images
            only).

        ax : matplotlib Axes, default=None
            Axes object to plot on. If `None`, a new figure and axes is
            created.

        imshow_kw : dict, default=None
            Keyword arguments passed to `matplotlib.axes.Axes.imshow`.

        Returns
        -------
        display : ReconstructionDisplay
            Object that stores computed values.
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        rows = _choose_rows(_n_rows(X), indices, n_samples, random_state)
        X_shown = _take_rows(X, rows)
        X_input = X_shown if X_noisy is None else _take_rows(X_noisy, rows)
        X_reconstructed = estimator.inverse_transform(estimator.transform(X_input))
        if name is None:
            name = "reconstructed" if X_noisy is None else "denoised"
        display = cls(
            _dense(X_shown),
            {name: _dense(X_reconstructed)},
            X_noisy=None if X_noisy is None else _dense(X_input),
            image_shape=image_shape,
            feature_names=_feature_names(X, estimator),
            indices=rows,
        )
        return display.plot(ax=ax, show_error=show_error, imshow_kw=imshow_kw)

    @classmethod
    def from_reconstructions(
        cls,
        X,
        X_reconstructed,
        *,
        X_noisy=None,
        indices=None,
        n_samples=8,
        image_shape=None,
        random_state=None,
        show_error=False,
        ax=None,
        imshow_kw=None,
    ):
        """Plot reconstructions computed beforehand, of one model or several.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            The original samples (a DataFrame keeps its feature names).

        X_reconstructed : array-like of shape (n_samples, n_features) or dict
            Their reconstructions, or a dict that maps a name (the row's label)
            to the reconstructions of each model being compared.

        X_noisy : array-like of shape (n_samples, n_features), default=None
            The noisy inputs that were reconstructed, for a denoiser.

        indices : array-like of int, default=None
            The rows to show. None shows `n_samples` rows drawn at random.

        n_samples : int, default=8
            Number of rows drawn when `indices` is None (all rows when `X`
            has no more).

        image_shape : tuple of (int, int), default=None
            ``(height, width)`` of images stored as rows of `X`. None compares
            tabular data feature by feature.

        random_state : int, RandomState instance or None, default=None
            Seeds the choice of rows when `indices` is None.

        show_error : bool, default=False
            Whether to add the absolute error of the reconstructions (images
            only).

        ax : matplotlib Axes, default=None
            Axes object to plot on. If `None`, a new figure and axes is
            created.

        imshow_kw : dict, default=None
            Keyword arguments passed to `matplotlib.axes.Axes.imshow`.

        Returns
        -------
        display : ReconstructionDisplay
            Object that stores computed values.
        """
        _check_matplotlib(f"{cls.__name__}.from_reconstructions")
        rows = _choose_rows(_n_rows(X), indices, n_samples, random_state)
        if isinstance(X_reconstructed, dict):
            shown = {k: _dense(_take_rows(v, rows)) for k, v in X_reconstructed.items()}
        else:
            shown = _dense(_take_rows(X_reconstructed, rows))
        display = cls(
            _dense(_take_rows(X, rows)),
            shown,
            X_noisy=None if X_noisy is None else _dense(_take_rows(X_noisy, rows)),
            image_shape=image_shape,
            feature_names=_feature_names(X),
            indices=rows,
        )
        return display.plot(ax=ax, show_error=show_error, imshow_kw=imshow_kw)
