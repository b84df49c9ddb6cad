"""Callbacks for the `callbacks` parameter of the skae autoencoders."""

# SPDX-License-Identifier: BSD-3-Clause

import math
import os
import time
from numbers import Integral, Real

from skorch.callbacks import Callback

from skae._engine.session import estimator_in_training, stop_training
from skae._persistence import _check_savable_during_training, _save_during_training

__all__ = ["Checkpoint", "TimeBudget"]


class Checkpoint(Callback):
    """Save the estimator to a file while it trains, to resume a fit that dies.

    A skorch callback for the `callbacks` parameter of the skae autoencoders.
    At the end of every `every`-th epoch (and of the epochs `monitor` marks,
    if set), it writes the estimator with :func:`skae.save`, as a fit ending
    then would leave it: the file loads with :func:`skae.load` like any
    saved model. Each save replaces the file atomically, so it always holds
    one whole checkpoint, even if the process is killed while saving.

    Unlike skorch's own :class:`skorch.callbacks.Checkpoint`, which writes the
    net's torch state, the file holds the whole estimator, with what
    continuing its training needs: the optimizer state, the training history,
    the count of epochs without improvement and, under early stopping, the
    current weights as well as the best ones. A loaded checkpoint fitted with
    ``warm_start=True`` and `max_iter` set to the epochs that were left
    (``max_iter - n_iter_``) trains on exactly as the interrupted fit would
    have: on a CPU, it ends on the same weights, bit for bit. Pass a
    checkpoint in its `callbacks` again to keep saving.

    Read more in the :ref:`User Guide <checkpoints>`.

    Parameters
    ----------
    path : str or path-like
        The file to write (a ``.skae`` suffix is customary). Each save
        replaces it.

    every : int, default=1
        Save at the end of each epoch whose number (counted over all training
        calls, as `n_iter_`) is a multiple of `every`.

    monitor : str, default=None
        A key of the training history: save only at the end of epochs where
        its value is true (and whose number is a multiple of `every`), such
        as ``"valid_loss_best"``, an epoch of the lowest validation loss so
        far under ``early_stopping=True``, or ``"train_loss_best"``. With
        None, the file is also written when training ends (when it completes,
        stops on a plateau, or is stopped by Ctrl-C or SIGTERM, but not when
        an error ends it), so that it holds the estimator as the fit leaves it.

    See Also
    --------
    skae.save : Save an estimator; what each checkpoint does.
    skae.load : Load an estimator, a checkpoint among others.
    skorch.callbacks.Checkpoint : Save a skorch net's parameters.

    Notes
    -----
    The file stores None for the estimator's `callbacks` and `accelerator`
    parameters, which hold objects of the run rather than the model (this
    checkpoint among them), and leaves out `reconstruction_error_`, computed
    on the training data only once a fit ends. Everything else, the
    parameters (an int or None `random_state` only) and the fitted
    attributes, is as after a fit stopped at that epoch.

    Resuming repeats the interrupted fit exactly because each epoch draws its
    batches and noise from the seed and its own index. An epoch cut short by
    Ctrl-C or SIGTERM is not in the history, but its updates are in the
    weights saved when training ends: resuming from that file continues
    training, not bit for bit. Under early stopping, that last file holds
    the best weights, which training goes on from, as after any warm-started
    fit.

    Examples
    --------
    >>> import os, tempfile
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer, load
    >>> from skae.callbacks import Checkpoint
    >>> X = load_digits().data[:200].astype("float32") / 16
    >>> path = os.path.join(tempfile.mkdtemp(), "fit.skae")
    >>> ae = AutoencoderTransformer(
    ...     4, max_iter=4, random_state=0, callbacks=[Checkpoint(path, every=2)]
    ... ).fit(X)
    >>> resumed = load(path)
    >>> resumed.n_iter_, resumed.callbacks
    (4, None)
    """

    def __init__(self, path, *, every=1, monitor=None):
        self.path = path
        self.every = every
        self.monitor = monitor

    def initialize(self):
        """Check the parameters.

        Returns
        -------
        self : object
            The callback.
        """
        if not isinstance(self.path, str | os.PathLike):
            raise TypeError(
                f"Checkpoint's path must be a str or path-like; got {self.path!r}."
            )
        if not (
            isinstance(self.every, Integral)
            and not isinstance(self.every, bool)
            and self.every >= 1
        ):
            raise ValueError(
                f"Checkpoint's every must be a positive int; got {self.every!r}."
            )
        if not (self.monitor is None or isinstance(self.monitor, str)):
            raise TypeError(
                f"Checkpoint's monitor must be a str or None; got {self.monitor!r}."
            )
        return self

    def on_train_begin(self, net, **kwargs):
        """Check that the estimator can be saved, before it trains.

        Parameters
        ----------
        net : skorch.NeuralNet
            The estimator's net.

        **kwargs : dict
            Ignored.
        """
        _check_savable_during_training(estimator_in_training(net))

    def on_epoch_end(self, net, **kwargs):
        """Save the estimator if this epoch is one to save.

        Parameters
        ----------
        net : skorch.NeuralNet
            The estimator's net.

        **kwargs : dict
            Ignored.
        """
        row = net.history[-1]
        if len(net.history) % self.every:
            return
        if self.monitor is not None:
            if self.monitor not in row:
                raise ValueError(
                    f"Checkpoint's monitor={self.monitor!r} is not in the "
                    f"training history, whose keys are {', '.join(sorted(row))}."
                )
            if not row[self.monitor]:
                return
        self._save(net)

    def on_train_end(self, net, **kwargs):
        """Save the estimator as training leaves it.

        Nothing is saved if `monitor` is set, or if an error ended training.

        Parameters
        ----------
        net : skorch.NeuralNet
            The estimator's net.

        **kwargs : dict
            Ignored.
        """
        if self.monitor is None and not getattr(net, "ending_on_error", False):
            self._save(net)

    def _save(self, net):
        """Save the estimator that `net` trains (on one process only)."""
        accelerator = getattr(net, "accelerator", None)
        if accelerator is not None and not accelerator.is_main_process:
            return
        _save_during_training(estimator_in_training(net), self.path)


