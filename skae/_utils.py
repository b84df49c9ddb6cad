"""Torch boundary: seeds and forked RNG, device resolution, array <-> tensor."""

# SPDX-License-Identifier: BSD-3-Clause

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp
import torch

# Rows per inference batch are chosen so that one batch holds about this many
# values (64 MiB in float32): large enough to amortise the per-call overhead,
# small enough for wide data and for memory-mapped input.
PREDICT_BATCH_VALUES = 2**24

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


@contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Run the block with torch's RNG seeded, restoring the global state after."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
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
    batch = X[rows]
    if sp.issparse(batch):
        batch = batch.toarray()
    batch = np.ascontiguousarray(batch, dtype=NUMPY_DTYPES[dtype])
    if not batch.flags.writeable:
        # torch cannot wrap read-only memory (e.g. a read-only memmap) safely.
        batch = batch.copy()
    return torch.from_numpy(batch).to(device, non_blocking=True)


def to_numpy(tensor: torch.Tensor, dtype: np.dtype) -> np.ndarray:
    """Copy a tensor to a numpy array of the caller's ``dtype``."""
    return tensor.detach().cpu().numpy().astype(dtype, copy=False)
