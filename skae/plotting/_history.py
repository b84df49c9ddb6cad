"""TrainingHistoryDisplay: the loss of each epoch of training."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
from sklearn.utils.validation import check_is_fitted

from skae.plotting._display import _axes, _check_matplotlib, _style


class TrainingHistoryDisplay:
    """Training history visualization: the loss of each epoch.

    The training loss of each epoch, the validation loss when the model was
    trained with early stopping, and a vertical line at the best epoch: the
    one of lowest validation loss under early stopping, else the one of
    lowest training loss (`best_loss_`). For
    :class:`~skae.VariationalAutoencoder`, the two parts of its loss, the
    reconstruction term and the KL term, are drawn as well.

    It is recommended to use :meth:`from_estimator` to create a display. All
    parameters are stored as attributes.

    Read more in the :ref:`User Guide <plotting>`.

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        Training loss at the end of each epoch.

    validation_loss_curve : array-like of shape (n_epochs,), default=None
        Validation loss of each epoch, or None.

    best_epoch : int, default=None
        The epoch to mark (counted from 1), or None.

    reconstruction_loss_curve : array-like of shape (n_epochs,), default=None
        The reconstruction part of the training loss, or None.

    kl_loss_curve : array-like of shape (n_epochs,), default=None
        The KL part of the training loss, or None.

    name : str, default=None
        Name of the model, added to the labels of the lines. None adds
        nothing.

    Attributes
    ----------
    lines_ : dict of str to matplotlib Line2D
        The lines drawn, under the keys ``"training"``, ``"validation"``,
        ``"reconstruction"`` and ``"kl"`` (those that were drawn).

    best_epoch_line_ : matplotlib Line2D or None
        The vertical line at `best_epoch`, or None.

    legend_ : matplotlib Legend
        The legend.

    ax_ : matplotlib Axes
        Axes with the curves.

    figure_ : matplotlib Figure
        Figure containing the curves.

    See Also
    --------
    sklearn.model_selection.LearningCurveDisplay : Scores against the number
        of training samples.
    CodeActivationDisplay : The distribution of the code values.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.plotting import TrainingHistoryDisplay
    >>> X = load_digits().data[:200] / 16
    >>> ae = AutoencoderTransformer(
    ...     n_components=4, hidden_layer_sizes=(16,), max_iter=4,
    ...     early_stopping=True, random_state=0,
    ... ).fit(X)
    >>> display = TrainingHistoryDisplay.from_estimator(ae)
    >>> sorted(display.lines_)
    ['training', 'validation']
    >>> display.lines_["training"].get_xdata().tolist()
    [1, 2, 3, 4]
    """

    def __init__(
        self,
        loss_curve,
        *,
        validation_loss_curve=None,
        best_epoch=None,
        reconstruction_loss_curve=None,
        kl_loss_curve=None,
        name=None,
    ):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.best_epoch = best_epoch
        self.reconstruction_loss_curve = reconstruction_loss_curve
        self.kl_loss_curve = kl_loss_curve
        self.name = name

    def plot(self, ax=None, *, loss_terms=True, line_kw=None):
        """Plot visualization.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Axes object to plot on. If `None`, a new figure and axes is
            created.

        loss_terms : bool, default=True
            Whether to draw the reconstruction and KL parts of the loss, when
            the display has them.

        line_kw : dict, default=None
            Keyword arguments passed to `matplotlib.axes.Axes.plot` for every
            curve.

        Returns
        -------
        display : TrainingHistoryDisplay
            Object that stores computed values.
        """
        plt = _check_matplotlib(f"{type(self).__name__}.plot")
        from matplotlib.lines import Line2D

        ax = _axes(plt, ax, (6.4, 4.0))
        suffix = "" if self.name is None else f" ({self.name})"
        curves = {"training": (self.loss_curve, "training loss", {"color": "C0"})}
        if self.validation_loss_curve is not None:
            curves["validation"] = (
                self.validation_loss_curve,
                "validation loss",
                {"color": "C1"},
            )
        if loss_terms and self.reconstruction_loss_curve is not None:
            curves["reconstruction"] = (
                self.reconstruction_loss_curve,
                "reconstruction term",
                {"color": "C2", "linestyle": "--"},
            )
        if loss_terms and self.kl_loss_curve is not None:
            curves["kl"] = (
                self.kl_loss_curve,
                "KL term",
                {"color": "C3", "linestyle": "--"},
            )
        self.lines_ = {}
        for key, (values, label, defaults) in curves.items():
            values = np.asarray(values, dtype=float)
            epochs = np.arange(1, len(values) + 1)
            kw = _style({**defaults, "label": label + suffix}, line_kw, Line2D)
            (self.lines_[key],) = ax.plot(epochs, values, **kw)
        self.best_epoch_line_ = None
        if self.best_epoch is not None:
            self.best_epoch_line_ = ax.axvline(
                self.best_epoch,
                color="0.4",
                linestyle=":",
                label=f"best epoch: {self.best_epoch}{suffix}",
            )
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        ax.grid(True, alpha=0.3)
        self.legend_ = ax.legend()
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def from_estimator(
        cls, estimator, *, name=None, loss_terms=True, ax=None, line_kw=None
    ):
        """Plot the training history of a fitted estimator.

        The curves are the fitted attributes `loss_curve_`, and for
        :class:`~skae.VariationalAutoencoder` `reconstruction_loss_curve_` and
        `kl_loss_curve_`; the validation loss is read from the history of
        the fitted skorch net `net_` under early stopping.

        Parameters
        ----------
        estimator : estimator instance
            A fitted skae estimator (any autoencoder, or
            :class:`~skae.AutoencoderClassifier`), or another fitted estimator
            with a `loss_curve_`.

        name : str, default=None
            Name of the model, added to the labels of the lines. None adds
            nothing.

        loss_terms : bool, default=True
            Whether to draw the reconstruction and KL parts of the loss, for
            the estimators that record them.

        ax : matplotlib Axes, default=None
            Axes object to plot on. If `None`, a new figure and axes is
            created.

        line_kw : dict, default=None
            Keyword arguments passed to `matplotlib.axes.Axes.plot`.

        Returns
        -------
        display : TrainingHistoryDisplay
            Object that stores computed values.
        """
        _check_matplotlib(f"{cls.__name__}.from_estimator")
        check_is_fitted(estimator)
        loss_curve = getattr(estimator, "loss_curve_", None)
        loss_curve = np.asarray([] if loss_curve is None else loss_curve, dtype=float)
        if loss_curve.size == 0:
            raise ValueError(
                f"{type(estimator).__name__} has no training history to plot: "
                "no epoch was completed (loss_curve_ is empty or missing)."
            )
        validation = None
        history = getattr(getattr(estimator, "net_", None), "history", None)
        if getattr(estimator, "early_stopping", False) and history is not None:
            validation = np.array(
                [row.get("valid_loss", np.nan) for row in history], dtype=float
            )
            if np.isnan(validation).all():
                validation = None
        monitored = loss_curve if validation is None else validation
        display = cls(
            loss_curve,
            validation_loss_curve=validation,
            best_epoch=int(np.nanargmin(monitored)) + 1,
            reconstruction_loss_curve=getattr(
                estimator, "reconstruction_loss_curve_", None
            ),
            kl_loss_curve=getattr(estimator, "kl_loss_curve_", None),
            name=name,
        )
        return display.plot(ax=ax, loss_terms=loss_terms, line_kw=line_kw)
