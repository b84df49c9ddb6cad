"""Safe persistence: save and load estimators without pickle."""

# SPDX-License-Identifier: BSD-3-Clause

import contextlib
import copy
import hashlib
import importlib.util
import inspect
import io
import json
import math
import os
import pickle
import re
import secrets
import warnings
import zipfile
import zlib
from collections.abc import Callable
from functools import partial
from typing import IO, Any

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.utils.validation import check_is_fitted
from skorch.exceptions import DeviceWarning
from skorch.history import History

from skae._autoencoder_base import _BaseAutoencoder
from skae._engine.callbacks import plain_module
from skae._engine.runtime import resolve_device
from skae._neural_base import _BaseNeuralEstimator
from skae._registry import AUTOENCODERS, BY_NAME

__all__ = ["load", "save"]

# Only these classes are ever built by `load`: the class name in a file is a
# key into this dict, never a name to import.
_CLASSES = dict(BY_NAME)
# The classes of nested estimators (a classifier's autoencoder). They hold no
# estimator themselves, so nesting is one level deep.
_NESTED_CLASSES = {cls.__name__: cls for cls in AUTOENCODERS}

# A nested estimator is stored in a folder named after its parameter or
# attribute (``autoencoder_/params.json``, ...).
_FOLDER = re.compile(r"[A-Za-z0-9_]+/")

FORMAT = "skae"
# 2: the variational module's encoder is a network family's (format 1 files
# are read through VariationalAutoencoder._upgrade_module_state).
FORMAT_VERSION = 2

PARAMS_FILE = "params.json"
FITTED_FILE = "fitted.json"
HISTORY_FILE = "history.json"
SAFETENSORS_FILE = "weights.safetensors"
TORCH_FILE = "weights.pt"
# Written last: each member's size and SHA-256, so that `load` tells a whole
# file from one cut short or changed. The top-level params.json names it, so
# that a file whose writing stopped before it is refused (files of skae 0.1.0
# have neither, and load as before). Old readers ignore both: no new format
# version is needed, and 0.1.0 still reads the files written now.
MANIFEST_FILE = "manifest.json"
# Written by a save during training (a checkpoint): what continuing that very
# training call needs beyond the model, the optimizer state and the history.
# The current weights, where they are not the model's (the best ones under
# early stopping, or the average of the weights, whose number of updates
# "weight_average_updates" then gives), are stored as "resume.module.*" tensors.
RESUME_FILE = "resume.json"

# Private attributes needed to continue training exactly where it stopped.
_PRIVATE_ATTRIBUTES = ("_seed",)

# Fitted attributes computed from the training data once training ends: a
# file written during training leaves them out rather than keep stale ones.
_AFTER_TRAINING = ("reconstruction_error_",)

# Parameters that are runtime objects, not part of the model: a save during
# training, whose estimator holds the checkpoint among its callbacks, stores
# None for them.
_RUNTIME_PARAMS = ("callbacks", "accelerator")

# What a damaged or hand-made file makes the reading code raise; `load` turns
# these into a ValueError that names the file as the problem.
_MALFORMED = (
    AttributeError,
    IndexError,
    KeyError,
    RecursionError,
    TypeError,
    zipfile.BadZipFile,
    zlib.error,
)


def _has_safetensors() -> bool:
    """Whether the optional safetensors package can be imported."""
    return importlib.util.find_spec("safetensors") is not None


def _encode(value: Any, name: str, nested: Callable | None = None) -> Any:
    """Turn `value` into plain JSON data, tagging tuples, arrays and estimators.

    ``nested(estimator, name)`` stores an estimator that is `value` itself
    (or the estimator inside a :class:`~sklearn.frozen.FrozenEstimator`) and
    returns the folder it is stored in; without it, estimators are refused.
    Anything else (callables, other objects) is refused: a file that held it
    could only be read back by running code.
    """
    if isinstance(value, float) and not math.isfinite(value):
        # Strict JSON has no NaN or infinity (an imputer's missing_values).
        return {"__float__": repr(value)}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return _encode(value.item(), name)
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, name) for v in value]}
    if isinstance(value, list):
        return [_encode(v, name) for v in value]
    if isinstance(value, dict) and all(isinstance(key, str) for key in value):
        return {key: _encode(v, name) for key, v in value.items()}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufUO":
        return {
            "__ndarray__": [_encode(v, name) for v in value.tolist()],
            "dtype": value.dtype.str,
        }
    if inspect.isclass(value) or inspect.isfunction(value):
        # A user's network: stored by name, and built on loading only from a
        # class or function the caller allows (`load(..., networks=...)`).
        qualified = f"{value.__module__}.{value.__qualname__}"
        if "<" in qualified:
            raise TypeError(
                f"Cannot save {name}={value!r}: skae.save stores a class or "
                f"function by its importable name, and {qualified} has none (it "
                "is local or a lambda). Define it at the top level of a module, "
                "or use pickle for files you trust."
            )
        return {"__callable__": qualified}
    if nested is not None and isinstance(value, FrozenEstimator):
        return {"__frozen__": {"__estimator__": nested(value.estimator, name)}}
    if nested is not None and isinstance(value, BaseEstimator):
        return {"__estimator__": nested(value, name)}
    raise TypeError(
        f"Cannot save {name}={value!r}: skae.save stores values as JSON so that "
        "loading runs no code, and this value is not plain data (None, bool, "
        "int, float, str, or a tuple, list, dict or array of those). Set plain values "
        "with set_params before saving, or use pickle for files you trust."
    )