class TimeBudget(Callback):
    """End training before a wall-clock budget runs out.

    Optionally, the learning rate is annealed over the epochs the budget
    holds. A skorch callback for the `callbacks` parameter of every skae estimator.
    After each epoch, training ends when another epoch as long as the last
    one would overrun `seconds`, counted from the start of the training call,
    keeping `reserve` epochs' time for what `fit` does after training (the
    pass that measures ``reconstruction_error_`` costs about a third of an
    epoch). The estimator then keeps the weights it reached (under
    ``early_stopping``, its best ones) with no warning: a budget is a
    planned end. `max_iter` still caps the epochs. The budget is also checked
    after every training batch: once it is spent, training ends there, so a
    budget shorter than an epoch (an ``importance_samples=50`` variational
    model on tens of thousands of rows, say) is overrun by one batch, not one
    epoch. The updates of an epoch cut short are kept; ``n_iter_`` and
    ``loss_curve_`` count whole epochs only.

    With `cosine`, each epoch's learning rate follows a cosine from
    `learning_rate_init` towards 0 over the epochs the budget is expected to
    hold: the epochs done plus those that the remaining time holds at the
    last epoch's pace, estimated again after every epoch, so that training
    ends near the bottom of the cosine even when the machine slows down.
    ``benchmarks/bench_conv.py`` trains its budgeted models this way.

    Read more in the :ref:`User Guide <performance>`.

    Parameters
    ----------
    seconds : float
        The wall-clock budget of each training call (each `fit`, or each
        `partial_fit`), in seconds.

    cosine : bool, default=False
        Whether to anneal the learning rate over the budget.

    reserve : float, default=0.5
        Epochs' worth of time kept for the work `fit` does after training.

    See Also
    --------
    Checkpoint : Save the estimator while it trains.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer
    >>> from skae.callbacks import TimeBudget
    >>> X = load_digits().data / 16
    >>> ae = AutoencoderTransformer(
    ...     4, max_iter=1000, callbacks=[TimeBudget(2.0)], random_state=0
    ... ).fit(X)
    >>> ae.n_iter_ < 1000
    True
    """

    def __init__(self, seconds, *, cosine=False, reserve=0.5):
        self.seconds = seconds
        self.cosine = cosine
        self.reserve = reserve

    def initialize(self):
        """Check the parameters.

        Returns
        -------
        self : object
            The callback.
        """
        if not isinstance(self.seconds, Real) or not self.seconds > 0:
            raise ValueError(
                f"TimeBudget's seconds must be a positive number; got {self.seconds!r}."
            )
        if not isinstance(self.reserve, Real) or self.reserve < 0:
            raise ValueError(
                f"TimeBudget's reserve must be a number >= 0; got {self.reserve!r}."
            )
        return super().initialize()

    def on_train_begin(self, net, **kwargs):
        """Start the clock; remember the initial learning rates.

        Parameters
        ----------
        net : skorch.NeuralNet
            The estimator's net.

        **kwargs : dict
            Ignored.
        """
        self.start_ = time.perf_counter()
        self.epochs_ = 0
        self.initial_lr_ = [group["lr"] for group in net.optimizer_.param_groups]

    def on_epoch_begin(self, net, **kwargs):
        """Note when the epoch starts.

        Parameters
        ----------
        net : skorch.NeuralNet
            The estimator's net.

        **kwargs : dict
            Ignored.
        """
        self.epoch_start_ = time.perf_counter()

    def on_batch_end(self, net, training=False, **kwargs):
        """Stop in the middle of an epoch once the budget is spent.

        Parameters
        ----------
        net : skorch.NeuralNet
            The estimator's net.

        training : bool, default=False
            Whether the batch was a training one; validation batches are not
            cut short.

        **kwargs : dict
            Ignored.
        """
        if training and time.perf_counter() - self.start_ >= self.seconds:
            self._stop(net)

    def _stop(self, net):
        """End training, saying why (see :func:`stop_training`)."""
        stop_training(net, f"its time budget of {self.seconds:g} s")

    def on_epoch_end(self, net, **kwargs):
        """Stop when the next epoch would overrun; set the next learning rate.

        Parameters
        ----------
        net : skorch.NeuralNet
            The estimator's net.

        **kwargs : dict
            Ignored.
        """
        now = time.perf_counter()
        self.epochs_ += 1
        last = now - self.epoch_start_
        remaining = self.seconds - (now - self.start_) - self.reserve * last
        if last > remaining:
            self._stop(net)
        if self.cosine:
            expected = self.epochs_ + math.floor(remaining / last)
            factor = 0.5 * (1 + math.cos(math.pi * self.epochs_ / expected))
            for group, lr in zip(
                net.optimizer_.param_groups, self.initial_lr_, strict=True
            ):
                group["lr"] = lr * factor
