"""Callbacks every skae net uses: early stopping, weight averaging, divergence,
the epoch loss."""

# SPDX-License-Identifier: BSD-3-Clause

import contextlib
import math
from collections.abc import Iterator

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, PassthroughScoring

from skae._engine.runtime import epoch_seed, seed_generators


def plain_module(net: NeuralNet) -> torch.nn.Module:
    """The net's module, unwrapped from accelerate's wrappers if it has any."""
    accelerator = getattr(net, "accelerator", None)
    if accelerator is None:
        return net.module_
    return accelerator.unwrap_model(net.module_)


def training_device(net: NeuralNet) -> torch.device:
    """The device the net trains on (accelerate's, if it has an accelerator)."""
    accelerator = getattr(net, "accelerator", None)
    if accelerator is not None:
        return accelerator.device
    return torch.device(net.device)


class EpochSeed(Callback):
    """Seed torch's generators at the start of each epoch, from `seed` and the
    epoch's index in the history (see :func:`~skae._engine.runtime.epoch_seed`).

    An epoch then draws the same batches and noise whichever training call
    runs it: the first, a warm-started one, or one that resumes a checkpoint.
    The estimator trains under a forked RNG, so the global state is untouched.
    It must come before any callback that draws random numbers.
    """

    def __init__(self, seed: int):
        self.seed = seed

    def on_epoch_begin(self, net, **kwargs):
        """Seed the generators for the epoch the history just started."""
        seed_generators(
            epoch_seed(self.seed, len(net.history) - 1), training_device(net)
        )


class EarlyStopping(Callback):
    """Stop on a plateau of a loss; optionally end on the lowest loss's weights.

    An epoch whose `monitor` loss does not improve on the best by the relative
    `tol` is a miss; `patience` misses in a row stop training, as skorch's
    ``EarlyStopping(threshold_mode="rel")`` and scikit-learn's MLP
    (`n_iter_no_change`) do. With `load_best`, the weights of every new lowest
    loss are kept (``best_epoch_`` is its epoch) and restored when training
    ends, also after Ctrl-C or an error. They are copied into tensors cloned
    at the first best: a deep copy of the state dict each time would cost more
    than a training batch of a small network.

    Each training call replays the losses in the history, so that a further
    call (a warm-started fit, also of a loaded model) continues the same
    training, as in MLP: it ends on the best weights of all calls, which it
    starts from, and gets `patience` epochs to improve on them. Only skorch's
    public callback API is used.

    A model saved during a training call (a checkpoint) holds the weights the
    call would end on if it ended then (:meth:`model_weights`), and what
    continuing that very call needs (:meth:`resume_state`): the misses so far
    and, where they differ, the current weights. A loaded checkpoint hands
    them back (:meth:`resume_from`), and its next training call goes on from
    there as if never stopped.
    """

    # Between on_train_begin and on_train_end: a training call is under way.
    _training = False
    # A training call to continue at the next on_train_begin (resume_from).
    _resume = None

    def __init__(
        self,
        monitor: str = "train_loss",
        patience: int = 10,
        tol: float = 1e-4,
        load_best: bool = False,
        verbose: int = 0,
    ):
        self.monitor = monitor
        self.patience = patience
        self.tol = tol
        self.load_best = load_best
        self.verbose = verbose

    def on_train_begin(self, net, **kwargs):
        """Replay the history's losses; look up the module's state tensors."""
        self.best_loss_, self.best_epoch_ = math.inf, None
        self.threshold_ = math.inf
        self.misses_ = 0
        for row in net.history:
            self._record(row[self.monitor], row["epoch"])
        self.misses_ = 0
        self._weights = None
        # From the plain module: restored weights go into the unwrapped one.
        # The tensors share the parameters' memory, which the optimizer
        # updates in place.
        self._state = plain_module(net).state_dict() if self.load_best else None
        if self.load_best and self.best_epoch_ is not None:
            # The last call ended on the best weights so far: these.
            self._keep_weights()
        resume, self._resume = self._resume, None
        if resume is not None:
            # A call saved before it ended goes on: its misses, its weights.
            self.misses_ = resume["misses"]
            if resume["weights"] is not None:
                plain_module(net).load_state_dict(resume["weights"])
        self._training = True

    def on_epoch_end(self, net, **kwargs):
        """Keep the weights of a new lowest loss; count misses and stop."""
        epoch = net.history[-1]
        if self._record(epoch[self.monitor], epoch["epoch"]) and self.load_best:
            self._keep_weights()
        if self.misses_ >= self.patience:
            self._say(
                f"Stopping since {self.monitor} has not improved in the last "
                f"{self.patience} epochs."
            )
            raise KeyboardInterrupt  # skorch's way of ending training quietly

    def on_train_end(self, net, **kwargs):
        """Restore the best weights, then drop the copy of them.

        Kept, the copy would double the memory the weights take, and tensors
        of a GPU would stop the fitted model from unpickling without one. An
        epoch whose loss diverged leaves nothing behind once they are
        restored, so it is dropped from the history too.
        """
        self._training = False
        if self.load_best and self._weights is not None:
            last = net.history[-1] if net.history else {}
            diverged = any(
                not math.isfinite(last.get(key, 0.0))
                for key in ("train_loss", "valid_loss")
            )
            loss = last.get(self.monitor, math.nan)
            if not diverged and loss < self.best_loss_:
                # Training stopped after the epoch's losses, before this
                # callback saw them: its weights, still the module's, are best.
                self._record(loss, last["epoch"])
                self._keep_weights()
            plain_module(net).load_state_dict(self._weights)
            if self.best_epoch_ != last.get("epoch"):
                self._say(f"Restoring best model from epoch {self.best_epoch_}.")
            if diverged:
                del net.history[-1]
        self._state = self._weights = None

    def model_weights(self, net: NeuralNet) -> dict[str, torch.Tensor]:
        """The weights of the model a training call ending now would leave.

        During a call under `load_best`, the best weights so far; otherwise
        the module's.
        """
        if self._training and self.load_best and self._weights is not None:
            return self._weights
        return plain_module(net).state_dict()

    def resume_state(self, net: NeuralNet) -> dict | None:
        """What continuing the training call under way needs, beyond the model
        (:meth:`model_weights`), the optimizer state and the history.

        A dict of ``misses`` (epochs in a row without improvement in this
        call) and ``weights`` (the module's current weights where they are
        not the model's, else None). None between training calls: the next
        call starts afresh, unless one was handed over by :meth:`resume_from`
        and not trained since.
        """
        if not self._training:
            return self._resume
        weights = None
        if self.load_best and self.best_epoch_ != len(net.history):
            weights = plain_module(net).state_dict()
        return {"misses": self.misses_, "weights": weights}

    def resume_from(self, state: dict) -> None:
        """Continue, at the next training call, the call that `state` (from
        :meth:`resume_state`) describes; the module holds its model weights."""
        self._resume = state

    def training_state(self) -> dict:
        """What a training call that fails must put back (see
        :meth:`restore_training_state`): a resumed call not yet trained."""
        return {"resume": self._resume}

    def restore_training_state(self, state: dict) -> None:
        """Put back what :meth:`training_state` copied."""
        self._resume = state["resume"]

    @property
    def stopped(self) -> bool:
        """Whether the last training call ended on a plateau."""
        return getattr(self, "misses_", 0) >= self.patience

    def _record(self, loss: float, epoch: int) -> bool:
        """Count an epoch's miss or improvement; whether its loss is the lowest."""
        if loss < self.threshold_:
            self.misses_ = 0
            # |loss|: a negative log-likelihood can be below zero.
            self.threshold_ = loss - self.tol * abs(loss)
        else:
            self.misses_ += 1
        if not loss < self.best_loss_:
            return False
        self.best_loss_, self.best_epoch_ = loss, epoch
        return True

    def _keep_weights(self) -> None:
        """Copy the module's current weights into the kept best weights."""
        if self._weights is None:
            self._weights = {
                key: value.detach().clone() for key, value in self._state.items()
            }
            return
        for best, current in zip(
            self._weights.values(), self._state.values(), strict=True
        ):
            best.copy_(current)

    def _say(self, message: str) -> None:
        """Print `message` when verbose."""
        if self.verbose:
            print(message)

    def __getstate__(self):
        state = self.__dict__.copy()
        # The module pickles its own weights; a copy mid-training is not kept.
        state["_state"] = state["_weights"] = None
        return state