def _decode(
    obj: dict,
    resolve: Callable[[Any], Any] | None = None,
    callables: dict[str, Callable] | None = None,
) -> Any:
    """JSON object hook: rebuild the tuples, arrays and estimators tagged by
    `_encode`; ``resolve(folder)`` reads a nested estimator (None refuses one),
    and a class or function is one of `callables` (by qualified name)."""
    if obj.keys() == {"__tuple__"}:
        return tuple(obj["__tuple__"])
    if obj.keys() == {"__float__"}:
        if obj["__float__"] not in ("nan", "inf", "-inf"):
            raise ValueError("Not a valid skae file: a tagged float is not one.")
        return float(obj["__float__"])
    if obj.keys() == {"__ndarray__", "dtype"}:
        dtype = np.dtype(obj["dtype"])
        if dtype.kind not in "biufUO":
            raise ValueError(f"Unsupported array dtype {dtype} in a skae file.")
        return np.asarray(obj["__ndarray__"], dtype=dtype)
    if obj.keys() == {"__callable__"}:
        name = obj["__callable__"]
        if name not in (callables or {}):
            raise ValueError(
                f"This file's network is {name!r}, and skae.load builds only "
                "networks you allow: pass it, e.g. load(file, networks=[MyNet]). "
                "Nothing is imported from a file."
            )
        return callables[name]
    if obj.keys() == {"__estimator__"}:
        if resolve is None:
            raise ValueError(
                "Not a valid skae file: a nested estimator refers to another one."
            )
        return resolve(obj["__estimator__"])
    if obj.keys() == {"__frozen__"}:
        # The inner object was decoded first: a nested estimator, if valid.
        if type(obj["__frozen__"]) not in _NESTED_CLASSES.values():
            raise ValueError(
                "Not a valid skae file: it freezes something other than a skae "
                "autoencoder."
            )
        return FrozenEstimator(obj["__frozen__"])
    return obj


def _dumps(data: Any) -> bytes:
    """Serialise JSON data, refusing NaN and infinity as strict JSON does."""
    return json.dumps(data, allow_nan=False, indent=1).encode("utf-8")


def _history_default(value: Any) -> Any:
    """JSON fallback for numpy scalars in skorch's history."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{value!r} in the training history is not JSON-serialisable")


def _fitted_attributes(estimator: _BaseNeuralEstimator, nested) -> dict[str, Any]:
    """The fitted attributes other than the net, encoded for JSON."""
    names = [
        name
        for name in vars(estimator)
        if name.endswith("_") and not name.startswith("_") and name != "net_"
    ]
    names += [name for name in _PRIVATE_ATTRIBUTES if hasattr(estimator, name)]
    return {name: _encode(getattr(estimator, name), name, nested) for name in names}


def _early_stopping(net):
    """The net's early-stopping callback, which every skae net has."""
    return dict(net.callbacks_)["early_stopping"]


def _weight_average(net):
    """The net's weight-averaging callback (an autoencoder's), or None."""
    return dict(net.callbacks_).get("weight_average")


def _model_weights(net) -> tuple[dict[str, torch.Tensor], dict | None]:
    """The weights a fit ending now would keep, and the current ones where
    they differ (during training: the best weights under early stopping, or
    the average of the weights; else the module's and None)."""
    average = _weight_average(net)
    averaged = average.model_weights(net) if average is not None else None
    if averaged is not None:
        return averaged, plain_module(net).state_dict()
    early_stopping = _early_stopping(net)
    resume = early_stopping.resume_state(net)
    current = None if resume is None else resume["weights"]
    return early_stopping.model_weights(net), current


def _resume_file(net) -> dict | None:
    """The content of ``resume.json`` for a save now: None between training
    calls (unless a loaded checkpoint's call is still to continue)."""
    resume = _early_stopping(net).resume_state(net)
    if resume is None:
        return None
    average = _weight_average(net)
    updates = None if average is None else average.resume_state()
    if updates is not None:
        return {"plateau_misses": resume["misses"], "weight_average_updates": updates}
    return {"plateau_misses": resume["misses"]}


