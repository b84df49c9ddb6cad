"""The skorch net that trains every skae estimator.

:class:`Net` is a :class:`skorch.NeuralNet` that plugs into skorch's documented
seams: ``dataset``, ``iterator_train`` / ``iterator_valid``, ``train_split``,
``run_single_epoch``, ``train_step``, ``train_step_single`` and ``get_loss``.
The estimator gives it a loss function and, for training inputs only, a
corruption; the net knows no estimator kind. Private skorch names are used in
one place only, :class:`AcceleratedNet`, and the skorch versions this was
tested with are pinned in ``pyproject.toml``.
"""

# SPDX-License-Identifier: BSD-3-Clause

import contextlib
import copy
import operator
import warnings
from collections.abc import Callable

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, PassthroughScoring
from skorch.dataset import unpack_data
from skorch.exceptions import DeviceWarning
from skorch.hf import AccelerateMixin

from skae._engine.callbacks import EpochLoss, plain_module
from skae._engine.data import BatchIterator
from skae._engine.runtime import autocast

# Devices with a fused Adam kernel: one kernel updates every parameter, where
# torch's default on CPU loops over the tensors in Python.
FUSED_ADAM_DEVICES = ("cpu", "cuda")

# skorch requires a criterion; the loss comes from the estimator (`loss`), so
# the criterion is an empty module that is never called.
NO_CRITERION = torch.nn.Module


def net_options(
    device: torch.device, *, shuffle: bool, verbose: int, accelerator=None
) -> dict:
    """Keyword arguments every skae net shares: the batch data path, Adam
    (fused where torch has the kernel) and no per-epoch log unless verbose.

    With an ``accelerate.Accelerator`` (whose ``device`` the caller passes),
    accelerate places the network and the training rows are sharded between
    its processes.
    """
    options = {
        "optimizer": torch.optim.Adam,
        "optimizer__fused": device.type in FUSED_ADAM_DEVICES,
        "iterator_train": BatchIterator,
        "iterator_train__shuffle": shuffle,
        "iterator_train__device": device,
        "iterator_valid": BatchIterator,
        "iterator_valid__device": device,
        "device": str(device),
        "verbose": verbose,
    }
    if accelerator is not None:
        options["accelerator"] = accelerator
        options["device"] = None
        options["iterator_train__process_index"] = accelerator.process_index
        options["iterator_train__num_processes"] = accelerator.num_processes
        if not verbose:
            # The accelerated net prints its table through any sink but print.
            options["callbacks__print_log__sink"] = _noop
    elif not verbose:
        # skorch formats the epoch's table even when it prints nothing. (The
        # accelerated net keeps it: it sets the table's sink itself.)
        options["callbacks__print_log"] = None
    return options


def as_float32(output):
    """The module's output (a tensor or a tuple of them) with reduced-precision
    floating tensors cast to float32."""
    if isinstance(output, tuple):
        return tuple(as_float32(item) for item in output)
    if isinstance(output, torch.Tensor) and output.dtype in (
        torch.bfloat16,
        torch.float16,
    ):
        return output.float()
    return output


def _noop(*args, **kwargs) -> None:
    """Swallow the accelerated net's epoch table when not verbose."""


