"""Device, seeds and forked RNG: where training runs and how it is seeded."""

# SPDX-License-Identifier: BSD-3-Clause

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch


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


def _gpus(device: torch.device) -> list[int]:
    """The indices of the GPUs whose generators training on `device` draws from."""
    if device.type != "cuda":
        return []
    return [torch.cuda.current_device() if device.index is None else device.index]


def seed_generators(seed: int, device: torch.device) -> None:
    """Seed torch's generators that training on `device` draws from: the CPU's
    and, on a GPU, that GPU's (``torch.manual_seed`` would seed every GPU's)."""
    torch.default_generator.manual_seed(seed)
    for gpu in _gpus(device):
        torch.cuda.default_generators[gpu].manual_seed(seed)


def epoch_seed(seed: int, epoch: int) -> int:
    """The seed of epoch `epoch` (counted from 0) of a network seeded `seed`.

    Each epoch draws its batches and noise from a seed of its own, so that
    training split into calls anywhere (a warm-started fit, a resumed
    checkpoint) draws what one uninterrupted call draws. ``SeedSequence``
    mixes the two numbers: no epoch of one network shares its seed with
    another's (as ``seed + epoch`` would), nor with the initial weights.
    """
    state = np.random.SeedSequence([seed, epoch]).generate_state(1, np.uint64)
    return int(state[0])


@contextmanager
def seeded(seed: int, device: torch.device) -> Iterator[None]:
    """Run the block with torch's RNG seeded, restoring the global state after.

    Only the generators that are restored are seeded (see
    :func:`seed_generators`), and a block that seeds them again (each
    epoch's start) leaves the global state untouched too.
    """
    with torch.random.fork_rng(devices=_gpus(device)):
        seed_generators(seed, device)
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


def autocast(precision: str, device_type: str) -> contextlib.AbstractContextManager:
    """torch's autocast to bfloat16 for ``precision="bfloat16"`` on
    `device_type`; no context for float32.

    Matrix products and convolutions then run in bfloat16 (on CPUs with
    bfloat16 units, such as AMX, several times faster than float32) while
    weights, gradients, the optimizer and the loss stay in float32.
    """
    if precision == "float32":
        return contextlib.nullcontext()
    return torch.autocast(device_type, dtype=torch.bfloat16)
