"""SampleGridDisplay and LatentTraversalDisplay: what the decoder generates."""

# SPDX-License-Identifier: BSD-3-Clause

from numbers import Integral

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skae.plotting._display import (
    _axes,
    _check_image_shape,
    _check_matplotlib,
    _dense,
    _image_grid,
    _image_style,
)


def _check_generative(estimator, caller):
    """Refuse an estimator without a `sample` method (no generative model)."""
    if not callable(getattr(estimator, "sample", None)):
        raise ValueError(
            f"{caller} needs a generative model with a prior and a sample "
            f"method, such as VariationalAutoencoder; {type(estimator).__name__} "
            "has none."
        )


class SampleGridDisplay:
    """Samples visualization: a grid of images drawn from a generative model.

    The samples of :meth:`VariationalAutoencoder.sample
    <skae.VariationalAutoencoder.sample>`: codes drawn from the prior,
    through the decoder's mean.

    It is recommended to use :meth:`from_estimator` to create a display. All
    parameters are stored as attributes.

    Read more in the :ref:`User Guide <plotting>`.

    Parameters
    ----------
    samples : ndarray of shape (n_samples, n_features)
        The samples, one flattened image per row.

    image_shape : tuple of (int, int)
        ``(height, width)`` of the images.

    Attributes
    ----------
    images_ : ndarray of matplotlib AxesImage of shape (n_samples,)
        The images, in the order of `samples` (row by row in the grid).

    ax_ : matplotlib Axes
        Axes with the grid.

    figure_ : matplotlib Figure
        Figure containing the grid.

    See Also
    --------
    LatentTraversalDisplay : What the decoder makes of codes along each axis.
    ReconstructionDisplay : Originals above their reconstructions.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VariationalAutoencoder
    >>> from skae.plotting import SampleGridDisplay
    >>> X = load_digits().data[:200] / 16
    >>> vae = VariationalAutoencoder(
    ...     n_components=2, hidden_layer_sizes=(16,), max_iter=3, random_state=0
    ... ).fit(X)
    >>> display = SampleGridDisplay.from_estimator(
    ...     vae, image_shape=(8, 8), n_samples=12, n_cols=6, random_state=0
    ... )
    >>> display.images_.shape
    (12,)
    """

    def __init__(self, samples, *, image_shape):
        self.samples = samples
        self.image_shape = image_shape

    def plot(self, ax=None, *, n_cols=8, imshow_kw=None):
        """Plot visualization.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes object to plot on. If `None`, a new figure and axes is
            created. The grid is drawn inside this one Axes.

        n_cols : int, default=8
            Number of images per row of the grid.

        imshow_kw : dict, default=None
            Keyword arguments passed to `matplotlib.axes.Axes.imshow`. By
            default the grey scale spans the samples' range.

        Returns
        -------
        display : SampleGridDisplay
            Object that stores computed values.
        """
        plt = _check_matplotlib(f"{type(self).__name__}.plot")
        if not isinstance(n_cols, Integral) or n_cols < 1:
            raise ValueError(f"n_cols must be a positive integer; got {n_cols!r}.")
        samples = np.asarray(self.samples, dtype=float)
        image_shape = _check_image_shape(self.image_shape, samples.shape[1])
        rows = [samples[i : i + n_cols] for i in range(0, len(samples), n_cols)]
        n_cols = min(n_cols, len(samples))
        ax = _axes(plt, ax, (0.9 * n_cols + 0.4, 0.9 * len(rows) + 0.4))
        images = _image_grid(ax, rows, image_shape, _image_style([samples], imshow_kw))
        self.images_ = images.ravel()[: len(samples)]
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        *,
        image_shape,
        n_samples=32,
        n_cols=8,
        random_state=None,
        ax=None,
        imshow_kw=None,
    ):
        """Plot samples drawn from a fitted generative model.

        Parameters
        ----------
        estimator : estimator instance
            A fitted :class:`~skae.VariationalAutoencoder`, or another fitted
            model with a ``sample(n_samples, random_state)`` method.

        image_shape : tuple of (int, int)
            ``(height, width)`` of the images that the model generates.

        n_samples : int, default=32
            Number of samples drawn.

        n_cols : int, default=8
            Number of images per row of the grid.

        random_state : int, RandomState instance or None, default=None
            Seeds the samples. Pass an int for the same samples on every call.

        ax : matplotlib Axes, default=None
            Axes object to plot on. If `None`, a new figure and axes is
            created.

        imshow_kw : dict, default=None
            Keyword arguments passed to `matplotlib.axes.Axes.imshow`.

        Returns
        -------
        display : SampleGridDisplay
            Object that stores computed values.
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        _check_generative(estimator, f"{cls.__name__}.from_estimator")
        samples = _dense(estimator.sample(n_samples, random_state=random_state))
        display = cls(samples, image_shape=image_shape)
        return display.plot(ax=ax, n_cols=n_cols, imshow_kw=imshow_kw)


class LatentTraversalDisplay:
    """Latent traversal visualization: decoded codes along each code axis.

    Each row moves one component of the code away from a base code, in steps
    of a number of standard deviations, the other components staying fixed,
    and shows what the decoder makes of each step. With a
    :class:`~skae.VariationalAutoencoder` the base code is the prior's mean
    (zero) and the steps are in the prior's standard deviations (one);
    given data, the base code is the mean of its codes and each component
    moves in steps of its own standard deviation over the data.

    It is recommended to use :meth:`from_estimator` to create a display. All
    parameters are stored as attributes.

    Read more in the :ref:`User Guide <plotting>`.

    Parameters
    ----------
    images : ndarray of shape (n_traversed, n_steps, n_features)
        The decoded images of each traversed component (a row of the grid)
        and step (a column).

    offsets : ndarray of shape (n_steps,)
        The offset of each step from the base code, in standard deviations.

    image_shape : tuple of (int, int)
        ``(height, width)`` of the images.

    components : array-like of int, default=None
        The component that each row traverses, to label the rows. None
        numbers the rows from 0.

    Attributes
    ----------
    images_ : ndarray of matplotlib AxesImage of shape (n_traversed, n_steps)
        The images.

    ax_ : matplotlib Axes
        Axes with the grid.

    figure_ : matplotlib Figure
        Figure containing the grid.

    See Also
    --------
    SampleGridDisplay : Samples drawn from a generative model.
    LatentSpaceDisplay : The codes of samples, in two dimensions.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import VariationalAutoencoder
    >>> from skae.plotting import LatentTraversalDisplay
    >>> X = load_digits().data[:200] / 16
    >>> vae = VariationalAutoencoder(
    ...     n_components=2, hidden_layer_sizes=(16,), max_iter=3, random_state=0
    ... ).fit(X)
    >>> display = LatentTraversalDisplay.from_estimator(
    ...     vae, image_shape=(8, 8), n_steps=5
    ... )
    >>> display.images_.shape
    (2, 5)
    >>> display.offsets.tolist()
    [-2.0, -1.0, 0.0, 1.0, 2.0]
    """

    def __init__(self, images, offsets, *, image_shape, components=None):
        self.images = images
        self.offsets = offsets
        self.image_shape = image_shape
        self.components = components

    def plot(self, ax=None, *, imshow_kw=None):
        """Plot visualization.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes object to plot on. If `None`, a new figure and axes is
            created. The grid is drawn inside this one Axes.

        imshow_kw : dict, default=None
            Keyword arguments passed to `matplotlib.axes.Axes.imshow`. By
            default the grey scale spans the images' range.

        Returns
        -------
        display : LatentTraversalDisplay
            Object that stores computed values.
        """
        plt = _check_matplotlib(f"{type(self).__name__}.plot")
        images = np.asarray(self.images, dtype=float)
        if images.ndim != 3:
            raise ValueError(
                "images must have shape (n_traversed, n_steps, n_features); "
                f"got {images.shape}."
            )
        image_shape = _check_image_shape(self.image_shape, images.shape[2])
        components = self.components
        if components is None:
            components = range(images.shape[0])
        n_rows, n_cols = images.shape[:2]
        ax = _axes(plt, ax, (0.9 * n_cols + 1.4, 0.9 * n_rows + 0.8))
        self.images_ = _image_grid(
            ax,
            list(images),
            image_shape,
            _image_style([images], imshow_kw),
            row_labels=[f"code {c}" for c in components],
            col_labels=[f"{offset:+.2g}" if offset else "0" for offset in self.offsets],
        )
        ax.set_xlabel("offset from the base code (standard deviations)")
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(
        cls,
        estimator,
        X=None,
        *,
        image_shape,
        components=None,
        n_steps=7,
        span=2.0,
        ax=None,
        imshow_kw=None,
    ):
        """Plot the decoded codes along each code axis of a fitted autoencoder.

        The images are ``estimator.inverse_transform`` of the traversed
        codes, so that a model on a GPU is plotted from NumPy arrays.

        Parameters
        ----------
        estimator : estimator instance
            A fitted skae autoencoder, or any fitted transformer with
            `inverse_transform` and `n_components_` (such as
            :class:`~sklearn.decomposition.PCA`).

        X : {array-like, sparse matrix} of shape (n_samples, n_features), \
                default=None
            Samples whose codes set the base code (their mean) and the step of
            each component (its standard deviation). None uses the prior of a
            generative model (:class:`~skae.VariationalAutoencoder`): the base
            code is zero and the steps are of one.

        image_shape : tuple of (int, int)
            ``(height, width)`` of the images that the model reconstructs.

        components : array-like of int, default=None
            The components to traverse, one per row. None traverses the first
            ten (all of them for smaller codes).

        n_steps : int, default=7
            Number of steps of each traversal, evenly spaced from `-span` to
            `span`.

        span : float, default=2.0
            The largest offset from the base code, in standard deviations.

        ax : matplotlib Axes, default=None
            Axes object to plot on. If `None`, a new figure and axes is
            created.

        imshow_kw : dict, default=None
            Keyword arguments passed to `matplotlib.axes.Axes.imshow`.

        Returns
        -------
        display : LatentTraversalDisplay
            Object that stores computed values.
        """
        caller = f"{cls.__name__}.from_estimator"
        _check_matplotlib(caller)
        check_is_fitted(estimator)
        n_codes = int(estimator.n_components_)
        if X is None:
            _check_generative(estimator, f"{caller} with X=None")
            base, scale = np.zeros(n_codes), np.ones(n_codes)
        else:
            Z = _dense(estimator.transform(X))
            base, scale = Z.mean(axis=0), Z.std(axis=0)
        if components is None:
            components = np.arange(min(n_codes, 10))
        components = np.asarray(components).ravel()
        if (
            components.size == 0
            or components.dtype.kind not in "iu"
            or components.min() < 0
            or components.max() >= n_codes
        ):
            raise ValueError(
                f"components must be integers in [0, {n_codes}); got {components!r}."
            )
        if not isinstance(n_steps, Integral) or n_steps < 1:
            raise ValueError(f"n_steps must be a positive integer; got {n_steps!r}.")
        offsets = np.linspace(-span, span, n_steps)
        codes = np.tile(base, (len(components), n_steps, 1))
        for row, component in enumerate(components):
            codes[row, :, component] += offsets * scale[component]
        decoded = _dense(estimator.inverse_transform(codes.reshape(-1, n_codes)))
        images = decoded.reshape(len(components), n_steps, -1)
        display = cls(images, offsets, image_shape=image_shape, components=components)
        return display.plot(ax=ax, imshow_kw=imshow_kw)
