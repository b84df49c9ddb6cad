"""Torch boundary: seeds and forked RNG, device resolution, array <-> tensor."""

# SPDX-License-Identifier: BSD-3-Clause

import copy
import mmap
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
import torch

# Rows per inference batch are chosen so that one batch holds about this many
# values (8 MiB in float32): large enough for efficient matrix products, small
# enough that the activations of a batch stay far below the data's size.
PREDICT_BATCH_VALUES = 2**21

# Memory-mapped pages that were read count towards the process's RSS until
# they are unmapped; release them after about this many bytes of reading.
RELEASE_BYTES = 2**26

NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}
TORCH_DTYPES = {
    np.dtype(np.float32): torch.float32,
    np.dtype(np.float64): torch.float64,
}


def make_seed(random_state: int | np.random.RandomState | None) -> int:
    """Draw a torch seed from ``random_state`` without touching global RNGs.

    ``None`` takes fresh entropy from the operating system instead of numpy's
    global generator, so that fitting never changes the caller's RNG state.
    """
    if random_state is None:
        return int(np.random.SeedSequence().generate_state(1)[0])
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(np.iinfo(np.int32).max))
    return int(np.random.RandomState(random_state).randint(np.iinfo(np.int32).max))


def broadcast_from_main(value, accelerator=None):
    """Return the main process's `value` (an int or a tensor) in every
    data-parallel process of `accelerator`; `value` itself without one."""
    if accelerator is None or accelerator.num_processes == 1:
        return value
    from accelerate.utils import broadcast, broadcast_object_list

    if isinstance(value, torch.Tensor):
        return broadcast(value.detach().clone(), from_process=0)
    return broadcast_object_list([value], from_process=0)[0]


@contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Run the block with torch's RNG seeded, restoring the global state after.

    Only the generators that are restored are seeded: the CPU's and, on a GPU,
    that GPU's. ``torch.manual_seed`` would reseed every GPU's as well.
    """
    gpus = []
    if device.type == "cuda":
        gpus = [torch.cuda.current_device() if device.index is None else device.index]
    with torch.random.fork_rng(devices=gpus):
        torch.default_generator.manual_seed(seed)
        for gpu in gpus:
            torch.cuda.default_generators[gpu].manual_seed(seed)
        yield


def resolve_device(device: str) -> torch.device:
    """Turn the ``device`` parameter into a torch device, with a clear error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(
            f"device={device!r} is not a device torch knows; use 'cpu', 'cuda', "
            "'cuda:<index>' or 'auto'."
        ) from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but torch sees no CUDA GPU; use "
            "device='cpu', or device='auto' to take a GPU only when there is one."
        )
    return resolved


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
) -> np.ndarray:
    """Apply ``function(module, X_batch)`` to ``X`` batch by batch.

    Inference runs in eval mode under :func:`torch.inference_mode`, in the
    precision of ``X``: float64 input goes through a float64 copy of the
    network, so results do not depend on how rows are batched. Integer input
    (a uint8 memmap of images, say) gives float64, as in scikit-learn.
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
    with torch.inference_mode():
        for rows in iter_chunks(X.shape[0], batch_size):
            batch = rows_to_tensor(X, rows, device, dtype)
            result = function(module, batch).cpu().numpy()
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
