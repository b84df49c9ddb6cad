"""The data path: arrays, memmaps and sparse matrices to tensors, batch by batch."""

# SPDX-License-Identifier: BSD-3-Clause

import copy
import math
import mmap
import os
from collections.abc import Callable, Iterator

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.model_selection import train_test_split

from skae._engine.runtime import autocast

# Rows per inference batch are chosen so that one batch holds about this many
# values (8 MiB in float32): large enough for efficient matrix products, small
# enough that the activations of a batch stay far below the data's size.
PREDICT_BATCH_VALUES = 2**21

# Memory-mapped pages that were read count towards the process's RSS until
# they are unmapped; release them after about this many bytes of reading.
RELEASE_BYTES = 2**26

ArrayLike = np.ndarray | sp.spmatrix | torch.Tensor

NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}
TORCH_DTYPES = {
    np.dtype(np.float32): torch.float32,
    np.dtype(np.float64): torch.float64,
}


def rows_to_tensor(
    X: np.ndarray | sp.spmatrix | torch.Tensor,
    rows: slice | np.ndarray,
    device: torch.device,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """Gather ``rows`` of ``X`` as a dense tensor of ``dtype`` on ``device``.

    Only the selected rows are copied and converted, so memory-mapped and sparse
    inputs are never densified or cast as a whole.
    """
    if isinstance(X, torch.Tensor):
        if isinstance(rows, np.ndarray):
            rows = torch.from_numpy(rows).to(X.device)
        return X[rows].to(device=device, dtype=dtype)
    mapped = shared_memmap(X)
    if mapped is not None:
        batch = _read_mapped_rows(X, mapped, rows)
    else:
        batch = X[rows]
    if sp.issparse(batch):
        batch = batch.toarray()
    batch = np.ascontiguousarray(batch, dtype=NUMPY_DTYPES[dtype])
    if not batch.flags.writeable:
        # torch cannot wrap read-only memory (e.g. a read-only memmap) safely.
        batch = batch.copy()
    return torch.from_numpy(batch).to(device, non_blocking=True)


def _read_mapped_rows(
    X: np.ndarray, mapped: np.memmap, rows: slice | np.ndarray
) -> np.ndarray:
    """Copy rows of a memory-mapped ``X`` without leaving its pages resident.

    Scattered rows are read with ``preadv``: through the page cache, never
    mapped, because the kernel maps whole large folios (up to 2 MiB) around each
    row touched through the map. Other reads are copied, then released.
    """
    row_bytes = X.shape[1] * X.itemsize
    contiguous_rows = X.ndim == 2 and X.strides[1] == X.itemsize
    if isinstance(rows, slice) or not contiguous_rows or mapped.filename is None:
        batch = np.array(X[rows])
        release_pages(mapped)
        return batch
    batch = np.empty((len(rows), X.shape[1]), dtype=X.dtype)
    start = mapped.offset + (X.ctypes.data - mapped.ctypes.data)
    with open(mapped.filename, "rb", buffering=0) as file:
        for i, row in enumerate(rows.tolist()):
            offset = start + row * X.strides[0]
            if os.preadv(file.fileno(), [batch[i]], offset) != row_bytes:
                raise OSError(f"short read from {mapped.filename} at byte {offset}")
    return batch


def memmap_behind(X: object) -> np.memmap | None:
    """Return the ``numpy.memmap`` behind ``X`` (or a view of it), if any."""
    while isinstance(X, np.ndarray):
        if isinstance(X, np.memmap) and isinstance(X.base, mmap.mmap):
            return X
        X = X.base
    return None


def shared_memmap(X: object) -> np.memmap | None:
    """Return the shared ``numpy.memmap`` behind ``X`` (or a view of it), if any.

    Copy-on-write maps (``mode="c"``) are excluded: releasing their pages would
    discard the caller's private changes.
    """
    mapped = memmap_behind(X)
    return mapped if mapped is not None and mapped.mode != "c" else None


def release_pages(X: np.memmap | None) -> None:
    """Unmap the pages of a shared memmap that were read so far.

    The data stays in the operating system's page cache, so reading it again is
    cheap, but it no longer counts towards this process's resident memory:
    fitting on a file larger than memory keeps a flat footprint.
    """
    if X is not None and hasattr(mmap, "MADV_DONTNEED"):
        X.base.madvise(mmap.MADV_DONTNEED)


def iter_chunks(n_rows: int, chunk_rows: int) -> Iterator[slice]:
    """Yield consecutive slices of at most ``chunk_rows`` rows."""
    for start in range(0, n_rows, chunk_rows):
        yield slice(start, start + chunk_rows)


def predict_in_batches(
    module: torch.nn.Module,
    function: Callable[[torch.nn.Module, torch.Tensor], torch.Tensor],
    X: np.ndarray | sp.spmatrix,
    device: torch.device,
    precision: str = "float32",
) -> np.ndarray:
    """Apply ``function(module, X_batch)`` to ``X`` batch by batch.

    Inference runs in eval mode under :func:`torch.inference_mode`, in the
    precision of ``X``: float64 input goes through a float64 copy of the
    network, so results do not depend on how rows are batched. Integer input
    (a uint8 memmap of images, say) gives float64, as in scikit-learn. With
    ``precision="bfloat16"``, float32 input goes through bfloat16 matrix
    products (autocast leaves float64 alone).
    """
    out_dtype = X.dtype if X.dtype in TORCH_DTYPES else np.dtype(np.float64)
    dtype = TORCH_DTYPES[out_dtype]
    if module.training:
        # Only on a change: walking the module tree costs as much as a small batch.
        module.eval()
    if dtype != torch.float32:
        module = copy.deepcopy(module).to(dtype)
    # The output is allocated once and filled batch by batch: keeping each
    # batch's output until a final concatenation left small live blocks between
    # the freed batch buffers, and glibc's heap grew by up to half the data's
    # size over a pass on a memmap.
    out = None
    batch_size = max(1, PREDICT_BATCH_VALUES // max(X.shape[1], 1))
    with torch.inference_mode(), autocast(precision, device.type):
        for rows in iter_chunks(X.shape[0], batch_size):
            batch = rows_to_tensor(X, rows, device, dtype)
            result = function(module, batch).to(dtype).cpu().numpy()
            if out is None:
                if len(result) == X.shape[0]:  # one batch: no copy
                    return result.astype(out_dtype, copy=False)
                out = np.empty((X.shape[0], *result.shape[1:]), dtype=out_dtype)
            out[rows] = result
    return out


def training_data(
    X: np.ndarray | sp.spmatrix, device: torch.device
) -> np.ndarray | sp.spmatrix | torch.Tensor:
    """Stage an in-memory array as a float32 tensor on ``device``; leave the rest.

    Batches are then gathered from it by torch, on the device. An accelerator
    gets one upload; on the CPU only a C-contiguous float32 array is staged,
    sharing its memory, since anything else would be a copy of the data.
    Memory-mapped arrays (and views of them), sparse matrices and arrays that
    would take more than half of the GPU's free memory stay where they are and
    are converted batch by batch.
    """
    in_memory = isinstance(X, np.ndarray) and memmap_behind(X) is None
    if not in_memory:
        return X
    if device.type == "cpu":
        # Nothing writes to the training data, so sharing it is safe.
        shareable = X.dtype == np.float32 and X.flags.c_contiguous and X.flags.writeable
        return torch.from_numpy(X) if shareable else X
    if device.type == "cuda":
        free_bytes, _ = torch.cuda.mem_get_info(device)
        if X.size * 4 > free_bytes // 2:
            return X
    return torch.as_tensor(X, dtype=torch.float32, device=device)


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
