"""Training internals: the skorch net, its data path and callbacks.

The net is a private :class:`skorch.NeuralNet` whose target is its input. It
plugs into skorch's documented seams only: ``dataset``, ``iterator_train`` /
``iterator_valid``, ``train_split``, ``run_single_epoch``, ``train_step``,
``train_step_single`` and ``get_loss``.
"""

# SPDX-License-Identifier: BSD-3-Clause

import contextlib
import math
import warnings
from collections.abc import Callable, Iterator

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.model_selection import train_test_split
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, PassthroughScoring
from skorch.dataset import unpack_data
from skorch.exceptions import DeviceWarning
from skorch.hf import AccelerateMixin

from skae._utils import rows_to_tensor

ArrayLike = np.ndarray | sp.spmatrix | torch.Tensor

# Devices with a fused Adam kernel: one kernel updates every parameter, where
# torch's default on CPU loops over the tensors in Python.
FUSED_ADAM_DEVICES = ("cpu", "cuda")


class RowDataset(torch.utils.data.Dataset):
    """Rows ``indices`` of an array, memmap, sparse matrix or tensor ``X``.

    Holds a reference, never a copy: :class:`BatchIterator` gathers whole
    batches from it, which is far cheaper than skorch's default per-sample
    indexing and collation for the small dense networks autoencoders use.
    ``y`` holds integer labels for a classifier, or None for an autoencoder.
    """

    def __init__(
        self,
        X: ArrayLike,
        y: np.ndarray | None = None,
        indices: np.ndarray | None = None,
    ):
        self.X = X
        self.y = y
        self.indices = indices

    def __len__(self) -> int:
        return self.X.shape[0] if self.indices is None else len(self.indices)

    def rows(self, positions: slice | np.ndarray) -> slice | np.ndarray:
        """Map positions in this dataset to row numbers of ``X``."""
        return positions if self.indices is None else self.indices[positions]

    def subset(self, positions: np.ndarray) -> "RowDataset":
        """The rows at ``positions`` of this dataset, as a dataset."""
        return RowDataset(self.X, self.y, indices=self.rows(positions))

    def __getitem__(self, i: int):
        row = self.rows(np.array([i]))
        X_row = rows_to_tensor(self.X, row, torch.device("cpu"))[0]
        return X_row if self.y is None else (X_row, torch.from_numpy(self.y[row])[0])