def _tensors(net) -> tuple[dict[str, torch.Tensor], list]:
    """Flatten the module weights and optimizer state into named CPU tensors.

    During training, the module weights are those a fit ending then would
    keep, and the current ones follow as ``resume.module.*`` where they
    differ. Returns the tensors and the optimizer's JSON-encoded parameter
    groups.
    """
    model, current = _model_weights(net)
    tensors = {
        f"module.{key}": value.detach().cpu().contiguous()
        for key, value in model.items()
    }
    if current is not None:
        tensors.update(
            (f"resume.module.{key}", value.detach().cpu().contiguous())
            for key, value in current.items()
        )
    optimizer_state = net.optimizer_.state_dict()
    for index, state in optimizer_state["state"].items():
        for key, value in state.items():
            if not isinstance(value, torch.Tensor):
                raise TypeError(
                    f"Cannot save the optimizer state {key}={value!r}: only "
                    "tensors are stored."
                )
            tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().contiguous()
    groups = _encode(optimizer_state["param_groups"], "optimizer param_groups")
    return tensors, groups


def _weights_file(tensors: dict[str, torch.Tensor]) -> tuple[str, bytes]:
    """Name and bytes of the tensors stored with safetensors, or as a torch
    state dict without it."""
    if _has_safetensors():
        from safetensors.torch import save as save_safetensors

        return SAFETENSORS_FILE, save_safetensors(tensors)
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    return TORCH_FILE, buffer.getvalue()


