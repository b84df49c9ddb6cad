"""What every skae estimator shares: seeding, device, training, prediction."""

# SPDX-License-Identifier: BSD-3-Clause

import copy
import warnings
from contextlib import contextmanager
from dataclasses import KW_ONLY, dataclass
from functools import partial
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from skorch.callbacks import ProgressBar

from skae._compat import Interval, StrOptions
from skae._engine.callbacks import (
    DivergenceCheck,
    EarlyStopping,
    EpochSeed,
    plain_module,
)
from skae._engine.data import (
    PREDICT_BATCH_VALUES,
    RowDataset,
    predict_in_batches,
    validation_split,
)
from skae._engine.net import NO_CRITERION, AcceleratedNet, Net, net_options
from skae._engine.runtime import (
    broadcast_from_main,
    make_seed,
    resolve_device,
    seeded,
)
from skae._engine.session import training

FLOAT_DTYPES = [np.float64, np.float32]


def check_layer_sizes(sizes, name):
    """Return `sizes` (an int or a sequence) as a tuple of positive ints."""
    sizes = (sizes,) if isinstance(sizes, Integral) else tuple(sizes)
    if not all(isinstance(size, Integral) and size >= 1 for size in sizes):
        raise ValueError(f"{name} must be positive integers; got {sizes!r}.")
    return sizes