class BatchIterator:
    """Yield ``(X_batch, target)`` pairs of tensors on ``device``.

    The target is the labels when the dataset has some, else the input itself
    (one tensor serves as both). With ``shuffle`` the order comes from torch's
    RNG, which the estimators seed and fork. Rows within a batch are sorted,
    for locality on memory-mapped files. Data staged on the device (a tensor)
    is gathered there, from row numbers copied once per epoch.

    With ``num_processes > 1`` (data-parallel training), every process walks
    the same order in steps of ``batch_size * num_processes`` rows and keeps
    its own share of each step, so that all processes run the same number of
    batches; a last step with fewer rows than processes repeats its rows.
    """

    def __init__(
        self,
        dataset: RowDataset,
        batch_size: int,
        shuffle: bool = False,
        device: str | torch.device = "cpu",
        process_index: int = 0,
        num_processes: int = 1,
    ):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.device = torch.device(device)
        self.process_index = process_index
        self.num_processes = num_processes

    def __len__(self) -> int:
        return math.ceil(len(self.dataset) / (self.batch_size * self.num_processes))

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        X, y = self.dataset.X, self.dataset.y
        batches = (self.dataset.rows(positions) for positions in self._positions())
        if isinstance(X, torch.Tensor):
            yield from self._gather_staged(X, y, list(batches))
            return
        for rows in batches:
            batch = rows_to_tensor(X, rows, self.device)
            if y is None:
                yield batch, batch
            else:
                yield batch, torch.from_numpy(y[rows]).to(self.device)

    def _positions(self) -> Iterator[slice | np.ndarray]:
        """Positions in the dataset of each batch's rows, in training order."""
        n = len(self.dataset)
        sharded = self.num_processes > 1
        order = None
        if self.shuffle:
            order = torch.randperm(n).numpy()
        elif sharded:
            order = np.arange(n)
        step = self.batch_size * self.num_processes
        for start in range(0, n, step):
            if order is None:
                yield slice(start, start + step)
                continue
            positions = order[start : start + step]
            if sharded:
                size = max(len(positions), self.num_processes)
                positions = np.resize(positions, size)
                positions = positions[self.process_index :: self.num_processes]
            yield np.sort(positions)

    def _gather_staged(
        self, X: torch.Tensor, y: np.ndarray | None, batches: list
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Gather batches from data staged on the device.

        The epoch's row numbers (and the labels) go to the device in one copy:
        copying each batch's from host memory would make the host wait for the
        device at every batch.
        """
        if not batches:
            return
        all_rows = np.arange(X.shape[0])
        batches = [
            all_rows[rows] if isinstance(rows, slice) else rows for rows in batches
        ]
        staged_rows = torch.from_numpy(np.concatenate(batches)).to(X.device)
        staged_y = None if y is None else torch.from_numpy(y).to(X.device)
        for rows in staged_rows.split([len(rows) for rows in batches]):
            batch = X[rows]
            yield (batch, batch) if staged_y is None else (batch, staged_y[rows])


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


def validation_split(
    dataset: RowDataset, y: object = None, *, fraction: float, seed: int
) -> tuple[RowDataset, RowDataset]:
    """Hold out a seeded random ``fraction`` of the rows for validation.

    With labels, the split is stratified when every class can have a row on
    each side; otherwise it is simply random.
    """
    n = len(dataset)
    n_valid = math.ceil(fraction * n)
    if n - n_valid < 1:
        raise ValueError(
            f"early_stopping needs at least 2 samples; got {n}. Pass more samples "
            "or set early_stopping=False."
        )
    labels = None if dataset.y is None else dataset.y[dataset.rows(slice(None))]
    counts = None if labels is None else np.bincount(labels)
    counts = None if counts is None else counts[counts > 0]
    if counts is not None and n_valid >= len(counts) and counts.min() >= 2:
        train, valid = train_test_split(
            np.arange(n), test_size=n_valid, stratify=labels, random_state=seed
        )
    else:
        order = np.random.RandomState(seed).permutation(n)
        valid, train = order[:n_valid], order[n_valid:]
    return dataset.subset(np.sort(train)), dataset.subset(np.sort(valid))


def early_stopping_callback(
    *, on_validation: bool, patience: int, tol: float, verbose: int
) -> EarlyStopping:
    """Stop on a plateau of the validation loss (restoring the best weights) or
    of the training loss, as MLP's `early_stopping` and `tol` do."""
    return _EarlyStopping(
        monitor="valid_loss" if on_validation else "train_loss",
        patience=patience,
        threshold=tol,
        threshold_mode="rel",
        load_best=on_validation,
        sink=print if verbose else _noop,
    )


class _EarlyStopping(EarlyStopping):
    """skorch's EarlyStopping, keeping the weights of the lowest loss seen.

    It monitors a loss (lower is better). Misses are counted as in skorch: an
    epoch that does not improve on the best loss by the relative `threshold`
    is one. skorch keeps the weights only on such an improvement, so a later
    epoch whose loss is lower by less would not be restored; here, as in
    scikit-learn's MLP, the weights of every new lowest loss are kept
    (``best_epoch_`` is its epoch). They are copied into tensors cloned at the
    first best: skorch deep-copies the state dict each time, which for a small
    network costs more than a training batch.

    skorch also forgets the best loss on every training call. Here each call
    replays the losses in the history, so that a further call (a warm-started
    fit, also of a loaded model) continues the same training, as in MLP: it
    ends on the best weights of all calls, which it starts from. Each call
    gets `patience` epochs to improve on them.
    """

    def on_train_begin(self, net, **kwargs):
        """Replay the history's losses; look up the module's state tensors."""
        super().on_train_begin(net, **kwargs)
        self.best_score_ = math.inf
        for row in net.history:
            self._score(row[self.monitor], row["epoch"])
        self.misses_ = 0
        # From the plain module: skorch unwraps an accelerated one before this
        # callback restores the weights into it. The tensors share the
        # parameters' memory, which the optimizer updates in place.
        self._state = plain_module(net).state_dict() if self.load_best else None
        if self.load_best and self.best_score_ < math.inf:
            # The last call ended on the best weights so far: these.
            self._keep_weights()

    def on_epoch_end(self, net, **kwargs):
        """Keep the weights of a new lowest loss; count misses and stop."""
        epoch = net.history[-1]
        if self._score(epoch[self.monitor], epoch["epoch"]) and self.load_best:
            self._keep_weights()
        if self.misses_ == self.patience:
            if net.verbose:
                self._sink(
                    f"Stopping since {self.monitor} has not improved in the last "
                    f"{self.patience} epochs.",
                    verbose=net.verbose,
                )
            raise KeyboardInterrupt

    def _score(self, score: float, epoch: int) -> bool:
        """Count an epoch's miss or improvement; whether its loss is the lowest."""
        if self._is_score_improved(score):
            self.misses_ = 0
            self.dynamic_threshold_ = self._calc_new_threshold(score)
        else:
            self.misses_ += 1
        if score >= self.best_score_:
            return False
        self.best_score_, self.best_epoch_ = score, epoch
        return True

    def _keep_weights(self) -> None:
        """Copy the module's current weights into ``best_model_weights_``."""
        if self.best_model_weights_ is None:
            self.best_model_weights_ = {
                key: value.detach().clone() for key, value in self._state.items()
            }
            return
        for best, current in zip(
            self.best_model_weights_.values(), self._state.values(), strict=True
        ):
            best.copy_(current)

    def on_train_end(self, net, **kwargs):
        """Restore the best weights, then drop the copy of them.

        Kept, the copy would double the memory the weights take, and tensors
        of a GPU would stop the fitted model from unpickling without one. An
        epoch whose loss diverged leaves nothing behind once they are
        restored, so it is dropped from the history too.
        """
        if self.load_best and self.best_model_weights_ is not None:
            last = net.history[-1] if net.history else {}
            diverged = any(
                not math.isfinite(last.get(key, 0.0))
                for key in ("train_loss", "valid_loss")
            )
            score = last.get(self.monitor, math.nan)
            if not diverged and score < self.best_score_:
                # Training stopped after the epoch's losses, before this
                # callback saw them: its weights, still the module's, are best.
                self._score(score, last["epoch"])
                self._keep_weights()
            plain_module(net).load_state_dict(self.best_model_weights_)
            if self.best_epoch_ != last.get("epoch"):
                self._sink(
                    f"Restoring best model from epoch {self.best_epoch_}.",
                    verbose=net.verbose,
                )
            if diverged:
                del net.history[-1]
        self._state = self.best_model_weights_ = None

    def __getstate__(self):
        state = super().__getstate__()
        state["_state"] = None  # the module pickles its own weights
        return state


class _PassthroughScoring(PassthroughScoring):
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


def plain_module(net: NeuralNet) -> torch.nn.Module:
    """The net's module, unwrapped from accelerate's wrappers if it has any."""
    accelerator = getattr(net, "accelerator", None)
    if accelerator is None:
        return net.module_
    return accelerator.unwrap_model(net.module_)


def stopped_early(net: NeuralNet) -> bool:
    """Whether the net's last training call ended on a loss plateau."""
    callback = dict(net.callbacks_)["early_stopping"]
    return callback.misses_ >= callback.patience


def _noop(*args, **kwargs) -> None:
    """Swallow skorch's early-stopping message when not verbose."""


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


class Net(NeuralNet):
    """skorch's :class:`~skorch.NeuralNet`, without per-batch work nobody uses.

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

    def get_default_callbacks(self):
        """skorch's default callbacks, with a cheaper epoch loss average."""
        return [
            (name, _PassthroughScoring(**callback.get_params()))
            if type(callback) is PassthroughScoring
            else (name, callback)
            for name, callback in super().get_default_callbacks()
        ]

    # Whether on_train_begin was notified to every callback, and on_train_end
    # not yet: training is under way and must be ended.
    _training = False

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """Train (see skorch's docstring); end training alike on Ctrl-C or an error.

        skorch ends training quietly on ``KeyboardInterrupt``, notifying the
        callbacks' ``on_train_end`` (early stopping restores the best weights
        there), but not after another error. Here training ends the same way
        after an error raised while it was under way, which is then passed on.
        """
        try:
            super().partial_fit(X, y, classes, **fit_params)
        except BaseException:  # SystemExit too; skorch already caught Ctrl-C
            if self._training:
                self.notify("on_train_end", X=X, y=y)
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
        """Run one training or validation epoch (see skorch's docstring)."""
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
        self._zero_grad_optimizer()
        step = self.train_step_single(batch, **fit_params)
        # The loss is computed: step without a closure. (accelerate's optimizer
        # wrappers step alike; its net's _step_optimizer would call a closure.)
        for name in self._optimizers:
            getattr(self, name + "_").step()
        return step

    def validation_step(self, batch, **fit_params):
        """Score one batch under ``torch.inference_mode`` (see skorch's docstring).

        skorch sets evaluation mode before every batch; here only on a change.
        """
        self._switch_mode(training=False)
        X, target = unpack_data(batch)
        with torch.inference_mode():
            y_pred = self.infer(X, **fit_params)
            loss = self.get_loss(y_pred, target, X=X, training=False)
        return {"loss": loss, "y_pred": y_pred}

    def _switch_mode(self, *, training: bool) -> None:
        """Set train or eval mode, only on a change: skorch sets it before every
        batch, and walking the module tree costs as much as a small batch."""
        if self.module_.training != training:
            self._set_training(training)

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


class AutoencoderNet(Net):
    """A skorch net that reconstructs its input.

    ``corrupt`` (applied to training inputs only) and ``penalty`` (added to the
    training loss, computed from the code) are the two hooks the estimator
    kinds fill; validation and scoring see the clean reconstruction loss.
    """

    def __init__(
        self,
        *args,
        corrupt: Callable[[torch.Tensor], torch.Tensor] | None = None,
        penalty: Callable[[torch.Tensor], torch.Tensor | None] | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.corrupt = corrupt
        self.penalty = penalty

    def train_step_single(self, batch, **fit_params):
        """Reconstruct the clean batch from its corrupted copy; backpropagate."""
        self._switch_mode(training=True)
        X, target = unpack_data(batch)
        X_in = X if self.corrupt is None else self.corrupt(X)
        with self.autocast():
            y_pred = self.infer(X_in, **fit_params)
            loss = self.get_loss(y_pred, target, X=X_in, training=True)
        self.backward(loss)
        return {"loss": loss, "y_pred": y_pred}

    def autocast(self) -> contextlib.AbstractContextManager:
        """Context of the training forward pass (mixed precision, if any)."""
        return contextlib.nullcontext()

    def backward(self, loss: torch.Tensor) -> None:
        """Backpropagate the training loss."""
        loss.backward()

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Reconstruction loss, plus the code penalty while training."""
        X_reconstructed, Z = y_pred
        loss = self.criterion_(X_reconstructed, y_true)
        if training and self.penalty is not None:
            penalty = self.penalty(Z)
            if penalty is not None:
                loss = loss + penalty
        return loss


class AcceleratedAutoencoderNet(AccelerateMixin, AutoencoderNet):
    """An :class:`AutoencoderNet` trained through Hugging Face accelerate.

    skorch's :class:`~skorch.hf.AccelerateMixin` prepares the module and the
    optimizer (DistributedDataParallel across processes, mixed precision,
    gradient accumulation). The autoencoder keeps its own training step
    (corruption and penalty), and :class:`BatchIterator` shards the training
    rows itself, so validation scores every validation row on every process
    and gathers nothing.
    """

    train_step_single = AutoencoderNet.train_step_single

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