def _read_weights(archive: zipfile.ZipFile, folder: str) -> dict[str, torch.Tensor]:
    """Read tensors without running code: safetensors, or `weights_only` torch."""
    names = set(archive.namelist())
    safetensors_file, torch_file = folder + SAFETENSORS_FILE, folder + TORCH_FILE
    if safetensors_file in names:
        if not _has_safetensors():
            raise ImportError(
                "This file stores its weights with safetensors, which is not "
                "installed: pip install safetensors (or pip install skae[safetensors])."
            )
        from safetensors import SafetensorError
        from safetensors.torch import load as load_safetensors

        try:
            return load_safetensors(archive.read(safetensors_file))
        except SafetensorError as exc:
            message = f"The {safetensors_file} in this file is damaged: {exc}"
            raise ValueError(message) from exc
    if torch_file in names:
        buffer = io.BytesIO(archive.read(torch_file))
        try:
            # weights_only=True unpickles tensors and plain containers only.
            return torch.load(buffer, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            raise ValueError(
                f"The {torch_file} in this file is damaged, or holds more than "
                "tensors: skae never unpickles anything else, since that could run "
                "code from the file."
            ) from exc
        except (EOFError, RuntimeError) as exc:
            message = f"The {torch_file} in this file is damaged: {exc}"
            raise ValueError(message) from exc
    raise ValueError(f"The file has no {safetensors_file} or {torch_file} in it.")


def _load_device(device: str) -> torch.device:
    """Resolve the saved `device`, falling back to the CPU without CUDA."""
    try:
        return resolve_device(device)
    except ValueError:
        if not device.startswith("cuda"):
            raise
    # The same warning class as skorch's when it unpickles a CUDA net.
    warnings.warn(
        f"The model was saved with device={device!r} but torch sees no CUDA GPU; "
        "loading it on the CPU.",
        DeviceWarning,
        stacklevel=5,  # the caller of `load`, for the outer estimator
    )
    return torch.device("cpu")


def _check_attribute_name(estimator: _BaseNeuralEstimator, name: str) -> None:
    """Refuse names in a file that are not fitted attributes `save` writes."""
    public = name.endswith("_") and not name.startswith("_") and name != "net_"
    if not (public or name in _PRIVATE_ATTRIBUTES) or hasattr(type(estimator), name):
        raise ValueError(f"Unexpected fitted attribute {name!r} in a skae file.")


def _check_shapes(expected: dict[str, tuple], stored: dict[str, tuple]) -> None:
    """Refuse stored tensors that are missing, extra or of another shape."""
    for key in sorted(expected.keys() | stored.keys()):
        if expected.get(key) != stored.get(key):
            raise ValueError(
                f"The weights in this file do not fit its parameters: {key} has "
                f"shape {stored.get(key)} in the file, and the parameters make it "
                f"{expected.get(key)}."
            )


def _is_number(value: Any) -> bool:
    """Whether `value` is an int or float (not a bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _group_fits(group: Any, reference: dict) -> bool:
    """Whether a stored optimizer group has `reference`'s settings, up to the
    numeric hyper-parameters (a learning-rate schedule changes ``lr``).

    A flag that an older torch did not write may be missing: torch's Adam
    fills in its default when loading (but not for the numbers).
    """
    required = {"params", "lr", "betas", "eps", "weight_decay"}
    if not isinstance(group, dict) or not required <= group.keys():
        return False
    if not group.keys() <= reference.keys():
        return False
    for key, value in group.items():
        if key == "betas":
            fits = isinstance(value, tuple | list) and len(value) == 2
            fits = fits and all(map(_is_number, value))
        elif key in ("lr", "eps", "weight_decay"):
            fits = _is_number(value)
        else:  # flags such as amsgrad or fused change the state Adam expects
            fits = value == reference[key]
        if not fits:
            return False
    return True


def _check_optimizer_groups(stored: Any, fresh: list[dict]) -> None:
    """Refuse optimizer settings other than those the parameters make."""
    if not (
        isinstance(stored, list)
        and len(stored) == len(fresh)
        and all(map(_group_fits, stored, fresh))
    ):
        raise ValueError(
            "The optimizer settings in this file differ from those its "
            f"parameters make: {stored!r}, where {fresh!r} was expected."
        )


def _check_module_on_meta(net, module_state, n_features) -> None:
    """Build the net's module on the meta device, where nothing is allocated,
    and refuse weights of other shapes and inputs it cannot take.

    A file could otherwise make the net allocate a network of any size before
    its weights were found not to fit, or load a network that fails on the
    first call of `transform` or `predict`.
    """
    try:
        with torch.device("meta"):
            # A module built from a fitted one (a classifier's copy of its
            # autoencoder's encoder) is copied off the meta device: move it.
            module = net.module(**net.get_params_for("module")).to("meta").eval()
    except (AttributeError, RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(f"The parameters in this file make no network: {exc}") from exc
    _check_shapes(
        {key: tuple(value.shape) for key, value in module.state_dict().items()},
        {key: tuple(value.shape) for key, value in module_state.items()},
    )
    dtype = next(module.parameters(), torch.empty(())).dtype
    try:
        with torch.no_grad():
            module(torch.empty((2, n_features), dtype=dtype, device="meta"))
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(
            f"The network in this file does not take its n_features_in_={n_features} "
            f"features: {exc}"
        ) from exc


def _is_count(value: Any) -> bool:
    """Whether `value` is an int >= 0 (not a bool)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _restore_resume(net, resume: Any, tensors: dict[str, torch.Tensor]) -> None:
    """Hand a training call saved before it ended (`resume`, read from
    ``resume.json``, and the ``resume.module.*`` `tensors`) back to the net's
    early stopping, to continue at the next training call."""
    weights = {
        key.removeprefix("resume.module."): value
        for key, value in tensors.items()
        if key.startswith("resume.module.")
    }
    if resume is None:
        if weights:
            raise ValueError(
                "Not a valid skae file: it holds weights to resume training "
                f"from, and no {RESUME_FILE}."
            )
        return
    misses = updates = None
    if isinstance(resume, dict):
        misses = resume.get("plateau_misses")
        updates = resume.get("weight_average_updates")
    average = _weight_average(net)
    if not (
        isinstance(resume, dict)
        and resume.keys() <= {"plateau_misses", "weight_average_updates"}
        and _is_count(misses)
        and (updates is None or (_is_count(updates) and average is not None))
    ):
        raise ValueError(
            f"Not a valid skae file: its {RESUME_FILE} is not a count of "
            "plateau_misses (and of weight_average_updates)."
        )
    if weights:
        _check_shapes(
            {
                f"resume.module.{key}": tuple(value.shape)
                for key, value in plain_module(net).state_dict().items()
            },
            {
                f"resume.module.{key}": tuple(value.shape)
                for key, value in weights.items()
            },
        )
    _early_stopping(net).resume_from({"misses": misses, "weights": weights or None})
    if average is not None:
        average.resume_from(updates)


def _restore_net(
    estimator, fitted, tensors, groups, history, device, version, resume=None
):
    """Rebuild the fitted net of `estimator` and load its state into it.

    Weights of an older `version` of the format go through the kind's
    ``_upgrade_module_state(state, version)`` when it has one; such a
    model's optimizer starts afresh.
    """
    estimator._record_network_params()
    estimator.net_ = estimator._new_net(fitted["n_features_in_"], device)
    net = estimator.net_
    module_state = {
        key.removeprefix("module."): value
        for key, value in tensors.items()
        if key.startswith("module.")
    }
    upgrade = getattr(estimator, "_upgrade_module_state", None)
    upgraded = upgrade is not None and version < FORMAT_VERSION
    if upgraded:
        module_state = upgrade(module_state, version)
    _check_module_on_meta(net, module_state, fitted["n_features_in_"])
    net.initialize()
    net.module_.load_state_dict(module_state, strict=True)
    net.history = History(history)
    _restore_resume(net, resume, tensors)
    net.module_.eval()
    if upgraded:
        # Adam's moments follow the old layout's parameters: training goes
        # on from the weights with a fresh optimizer.
        return
    _check_optimizer_groups(groups, net.optimizer_.state_dict()["param_groups"])
    parameters = [p for group in net.optimizer_.param_groups for p in group["params"]]
    optimizer_state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("optimizer."):
            _, index, name = key.split(".", 2)
            optimizer_state.setdefault(int(index), {})[name] = value
    # Adam keeps a scalar step count and two moments of its parameter's shape
    # (its fused kernel reads them unchecked).
    _check_shapes(
        {
            f"optimizer.{index}.{name}": shape
            for index in optimizer_state
            if 0 <= index < len(parameters)
            for name, shape in (
                ("step", ()),
                ("exp_avg", tuple(parameters[index].shape)),
                ("exp_avg_sq", tuple(parameters[index].shape)),
            )
        },
        {
            f"optimizer.{index}.{name}": tuple(value.shape)
            for index, state in optimizer_state.items()
            for name, value in state.items()
        },
    )
    net.optimizer_.load_state_dict({"state": optimizer_state, "param_groups": groups})


def _add_entries(entries: dict[str, bytes], estimator, folder: str, nested=None):
    """Add the zip entries that store `estimator` in `folder` to `entries`.

    ``nested`` stores the estimators among its parameters and fitted
    attributes (see `_encode`); the outer estimator's folder is ``""``.
    """
    params = {
        key: _encode(value, key, nested)
        for key, value in estimator.get_params(deep=False).items()
    }
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": type(estimator).__name__,
        "params": params,
    }
    if not folder:
        header["manifest"] = MANIFEST_FILE
    entries[folder + PARAMS_FILE] = _dumps(header)
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        return
    where = f" (in its {folder.removesuffix('/')})" if folder else ""
    changed = estimator._changed_network_params()
    if changed:
        raise ValueError(
            f"Changed since this estimator was fitted{where}: {changed}, so its "
            "parameters no longer describe its network and the file would load as "
            "another model. Set them back, or fit again, before saving."
        )
    losses = estimator.loss_curve_ + (estimator.validation_scores_ or [])
    if not all(math.isfinite(loss) for loss in losses):
        raise ValueError(
            f"This estimator's training diverged{where}: its loss_curve_ or "
            "validation_scores_ holds a non-finite loss, so its weights are not "
            "usable. Fit it again, with the input scaled or a lower "
            "learning_rate_init, before saving."
        )
    fitted = _fitted_attributes(estimator, nested)
    tensors, fitted["optimizer_param_groups"] = _tensors(estimator.net_)
    history = estimator.net_.history.to_list()
    entries[folder + FITTED_FILE] = _dumps(fitted)
    entries[folder + HISTORY_FILE] = json.dumps(
        history, default=_history_default
    ).encode("utf-8")
    resume = _resume_file(estimator.net_)
    if resume is not None:
        entries[folder + RESUME_FILE] = _dumps(resume)
    name, payload = _weights_file(tensors)
    entries[folder + name] = payload


