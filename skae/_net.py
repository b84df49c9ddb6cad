"""Training internals: the skorch net, its data path and callbacks.

The net is a private :class:`skorch.NeuralNet` whose target is its input. It
plugs into skorch's documented seams only: ``dataset``, ``iterator_train`` /
``iterator_valid``, ``train_split``, ``train_step_single`` and ``get_loss``.
"""

# SPDX-License-Identifier: BSD-3-Clause

import math
from collections.abc import Callable, Iterator

import numpy as np
import scipy.sparse as sp
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback
from skorch.dataset import unpack_data

from skae._utils import rows_to_tensor

ArrayLike = np.ndarray | sp.spmatrix | torch.Tensor


class RowDataset(torch.utils.data.Dataset):
    """Rows ``indices`` of an array, memmap, sparse matrix or tensor ``X``.

    Holds a reference, never a copy: :class:`BatchIterator` gathers whole
    batches from it, which is far cheaper than skorch's default per-sample
    indexing and collation for the small dense networks autoencoders use.
    """

    def __init__(
        self, X: ArrayLike, y: object = None, indices: np.ndarray | None = None
    ):
        self.X = X
        self.indices = indices

    def __len__(self) -> int:
        return self.X.shape[0] if self.indices is None else len(self.indices)

    def rows(self, positions: slice | np.ndarray) -> slice | np.ndarray:
        """Map positions in this dataset to row numbers of ``X``."""
        return positions if self.indices is None else self.indices[positions]

    def __getitem__(self, i: int) -> torch.Tensor:
        return rows_to_tensor(self.X, self.rows(np.array([i])), torch.device("cpu"))[0]


class BatchIterator:
    """Yield ``(X_batch, X_batch)`` pairs of float32 tensors on ``device``.

    The input is its own target, so one tensor serves as both. With ``shuffle``
    the order comes from torch's RNG, which the estimator seeds and forks.
    Rows within a batch are sorted, for locality on memory-mapped files.
    """

    def __init__(
        self,
        dataset: RowDataset,
        batch_size: int,
        shuffle: bool = False,
        device: str | torch.device = "cpu",
    ):
        self.dataset = dataset
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.device = torch.device(device)

    def __len__(self) -> int:
        return math.ceil(len(self.dataset) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        X, n = self.dataset.X, len(self.dataset)
        order = torch.randperm(n).numpy() if self.shuffle else None
        for start in range(0, n, self.batch_size):
            if order is None:
                positions = slice(start, start + self.batch_size)
            else:
                positions = np.sort(order[start : start + self.batch_size])
            batch = rows_to_tensor(X, self.dataset.rows(positions), self.device)
            yield batch, batch


def validation_split(
    dataset: RowDataset, y: object = None, *, fraction: float, seed: int
) -> tuple[RowDataset, RowDataset]:
    """Hold out a seeded random ``fraction`` of the rows for validation."""
    n = len(dataset)
    n_valid = math.ceil(fraction * n)
    if n - n_valid < 1:
        raise ValueError(
            f"early_stopping needs at least 2 samples; got {n}. Pass more samples "
            "or set early_stopping=False."
        )
    order = np.random.RandomState(seed).permutation(n)
    valid, train = np.sort(order[:n_valid]), np.sort(order[n_valid:])
    return RowDataset(dataset.X, indices=train), RowDataset(dataset.X, indices=valid)


class DivergenceCheck(Callback):
    """Stop training with a readable error as soon as the loss is not finite."""

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        """Raise ``ValueError`` if this batch's loss is NaN or infinite."""
        if loss is not None and not torch.isfinite(loss).item():
            epoch = len(net.history)
            raise ValueError(
                f"Training diverged: the loss became {loss.item()} in epoch {epoch}. "
                "Scale the input (e.g. StandardScaler or MinMaxScaler in a "
                "Pipeline) or lower learning_rate_init."
            )


class AutoencoderNet(NeuralNet):
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
        self._set_training(True)
        X, target = unpack_data(batch)
        X_in = X if self.corrupt is None else self.corrupt(X)
        y_pred = self.infer(X_in, **fit_params)
        loss = self.get_loss(y_pred, target, X=X_in, training=True)
        loss.backward()
        return {"loss": loss, "y_pred": y_pred}

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """Reconstruction loss, plus the code penalty while training."""
        X_reconstructed, Z = y_pred
        loss = self.criterion_(X_reconstructed, y_true)
        if training and self.penalty is not None:
            penalty = self.penalty(Z)
            if penalty is not None:
                loss = loss + penalty
        return loss