@dataclass(eq=False, repr=False)
class _BaseNeuralEstimator(BaseEstimator):
    """Base class of every skae estimator: the autoencoders and the classifier.

    Warning: This class should not be used directly. Use the derived classes
    instead. It owns what training a network means in skae, written once:
    the training parameters every estimator shares (their defaults included),
    the seed drawn from `random_state`, the device, the skorch net with its
    callbacks (divergence check, plateau stop or early stopping, progress
    bar), training under a forked RNG, the fitted attributes read from the
    history, the convergence warning and batched prediction. A fit that
    raises leaves the estimator as it was before that call.

    Parameters come in layers: each class is a dataclass whose fields are its
    own parameters, so that the ``__init__`` that dataclasses write lists a
    class's parameters and its bases', each default written once, and only
    assigns them (as scikit-learn requires). A class adds parameters; it
    never removes one. Subclasses build the module and the loss, and may fill
    in two hooks: ``_init_module(X)`` (called once, after the net is
    initialised) and ``_validation_score(row)`` (the score recorded per epoch
    under early stopping).
    """

    _: KW_ONLY
    alpha: float = 0.0
    batch_size: int = 256
    learning_rate_init: float = 1e-3
    max_iter: int = 200
    early_stopping: bool = False
    validation_fraction: float = 0.1
    n_iter_no_change: int = 10
    tol: float = 1e-2
    shuffle: bool = True
    random_state: Any = None
    device: str = "cpu"
    precision: str = "float32"
    verbose: int = 0
    callbacks: list | None = None

    _parameter_constraints = {
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "device": [str],
        "precision": [StrOptions({"float32", "bfloat16"})],
        "verbose": ["verbose"],
        "callbacks": [list, None],
    }

    # Parameters the built network depends on. warm_start and partial_fit
    # continue that network, so they refuse to run once one of these changed.
    _network_params = ("early_stopping",)

    @property
    def module_(self):
        """The fitted torch module (a :class:`torch.nn.Module`), in eval mode."""
        return plain_module(self.net_)

    def _start(self):
        """Draw the seed of a new network; return the device it trains on."""
        accelerator = getattr(self, "accelerator", None)
        # Data-parallel processes must shuffle alike: the main one's seed.
        self._seed = broadcast_from_main(make_seed(self.random_state), accelerator)
        self._record_network_params()
        return (
            resolve_device(self.device) if accelerator is None else accelerator.device
        )

    def _record_network_params(self):
        """Remember the parameters the network is built from."""
        self._network = {name: self._param_value(name) for name in self._network_params}

    def _net_device(self):
        """The device the network trains on."""
        accelerator = getattr(self.net_, "accelerator", None)
        if accelerator is not None:
            return accelerator.device
        return torch.device(self.net_.device)

    def _param_value(self, name):
        """A copy of parameter `name`, to compare with later values."""
        return copy.deepcopy(self.get_params(deep=False)[name])

    def _changed_network_params(self):
        """Describe the parameters changed since the network was built, or ''."""
        return ", ".join(
            f"{name} (was {value!r})"
            for name, value in self._network.items()
            if not _same(self._param_value(name), value)
        )

    def _check_network_unchanged(self):
        """Refuse to continue training a network its parameters no longer describe."""
        changed = self._changed_network_params()
        if changed:
            raise ValueError(
                f"Changed since the network was built: {changed}. warm_start and "
                "partial_fit continue training that network; set the parameter "
                "back, or fit with warm_start=False to build a new network."
            )

    def _stopping(self):
        """Seam: whether training stops early, and its patience (the
        `early_stopping` and `n_iter_no_change` parameters)."""
        return self.early_stopping, self.n_iter_no_change

    def _keeps_best(self):
        """Seam: whether early stopping ends on the best epoch's weights
        (rather than on those the last epoch leaves)."""
        return self._stopping()[0]

    def _make_net(self, module, *, loss, n_features, device, callbacks=(), **options):
        """Build the (uninitialised) skorch net that trains `module` with `loss`."""
        early_stopping, patience = self._stopping()
        callbacks = [
            ("epoch_seed", EpochSeed(self._seed)),
            ("divergence_check", DivergenceCheck()),
            *callbacks,
            (
                "early_stopping",
                EarlyStopping(
                    monitor="valid_loss" if early_stopping else "train_loss",
                    patience=patience,
                    tol=self.tol,
                    load_best=self._keeps_best(),
                    verbose=self.verbose,
                ),
            ),
        ]
        if self.verbose:
            callbacks.append(("progress_bar", ProgressBar()))
        train_split = None
        if early_stopping:
            train_split = partial(
                validation_split, fraction=self.validation_fraction, seed=self._seed
            )
        accelerator = getattr(self, "accelerator", None)
        if accelerator is not None and self.precision != "float32":
            raise ValueError(
                f"precision={self.precision!r} is set by the accelerator when "
                "training through one (Accelerator(mixed_precision='bf16')); "
                "leave precision='float32'."
            )
        net_class = Net if accelerator is None else AcceleratedNet
        return net_class(
            module=module,
            loss=loss,
            criterion=NO_CRITERION,
            optimizer__weight_decay=self.alpha,
            lr=self.learning_rate_init,
            max_epochs=self.max_iter,
            batch_size=self.batch_size,
            dataset=RowDataset,
            # No gradients in validation: inference-sized batches give the same
            # (size-weighted) loss with less per-batch overhead.
            iterator_valid__batch_size=max(
                self.batch_size, PREDICT_BATCH_VALUES // max(n_features, 1)
            ),
            train_split=train_split,
            callbacks=callbacks,
            precision=self.precision,
            warm_start=True,
            **net_options(
                device,
                shuffle=self.shuffle,
                verbose=self.verbose,
                accelerator=accelerator,
            ),
            **options,
        )

    def _train(self, X, y=None, *, epochs):
        """Train the net for up to `epochs` epochs; read the fitted attributes.

        Training continues from the net's state. The initial weights are drawn
        from the estimator's seed, and each epoch's batches from that seed and
        the epoch's index, so that fits are reproducible and training split
        into calls anywhere is the same as one call. Ctrl-C, or SIGTERM
        (see :func:`~skae._engine.session.training`), ends the call early with
        a warning that says what the estimator keeps.
        """
        net = self.net_
        n_before = len(net.history) if net.initialized_ else 0
        # The `callbacks` parameter (deep copies) runs after the net's own.
        net.use_callbacks(self.callbacks)
        with seeded(self._seed, self._net_device()), training(self) as call:
            if net.initialized_:
                self._update_training_params()
            else:
                net.initialize()
                self._init_module(X)
            net.partial_fit(X, y, epochs=epochs)
        self._set_fitted_attributes()
        stopped = dict(net.callbacks_)["early_stopping"].stopped
        if epochs > 1 and self.n_iter_ - n_before == epochs and not stopped:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({epochs}) reached and "
                "the optimization hasn't converged yet. Increase max_iter, or "
                "raise tol to stop on a plateau sooner.",
                ConvergenceWarning,
                stacklevel=4,
            )
        n_run = self.n_iter_ - n_before
        call.warn_if_cut_short(epochs_run=n_run, epochs=epochs, stopped=stopped)

    def _update_training_params(self):
        """Pass parameters that may change between training calls to the net.

        The learning rate, weight decay, batch size, precision, shuffling and
        plateau settings apply to a warm-started fit as set at that time, as in
        scikit-learn's MLP; Adam's running moments are kept.
        """
        net = self.net_
        for group in net.optimizer_.param_groups:
            group["lr"] = self.learning_rate_init
            group["weight_decay"] = self.alpha
        net.batch_size = self.batch_size
        net.precision = self.precision
        net.iterator_train__shuffle = self.shuffle
        early_stopping = dict(net.callbacks_)["early_stopping"]
        early_stopping.patience = self._stopping()[1]
        early_stopping.tol = self.tol
        early_stopping.load_best = self._keeps_best()

    def _init_module(self, X):
        """Hook: set the freshly initialised module's weights from `X`."""

    @contextmanager
    def _unchanged_on_error(self):
        """Leave the estimator as it was before the block if the block raises.

        A first fit that fails leaves it unfitted; a warm-started fit or
        `partial_fit` that fails leaves the previous fitted model, its weights,
        optimizer state and history included.
        """
        before = dict(vars(self))
        net = before.get("net_")
        state = net.training_state() if net is not None and net.initialized_ else None
        try:
            yield
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            if state is not None:
                net.restore_training_state(state)
            raise

    def _set_fitted_attributes(self):
        """Read the training history into scikit-learn style attributes."""
        # Empty if Ctrl-C interrupted the first epoch.
        history = self.net_.history
        self.n_iter_ = len(history)
        self.loss_curve_ = [float(row["train_loss"]) for row in history]
        self.validation_scores_ = self.best_validation_score_ = None
        self.best_loss_ = min(self.loss_curve_, default=None)
        if self._stopping()[0]:
            self.validation_scores_ = [self._validation_score(row) for row in history]
            self.best_loss_ = None
            if len(history):
                # The lowest validation loss (whose weights early stopping
                # keeps unless training ends on an average).
                best = min(history, key=lambda row: row["valid_loss"])
                self.best_loss_ = float(best["valid_loss"])
                self.best_validation_score_ = self._validation_score(best)
        self.net_.module_.eval()

    def _validation_score(self, row):
        """The validation score of an epoch of the history (higher is better)."""
        return -float(row["valid_loss"])

    def _predict(self, function, X):
        """Apply `function(module, X_batch)` to `X` in inference mode."""
        module = self.module_
        device = next(module.parameters()).device
        return predict_in_batches(module, function, X, device, self.precision)


def _same(a, b):
    """Whether two parameter values are equal (tuples and lists alike)."""
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(map(_same, a, b))
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return a is b