def _manifest(members: dict[str, bytes]) -> dict[str, Any]:
    """The manifest of an archive of `members`: each one's size and SHA-256,
    and whether the estimator was fitted."""
    return {
        "format": FORMAT,
        "fitted": FITTED_FILE in members,
        "members": {
            name: {"size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
            for name, payload in members.items()
        },
    }


def _write_archive(file: str | IO[bytes], members: dict[str, bytes]) -> None:
    """Write `members` as a zip archive to `file`, then their manifest, last."""
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
        archive.writestr(MANIFEST_FILE, _dumps(_manifest(members)))


def _replace_atomically(path: str | os.PathLike, write: Callable[[IO], None]) -> None:
    """Call `write` on a new file beside `path`, then put it in place at once.

    The new file is flushed to the disk (``fsync``) before ``os.replace``
    swaps it in, so that `path` holds the old file or the whole new one, even
    if the machine stops. On any error, ``KeyboardInterrupt`` included, the new
    file is removed and `path` is left as it was. A symbolic link is followed,
    as ``open`` would, and the file keeps the permissions of the one it
    replaces.
    """
    target = os.path.realpath(path)
    folder, name = os.path.split(target)
    mode = None
    if os.path.exists(target):
        if not os.access(target, os.W_OK):
            # Replacing needs only the folder's permission; open() would refuse.
            raise PermissionError(13, "Permission denied", os.fspath(path))
        mode = os.stat(target).st_mode & 0o7777
    # Hidden, and short enough for any file name the target could have.
    temporary = os.path.join(folder, f".{name[:200]}.{secrets.token_hex(6)}.tmp")
    # As open(): the process's umask applies (mkstemp would make it private).
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    descriptor = os.open(temporary, flags, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as new_file:
            write(new_file)
            new_file.flush()
            os.fsync(new_file.fileno())
        if mode is not None:
            os.chmod(temporary, mode)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    _sync_folder(folder)


def _sync_folder(folder: str) -> None:
    """Flush a folder's entries to the disk, so that a replace survives a crash.

    Not every system can: Windows cannot open a folder, and some file systems
    refuse. The new file is in place either way.
    """
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _in_training(estimator: _BaseNeuralEstimator) -> _BaseNeuralEstimator:
    """`estimator`, mid-training, as a fit ending now would leave it.

    A shallow copy sharing its net: the fitted attributes are read from the
    history so far, those computed after training are left out, and the
    runtime parameters (`callbacks`, `accelerator`) are None. The live
    estimator is not changed.
    """
    snapshot = copy.copy(estimator)
    for name in _AFTER_TRAINING:
        vars(snapshot).pop(name, None)
    for name in _RUNTIME_PARAMS:
        if name in vars(snapshot):
            setattr(snapshot, name, None)
    module = estimator.net_.module_
    training = module.training
    try:
        snapshot._set_fitted_attributes()
    finally:
        module.train(training)  # it sets eval mode, on the shared module
    return snapshot


def _check_savable_during_training(estimator: _BaseNeuralEstimator) -> None:
    """Refuse, before training starts, an estimator that a save during
    training could not store (a RandomState as random_state, say)."""
    for key, value in estimator.get_params(deep=False).items():
        if key not in _RUNTIME_PARAMS:
            _encode(value, key, nested=lambda inner, name: "")


def _save_during_training(estimator: _BaseNeuralEstimator, file) -> None:
    """:func:`save` the estimator being trained, as a fit ending now would
    leave it (see `_in_training`), with what continuing its training call
    exactly needs."""
    save(_in_training(estimator), file)


def save(estimator, file: str | os.PathLike | IO[bytes]) -> None:
    """Save a skae estimator to a zip file that loads without running code.

    The file holds the hyper-parameters and fitted attributes as JSON
    (``params.json``, ``fitted.json``, ``history.json``) and the network's
    weights together with the optimizer state as tensors, in
    ``weights.safetensors`` when the optional ``safetensors`` package is
    installed and in a ``torch.save`` state dict (``weights.pt``) otherwise.
    A skae autoencoder inside the estimator (the `autoencoder` parameter of
    :class:`~skae.AutoencoderClassifier`, frozen or not, and its fitted
    `autoencoder_`) is stored the same way in a folder of its own, such as
    ``autoencoder_/``, and only once where it is the same object twice.
    Unlike a pickle, such a file can be loaded from an untrusted source.
    Its last member, ``manifest.json``, lists the others with their sizes
    and SHA-256 checksums, so that :func:`load` refuses a file cut short or
    changed.

    Saving to a path is atomic: the archive is written to a temporary file
    in the same folder, flushed to the disk and put in place with
    :func:`os.replace`. If saving fails, even on ``KeyboardInterrupt``, the
    file at `file` is left as it was and the temporary one is removed.

    Parameters
    ----------
    estimator : skae estimator
        The estimator to save, fitted or not: any of skae's estimators (every
        class on the :ref:`API page <api>`) or a kind derived from a skae
        autoencoder. Its parameters must be plain data: `callbacks` must be
        None and `random_state` an int or None; a `network` of the user's is
        stored by its qualified name (see :func:`load`). A classifier's
        `autoencoder` must be None or a skae autoencoder, possibly in a
        :class:`~sklearn.frozen.FrozenEstimator`.

    file : str, path-like or file-like object
        Where to write the zip archive (a ``.skae`` or ``.zip`` suffix is
        customary), replacing any file there, or a binary file object opened
        for writing. A file object is written into directly, so that a save
        that fails part-way leaves part of an archive in it (which
        :func:`load` refuses).

    Raises
    ------
    TypeError
        If a parameter or fitted attribute is not plain data, e.g. a callback
        or a :class:`~numpy.random.RandomState` instance, or if a nested
        estimator is not a skae autoencoder.

    ValueError
        If a fitted estimator's training diverged, or a parameter its network
        was built from changed since it was fitted.

    OSError
        If the file cannot be written; a file it replaces is left whole.

    See Also
    --------
    load : Load an estimator saved by this function.
    skae.callbacks.Checkpoint : Save an estimator while it trains.

    Notes
    -----
    The optimizer state is saved, so a loaded estimator with
    ``warm_start=True`` continues training exactly as the saved one would
    have. Pickle and joblib keep working as well; use them only for files you
    trust.

    Examples
    --------
    >>> import io
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderTransformer, load, save
    >>> X = load_digits().data[:200].astype("float32") / 16
    >>> ae = AutoencoderTransformer(4, max_iter=2, random_state=0).fit(X)
    >>> buffer = io.BytesIO()
    >>> save(ae, buffer)
    >>> loaded = load(buffer)
    >>> type(loaded).__name__, loaded.transform(X).shape
    ('AutoencoderTransformer', (200, 4))
    """
    name = type(estimator).__name__
    own_kind = isinstance(estimator, _BaseAutoencoder) and name not in _CLASSES
    if _CLASSES.get(name) is not type(estimator) and not own_kind:
        raise TypeError(
            f"skae.save saves skae estimators ({', '.join(_CLASSES)}) and "
            f"autoencoder kinds derived from them; got {name}."
        )
    entries: dict[str, bytes] = {}
    folders: dict[int, str] = {}

    def nested(inner, key):
        """Store the estimator `inner`, found in `key`, once; return its folder."""
        inner_name = type(inner).__name__
        if _NESTED_CLASSES.get(inner_name) is not type(inner):
            raise TypeError(
                f"Cannot save {key}={inner!r}: skae.save stores a nested "
                f"estimator only if it is a skae autoencoder "
                f"({', '.join(_NESTED_CLASSES)}), and this is a {inner_name}. "
                "Pass a skae autoencoder, or use pickle for files you trust."
            )
        if id(inner) not in folders:
            # Parameter and attribute names differ, and each holds one at most.
            folders[id(inner)] = f"{key}/"
            _add_entries(entries, inner, folders[id(inner)])
        return folders[id(inner)]

    _add_entries(entries, estimator, "", nested)
    # The header first: a reader of a file cut short still learns from it
    # that a manifest should close the file.
    members = {PARAMS_FILE: entries.pop(PARAMS_FILE), **entries}
    if isinstance(file, str | os.PathLike):
        _replace_atomically(file, partial(_write_archive, members=members))
    else:
        _write_archive(file, members)


def load(file: str | os.PathLike | IO[bytes], *, classes=(), networks=()):
    """Load an estimator saved by :func:`save`, without running code from the file.

    The class is looked up in a fixed list of skae classes (and the
    `classes` passed), the parameters
    and fitted attributes are read from JSON and checked, and the weights are
    read with safetensors or with ``torch.load(weights_only=True)``. A nested
    autoencoder (a classifier's) is read the same way from its folder. A
    model saved on a GPU loads on the CPU when torch sees no CUDA device.

    Parameters
    ----------
    file : str, path-like or file-like object
        The zip archive written by :func:`save`, or a binary file object
        opened for reading.

    classes : sequence of classes, default=()
        Autoencoder kinds of your own (subclasses of a skae autoencoder, see
        the User Guide's "Writing your own kind") that the file may name, in
        addition to skae's. Only classes passed here are ever built.

    networks : sequence of classes or functions, default=()
        Networks of your own (the `network` parameter of an autoencoder) that
        the file may name. A file stores a network by its qualified name only;
        the name must be one of these, and nothing is imported.

    Returns
    -------
    estimator : skae estimator
        The estimator, fitted if it was fitted when saved. Its `transform`,
        `predict` and `predict_proba` return exactly what the saved
        estimator's did.

    Raises
    ------
    ValueError
        If the file is not a skae file, was written by a newer version of
        skae, names a class that is not a skae estimator, is incomplete or
        changed (its manifest is missing, or a member is missing, cut,
        changed or not listed in it), or is damaged (including weights that
        do not fit its parameters). Files written before skae had manifests
        load unchecked.

    See Also
    --------
    save : Save an estimator to such a file.

    Examples
    --------
    >>> import io
    >>> from skae import AutoencoderClassifier, SparseAutoencoder, load, save
    >>> buffer = io.BytesIO()
    >>> save(SparseAutoencoder(3, sparsity_target=0.1), buffer)
    >>> load(buffer).get_params()["sparsity_target"]
    0.1
    >>> buffer = io.BytesIO()
    >>> save(AutoencoderClassifier(SparseAutoencoder(3)), buffer)
    >>> load(buffer).autoencoder
    SparseAutoencoder(n_components=3)
    """
    extra = {cls.__name__: cls for cls in classes}
    if not all(issubclass(cls, _BaseAutoencoder) for cls in extra.values()):
        raise TypeError("classes must be subclasses of skae's autoencoders.")
    callables = {f"{obj.__module__}.{obj.__qualname__}": obj for obj in networks}
    try:
        return _load(file, {**extra, **_CLASSES}, callables)
    except ValueError:
        raise
    except _MALFORMED as exc:
        raise ValueError(
            f"Not a valid skae file: reading it raised {type(exc).__name__}: {exc}"
        ) from exc


def _load(file: str | os.PathLike | IO[bytes], classes: dict, callables: dict):
    """:func:`load`, raising whatever a damaged file makes the reading raise."""
    with zipfile.ZipFile(file) as archive:
        names = archive.namelist()
        if len(set(names)) < len(names):
            # Readers disagree on which of two same-named entries counts.
            raise ValueError("Not a valid skae file: it has duplicate entries.")
        if PARAMS_FILE not in names:
            raise ValueError(f"Not a skae file: it has no {PARAMS_FILE}.")
        if MANIFEST_FILE in names:
            _check_manifest(archive)
        nested: dict[str, Any] = {}

        def resolve(folder):
            """The nested estimator stored in `folder`, read once."""
            if not (isinstance(folder, str) and _FOLDER.fullmatch(folder)):
                raise ValueError(
                    f"Not a valid skae file: {folder!r} is not the folder of a "
                    "nested estimator."
                )
            if folder not in nested:
                nested[folder] = _read(archive, folder, _NESTED_CLASSES, callables)
            return nested[folder]

        return _read(archive, "", classes, callables, resolve)


def _check_manifest_named(manifest: Any, names: set[str]) -> None:
    """Refuse a file whose header names a manifest that it does not hold."""
    if manifest != MANIFEST_FILE:
        raise ValueError(
            f"Not a valid skae file: its {PARAMS_FILE} names {manifest!r} as its "
            f"manifest, not {MANIFEST_FILE}."
        )
    if MANIFEST_FILE not in names:
        raise ValueError(
            f"This skae file is incomplete: it has no {MANIFEST_FILE}, which "
            "skae.save writes last, so its writing stopped part-way (a full disk, "
            "a killed process) or the file was cut since. Save the model again."
        )


def _is_sha256(value: Any) -> bool:
    """Whether `value` is a SHA-256 digest in lowercase hexadecimal."""
    return isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) is not None


def _check_manifest(archive: zipfile.ZipFile) -> None:
    """Refuse an archive whose members disagree with its manifest.

    Each member must be listed, with its exact size and SHA-256, and each
    listed member must be there. The members are read in chunks, and never
    past the size the manifest gives them.
    """
    manifest = json.loads(archive.read(MANIFEST_FILE))
    listed = manifest.get("members") if isinstance(manifest, dict) else None
    entries_ok = isinstance(listed, dict) and all(
        isinstance(entry, dict)
        and entry.keys() == {"size", "sha256"}
        and isinstance(entry["size"], int)
        and entry["size"] >= 0
        and _is_sha256(entry["sha256"])
        for entry in listed.values()
    )
    if not (entries_ok and isinstance(manifest.get("fitted"), bool)):
        raise ValueError(
            f"Not a valid skae file: its {MANIFEST_FILE} is not a skae manifest."
        )
    present = set(archive.namelist()) - {MANIFEST_FILE}
    missing = sorted(listed.keys() - present)
    if missing:
        raise ValueError(
            f"This skae file is incomplete: {', '.join(missing)}, listed in its "
            f"{MANIFEST_FILE}, is missing."
        )
    extra = sorted(present - listed.keys())
    if extra:
        raise ValueError(
            f"This skae file was changed after it was written: {', '.join(extra)} "
            f"is not listed in its {MANIFEST_FILE}."
        )
    for name, entry in listed.items():
        digest, size = hashlib.sha256(), 0
        with archive.open(name) as member:
            while size <= entry["size"]:
                chunk = member.read(1 << 20)
                if not chunk:
                    break
                digest.update(chunk)
                size += len(chunk)
        if size != entry["size"]:
            held = "more than" if size > entry["size"] else "only"
            raise ValueError(
                f"This skae file is damaged: its {name} holds {held} "
                f"{min(size, entry['size'])} bytes, where its {MANIFEST_FILE} says "
                f"{entry['size']}: it was cut or changed after it was written."
            )
        if digest.hexdigest() != entry["sha256"]:
            raise ValueError(
                f"This skae file is damaged: its {name} does not match the SHA-256 "
                f"checksum in its {MANIFEST_FILE}, so it was changed after it was "
                "written."
            )
    if manifest["fitted"] != (FITTED_FILE in present):
        raise ValueError(
            f"This skae file is damaged: its {MANIFEST_FILE} says the estimator "
            f"was {'' if manifest['fitted'] else 'not '}fitted, and it holds "
            f"{'no' if manifest['fitted'] else 'a'} {FITTED_FILE}."
        )


def _read(
    archive: zipfile.ZipFile, folder: str, classes: dict, callables: dict, resolve=None
):
    """Read the estimator stored in `folder` of `archive`, fitted if it was.

    ``resolve(folder)`` reads the nested estimators it refers to; without it,
    a reference to one is refused.
    """
    names = set(archive.namelist())
    if folder + PARAMS_FILE not in names:
        raise ValueError(f"Not a valid skae file: it has no {folder}{PARAMS_FILE}.")
    payload = archive.read(folder + PARAMS_FILE)
    # The header is checked before any nested estimator it names is read.
    header = json.loads(payload)
    if header.get("format") != FORMAT:
        message = f"Not a skae file: its {folder}{PARAMS_FILE} has no skae header."
        raise ValueError(message)
    if header.get("format_version", 0) > FORMAT_VERSION:
        raise ValueError(
            f"This file has format version {header['format_version']}, newer "
            f"than the {FORMAT_VERSION} this skae reads: upgrade skae."
        )
    if not folder and "manifest" in header:
        _check_manifest_named(header["manifest"], names)
    cls = classes.get(header.get("class"))
    if cls is None:
        raise ValueError(
            f"Unknown estimator class {header.get('class')!r} in "
            f"{folder}{PARAMS_FILE}: skae.load builds only {', '.join(classes)} "
            "there. Pass a kind of your own with load(file, classes=[...])."
        )
    hook = partial(_decode, resolve=resolve, callables=callables)
    estimator = cls(**json.loads(payload, object_hook=hook)["params"])
    # Rejects out-of-range values before anything is built from them.
    estimator._validate_params()
    if folder + FITTED_FILE not in names:
        return estimator
    fitted = json.loads(archive.read(folder + FITTED_FILE), object_hook=hook)
    history = json.loads(archive.read(folder + HISTORY_FILE))
    tensors = _read_weights(archive, folder)
    groups = fitted.pop("optimizer_param_groups")
    # "auto" may be either: what the fit settled, where the file says.
    stops_early = fitted.get("do_early_stopping_", estimator.early_stopping)
    if (
        stops_early != "auto"
        and (fitted.get("validation_scores_") is not None) != stops_early
    ):
        raise ValueError(
            "Not a valid skae file: its early_stopping does not match its fitted "
            "validation_scores_."
        )
    for name, value in fitted.items():
        _check_attribute_name(estimator, name)
        setattr(estimator, name, value)
    resume = None
    if folder + RESUME_FILE in names:
        resume = json.loads(archive.read(folder + RESUME_FILE))
    device = _load_device(estimator.device)
    version = header.get("format_version", 0)
    _restore_net(estimator, fitted, tensors, groups, history, device, version, resume)
    return estimator