class WeightAverage(Callback):
    """End each training call on an exponential moving average of the weights.

    After every optimizer step, ``average += (1 - d) * (weights - average)``
    (as PyTorch's :func:`~torch.optim.swa_utils.get_ema_multi_avg_fn`), starting
    from the weights after the call's first step; when training ends, the
    module takes the average. The decay ``d`` of the `t`-th update is
    ``min(decay, (1 + t) / (10 + t))``, as TensorFlow's
    ``ExponentialMovingAverage`` with ``num_updates``: a short training call
    averages over about its last tenth of steps instead of keeping its first
    weights in the average. Validation epochs score the average
    (:meth:`validation_weights`), so that early stopping stops on its loss.
    The last weights are kept instead with `decay` 0 (the estimator then has
    early stopping keep its best epoch's weights) and when an error ends
    training. The average is updated from an optimizer step hook rather
    than skorch's ``on_batch_end``, so that epochs keep the net's fast path
    (no per-batch notifications, no per-batch copy of the loss to the host).

    A model saved during a training call (a checkpoint) holds the average,
    the weights a call ending then would leave (:meth:`model_weights`), and
    the current weights as resume weights; :meth:`resume_state` gives the
    number of updates so far, and :meth:`resume_from` hands it back, so that
    the next training call goes on with the same average from the module's
    weights. It must come before the early-stopping callback, which puts the
    current weights back at the start of that call.
    """

    # The optimizer hook's handle: set between on_train_begin and
    # on_train_end while averaging.
    _handle = None
    # The updates of a saved call's average that the next call continues.
    _resume = None

    def __init__(self, decay: float = 0.99):
        self.decay = decay

    def on_train_begin(self, net, **kwargs):
        """Start the average (from the module's weights when resuming) and
        hook it to the optimizer's steps."""
        resume, self._resume = self._resume, None
        self._averaged = None
        self._updates = 0
        if not self.decay:
            return
        self._names, self._weights = zip(
            *plain_module(net).named_parameters(), strict=True
        )
        if resume is not None:
            # The module holds the saved average; early stopping puts the
            # current weights back after this.
            self._averaged = [p.detach().clone() for p in self._weights]
            self._updates = resume
        optimizer = getattr(net.optimizer_, "optimizer", net.optimizer_)
        self._handle = optimizer.register_step_post_hook(self._step)

    @torch.no_grad()
    def _step(self, optimizer, args, kwargs) -> None:
        """Fold the weights after an optimizer step into the average."""
        weights = self._weights
        if self._averaged is None:
            self._averaged = [p.detach().clone() for p in weights]
            return
        self._updates += 1
        decay = min(self.decay, (1 + self._updates) / (10 + self._updates))
        # What get_ema_multi_avg_fn(decay) computes, without building a
        # closure for each step's decay: this runs after every step.
        torch._foreach_lerp_(self._averaged, weights, 1 - decay)

    @contextlib.contextmanager
    def validation_weights(self, net: NeuralNet) -> Iterator[None]:
        """Validate the average: hold it in the module meanwhile (the net's
        seam, see :meth:`~skae._engine.net.Net.run_single_epoch`)."""
        if self._handle is None or self._averaged is None:
            yield
            return
        with torch.no_grad():
            current = [weights.detach().clone() for weights in self._weights]
            torch._foreach_copy_(self._weights, self._averaged)
        try:
            yield
        finally:
            with torch.no_grad():
                torch._foreach_copy_(self._weights, current)

    @torch.no_grad()
    def on_train_end(self, net, **kwargs):
        """Give the module the average, unless an error ended training."""
        if self._handle is None:
            return
        self._handle.remove()
        if self._averaged is not None and not getattr(net, "ending_on_error", False):
            for weights, average in zip(self._weights, self._averaged, strict=True):
                weights.copy_(average)
        self._names = self._weights = self._averaged = self._handle = None

    def model_weights(self, net: NeuralNet) -> dict[str, torch.Tensor] | None:
        """The weights a training call ending now would leave, if they are an
        average (None otherwise)."""
        if self._handle is None or self._averaged is None:
            return None
        averaged = dict(zip(self._names, self._averaged, strict=True))
        # Buffers are copied: the current weights are saved beside these.
        return {
            name: averaged[name] if name in averaged else value.clone()
            for name, value in plain_module(net).state_dict().items()
        }

    def resume_state(self) -> int | None:
        """The updates of the average that the model weights of a save now
        are (during training), or of a resume handed over and not trained
        since; None if they are no average to go on with."""
        if self._handle is not None and self._averaged is not None:
            return self._updates
        return self._resume

    def resume_from(self, updates: int | None) -> None:
        """Continue, at the next training call, the average of `updates`
        updates that the module's weights hold (see :meth:`resume_state`)."""
        self._resume = updates

    def training_state(self) -> dict:
        """What a training call that fails must put back: a pending resume."""
        return {"resume": self._resume}

    def restore_training_state(self, state: dict) -> None:
        """Put back what :meth:`training_state` copied."""
        self._resume = state["resume"]

    def __getstate__(self):
        state = self.__dict__.copy()
        # Only the state between training calls is kept.
        for key in ("_names", "_weights", "_averaged", "_handle"):
            state.pop(key, None)
        return state