class Net(NeuralNet):
    """skorch's :class:`~skorch.NeuralNet` with the estimator's loss, and without
    per-batch work nobody uses.

    ``loss(module, y_pred, target, training=...)`` computes the loss of a batch
    from the module and its output (see :meth:`get_loss`); ``corrupt``, when
    given, is applied to training inputs only (a denoising autoencoder's
    noise). Both come from the estimator, so that a new kind changes them
    without a new net.

    skorch copies each batch's loss to the host (``loss.item()``), notifies
    the callbacks around each batch and passes the optimizer a closure that
    notifies them of the gradients. On a GPU every copy makes the host wait
    for the device; for the small networks of autoencoders the rest costs a few
    percent of the training time. When neither the net nor a callback acts on a
    batch's begin or end (a progress bar or a batch logger does), an epoch runs
    without those notifications and writes the same batch records to the
    history at its end, from one copy; when no callback acts on the gradients
    (gradient clipping does), the optimizer steps without a closure.
    """

    def __init__(
        self,
        *args,
        loss: Callable[..., torch.Tensor],
        corrupt: Callable[[torch.Tensor], torch.Tensor] | None = None,
        precision: str = "float32",
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.loss = loss
        self.corrupt = corrupt
        self.precision = precision

    def get_default_callbacks(self):
        """skorch's default callbacks, with a cheaper epoch loss average."""
        return [
            (name, EpochLoss(**callback.get_params()))
            if type(callback) is PassthroughScoring
            else (name, callback)
            for name, callback in super().get_default_callbacks()
        ]

    # Whether on_train_begin was notified to every callback, and on_train_end
    # not yet: training is under way and must be ended.
    _training = False

    #: Whether ``on_train_end`` is being notified because an error ended
    #: training (the error is passed on after it): a callback that saves the
    #: model at the end of training should not save this one, which the
    #: estimator is about to discard.
    ending_on_error = False

    # The estimator's callbacks as last passed to `use_callbacks`, and the
    # deep copies of them that the net trains with, after its own.
    _callbacks_passed: tuple = ()
    _callbacks_copied: tuple = ()

    def use_callbacks(self, callbacks) -> None:
        """Train with deep copies of the estimator's `callbacks`, after the net's own.

        Called before each training call. The copies are made again only when
        `callbacks` holds other objects than those passed last: a callback
        keeps its state over warm-started calls, and callbacks set with
        ``set_params`` between them take effect. The objects passed are never
        changed (skorch initialises callbacks in place).
        """
        passed = tuple(callbacks or ())
        if len(passed) == len(self._callbacks_passed) and all(
            map(operator.is_, passed, self._callbacks_passed)
        ):
            return
        own = list(self.callbacks or [])
        own = own[: len(own) - len(self._callbacks_copied)]
        self._callbacks_passed = passed
        self._callbacks_copied = tuple(copy.deepcopy(list(passed)))
        self.callbacks = [*own, *self._callbacks_copied]
        if self.initialized_:
            self.initialize_callbacks()

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train (see skorch's docstring); end training alike on Ctrl-C or an error.

        skorch ends training quietly on ``KeyboardInterrupt``, notifying the
        callbacks' ``on_train_end`` (early stopping restores the best weights
        there), but not after another error. Here training ends the same way
        after an error raised while it was under way, which is then passed on;
        meanwhile :attr:`ending_on_error` is true.
        """
        try:
            super().partial_fit(X, y, classes, **fit_params)
        except BaseException:  # SystemExit too; skorch already caught Ctrl-C
            if self._training:
                self.ending_on_error = True
                try:
                    self.notify("on_train_end", X=X, y=y)
                finally:
                    self.ending_on_error = False
            raise
        return self

    def notify(self, method_name, **cb_kwargs):
        """Notify the net and its callbacks; track whether training is under way."""
        if method_name == "on_train_end":
            self._training = False
        super().notify(method_name, **cb_kwargs)
        if method_name == "on_train_begin":
            self._training = True

    def on_train_end(self, net, **kwargs):
        """Drop an epoch cut short from the history, before the callbacks see it.

        Its losses were never recorded; its updates are kept (or replaced by
        the best weights, under early stopping). The history then holds whole
        epochs only, and training can go on from there.
        """
        super().on_train_end(net, **kwargs)
        keys = ("train_loss", "valid_loss") if self.train_split else ("train_loss",)
        if self.history and not all(key in self.history[-1] for key in keys):
            del self.history[-1]

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """Run one training or validation epoch (see skorch's docstring).

        A callback with a ``validation_weights(net)`` context manager (the
        weight average) puts the weights to validate in the module for the
        validation epoch.
        """
        with contextlib.ExitStack() as weights:
            if not training and iterator is not None:
                for _, callback in self.callbacks_:
                    if hasattr(callback, "validation_weights"):
                        weights.enter_context(callback.validation_weights(self))
            self._run_epoch(iterator, training, prefix, step_fn, **fit_params)

    def _run_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        """Run an epoch; without batch notifications when nothing acts on them."""
        if iterator is None or self._acts_on("on_batch_begin", "on_batch_end"):
            super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
            return
        losses, sizes = None, []
        for i, batch in enumerate(iterator):
            loss = step_fn(batch, **fit_params)["loss"].detach()
            if losses is None:
                # The epoch's losses are written into one tensor. Keeping each
                # batch's loss would keep its batch-sized buffer (torch's mean
                # losses are views of it), and even a copy pins a small block
                # between freed batch buffers, which grew glibc's heap.
                losses = loss.new_empty(len(iterator))
            losses[i] = loss
            sizes.append(len(batch[0]))  # skae's iterators yield tensors
        values = losses.tolist() if sizes else []
        self.history[-1]["batches"].extend(
            {f"{prefix}_loss": value, f"{prefix}_batch_size": size}
            for value, size in zip(values, sizes, strict=True)
        )
        self.history.record(f"{prefix}_batch_count", len(sizes))

    def train_step(self, batch, **fit_params):
        """Take one optimizer step on `batch` (see skorch's docstring)."""
        if self._acts_on("on_grad_computed"):
            return super().train_step(batch, **fit_params)
        # skae nets have one optimizer. The loss is computed: step without a
        # closure (accelerate's optimizer wrappers step alike).
        self.optimizer_.zero_grad(set_to_none=True)
        step = self.train_step_single(batch, **fit_params)
        self.optimizer_.step()
        return step

    def validation_step(self, batch, **fit_params):
        """Score one batch under ``torch.inference_mode`` (see skorch's docstring).

        skorch sets evaluation mode before every batch; here only on a change.
        """
        self._switch_mode(training=False)
        X, target = unpack_data(batch)
        with torch.inference_mode():
            with self.autocast():
                y_pred = self.infer(X, **fit_params)
            y_pred = as_float32(y_pred)
            loss = self.get_loss(y_pred, target, X=X, training=False)
        return {"loss": loss, "y_pred": y_pred}

    def _switch_mode(self, *, training: bool) -> None:
        """Set train or eval mode, only on a change: skorch sets it before every
        batch, and walking the module tree costs as much as a small batch."""
        if self.module_.training != training:
            self.module_.train(training)

    def infer(self, x, **fit_params):
        """Run the module on a batch, which skae's iterators put on its device."""
        return self.module_(x, **fit_params)

    def _acts_on(self, *events: str) -> bool:
        """Whether the net or one of its callbacks does anything on `events`."""
        for name in events:
            if getattr(type(self), name) is not getattr(NeuralNet, name):
                return True
            default = getattr(Callback, name)
            for _, callback in self.callbacks_:
                if getattr(type(callback), name, default) is not default:
                    return True
        return False

    def train_step_single(self, batch, **fit_params):
        """Compute the loss of a (corrupted) training batch; backpropagate."""
        self._switch_mode(training=True)
        X, target = unpack_data(batch)
        X_in = X if self.corrupt is None else self.corrupt(X)
        with self.autocast():
            y_pred = self.infer(X_in, **fit_params)
        # The loss is computed in float32 whatever the forward pass's precision.
        y_pred = as_float32(y_pred)
        loss = self.get_loss(y_pred, target, X=X_in, training=True)
        self.backward(loss)
        return {"loss": loss, "y_pred": y_pred}

    def training_state(self) -> dict:
        """A copy of what training changes: weights, optimizer state, history,
        and the state of callbacks that have one to put back (a
        ``training_state`` method)."""
        module = plain_module(self)
        return {
            "module": {k: v.detach().clone() for k, v in module.state_dict().items()},
            "optimizer": copy.deepcopy(self.optimizer_.state_dict()),
            "n_epochs": len(self.history),
            "callbacks": [
                (callback, callback.training_state())
                for _, callback in self.callbacks_
                if hasattr(callback, "training_state")
            ],
        }

    def restore_training_state(self, state: dict) -> None:
        """Put back a state copied by :meth:`training_state`."""
        plain_module(self).load_state_dict(state["module"])
        self.optimizer_.load_state_dict(state["optimizer"])
        del self.history[state["n_epochs"] :]
        for callback, callback_state in state["callbacks"]:
            callback.restore_training_state(callback_state)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The estimator's loss of a batch.

        ``loss(module, y_pred, y_true, training=...)`` returns the loss, or a
        dict of it (``"loss"``) and named terms, whose means over the
        epoch's training rows the history records as ``train_<name>``.
        """
        loss = self.loss(plain_module(self), y_pred, y_true, training=training)
        if not isinstance(loss, dict):
            return loss
        terms = dict(loss)
        loss = terms.pop("loss")
        if training:
            self._add_terms(terms, len(y_true))
        return loss

    def _add_terms(self, terms: dict[str, torch.Tensor], n_rows: int) -> None:
        """Add a batch's loss terms (weighted by its rows) to the epoch's sums.

        Summed on the device: reading them each batch would make the host wait.
        """
        if self._terms is None:
            self._terms = {name: 0.0 for name in terms}
            self._terms_rows = 0
        for name, value in terms.items():
            self._terms[name] = self._terms[name] + value.detach() * n_rows
        self._terms_rows += n_rows

    _terms: dict | None = None

    def on_epoch_end(self, net, **kwargs):
        """Record the means of the epoch's loss terms, then reset them."""
        super().on_epoch_end(net, **kwargs)
        if self._terms:
            for name, total in self._terms.items():
                self.history.record(f"train_{name}", float(total) / self._terms_rows)
        self._terms = None

    def autocast(self) -> contextlib.AbstractContextManager:
        """Context of the forward pass: bfloat16 matrix products for
        ``precision="bfloat16"``, nothing for float32."""
        return autocast(self.precision, torch.device(self.device).type)

    def backward(self, loss: torch.Tensor) -> None:
        """Backpropagate the training loss."""
        loss.backward()


class AcceleratedNet(AccelerateMixin, Net):
    """A :class:`Net` trained through Hugging Face accelerate.

    skorch's :class:`~skorch.hf.AccelerateMixin` prepares the module and the
    optimizer (DistributedDataParallel across processes, mixed precision,
    gradient accumulation). The net keeps its own training step (the
    estimator's corruption and loss), and :class:`BatchIterator` shards the training
    rows itself, so validation scores every validation row on every process
    and gathers nothing.

    This is the one place that uses skorch's private names (``_criteria``,
    ``_initialize_accelerator``, ``_wrapped_with_accelerator``): skorch offers
    no public hook for what they do, and the tested skorch versions are
    pinned.
    """

    train_step_single = Net.train_step_single

    def autocast(self) -> contextlib.AbstractContextManager:
        """accelerate's autocast (mixed precision when configured)."""
        return self.accelerator.autocast()

    def backward(self, loss: torch.Tensor) -> None:
        """Backpropagate through accelerate (loss scaling, accumulation)."""
        self.accelerator.backward(loss)

    def evaluation_step(self, batch, training=False):
        """Plain skorch evaluation: each process holds all validation rows."""
        return NeuralNet.evaluation_step(self, batch, training=training)

    def _initialize_accelerator(self):
        """Prepare as skorch does, leaving out criteria without parameters.

        The reconstruction losses have none, and on several CPU processes
        accelerate wraps every module it prepares in DistributedDataParallel,
        which refuses such a module.
        """
        criteria = self._criteria
        self._criteria = [
            name
            for name in criteria
            if any(True for _ in getattr(self, name + "_").parameters())
        ]
        try:
            return super()._initialize_accelerator()
        finally:
            self._criteria = criteria

    def __setstate__(self, state):
        """Unpickle on the CPU without skorch's warning that no device was set.

        accelerate placed the module, so ``device`` is None; it stays None, so
        that accelerate places the module again if training continues.
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeviceWarning)
            super().__setstate__(state)
        self.device = None

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        """Wrap the module again when training continues after an unwrap.

        skorch unwraps the module at the end of training, so that the fitted
        estimator pickles; ``partial_fit`` and ``warm_start`` must train the
        wrapped module again, or processes would stop averaging gradients.
        """
        if not self._wrapped_with_accelerator:
            self.module_ = self.accelerator.prepare(self.module_)
            self._wrapped_with_accelerator = True
        super().on_train_begin(net, X=X, y=y, **kwargs)