class DivergenceCheck(Callback):
    """Stop training with a readable error once an epoch's loss is not finite.

    Checked per epoch, not per batch: reading a batch's loss makes the host
    wait for the device, and a non-finite batch loss makes its epoch's mean
    loss non-finite too.
    """

    def on_epoch_end(self, net, **kwargs):
        """Raise ``ValueError`` if this epoch's loss is NaN or infinite."""
        for name in ("train_loss", "valid_loss"):
            loss = net.history[-1].get(name)
            if loss is not None and not math.isfinite(loss):
                raise ValueError(
                    f"Training diverged: the {name.replace('_', ' ')} became {loss} "
                    f"in epoch {len(net.history)}. Scale the input (e.g. "
                    "StandardScaler or MinMaxScaler in a Pipeline) or lower "
                    "learning_rate_init."
                )


class EpochLoss(PassthroughScoring):
    """skorch's PassthroughScoring, averaging the epoch's batch losses in Python.

    skorch slices them out of the history and averages them with NumPy, which
    for a small network costs a few training batches per epoch.
    """

    def get_avg_score(self, history):
        """The epoch's mean of the batch scores, weighted by batch size."""
        size_key = ("train" if self.on_train else "valid") + "_batch_size"
        batches = [row for row in history[-1]["batches"] if self.name in row]
        total = sum(row[size_key] for row in batches)
        return sum(row[self.name] * row[size_key] for row in batches) / total
