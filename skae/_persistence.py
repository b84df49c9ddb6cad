"""Safe persistence: save and load estimators without pickle."""

# SPDX-License-Identifier: BSD-3-Clause

import importlib.util
import io
import json
import math
import os
import pickle
import warnings
import zipfile
import zlib
from typing import IO, Any

import numpy as np
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted
from skorch.exceptions import DeviceWarning
from skorch.history import History

from skae._base import _BaseAutoencoder
from skae._engine.runtime import resolve_device
from skae._registry import AUTOENCODERS

__all__ = ["load", "save"]

# Only these classes are ever built by `load`: the class name in a file is a
# key into this dict, never a name to import.
_CLASSES = {cls.__name__: cls for cls in AUTOENCODERS}

FORMAT = "skae"
FORMAT_VERSION = 1

PARAMS_FILE = "params.json"
FITTED_FILE = "fitted.json"
HISTORY_FILE = "history.json"
SAFETENSORS_FILE = "weights.safetensors"
TORCH_FILE = "weights.pt"

# Private attributes needed to continue training exactly where it stopped.
_PRIVATE_ATTRIBUTES = ("_seed",)

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


def _encode(value: Any, name: str) -> Any:
    """Turn `value` into plain JSON data, tagging tuples and arrays.

    Anything else (callables, other objects) is refused: a file that held it
    could only be read back by running code.
    """
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
    raise TypeError(
        f"Cannot save {name}={value!r}: skae.save stores values as JSON so that "
        "loading runs no code, and this value is not plain data (None, bool, "
        "int, float, str, or a tuple, list, dict or array of those). Set plain values "
        "with set_params before saving, or use pickle for files you trust."
    )


def _decode(obj: dict) -> Any:
    """JSON object hook: rebuild the tuples and arrays tagged by `_encode`."""
    if obj.keys() == {"__tuple__"}:
        return tuple(obj["__tuple__"])
    if obj.keys() == {"__ndarray__", "dtype"}:
        dtype = np.dtype(obj["dtype"])
        if dtype.kind not in "biufUO":
            raise ValueError(f"Unsupported array dtype {dtype} in a skae file.")
        return np.asarray(obj["__ndarray__"], dtype=dtype)
    return obj


def _dumps(data: Any) -> bytes:
    """Serialise JSON data, refusing NaN and infinity as strict JSON does."""
    return json.dumps(data, allow_nan=False, indent=1).encode("utf-8")


def _history_default(value: Any) -> Any:
    """JSON fallback for numpy scalars in skorch's history."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{value!r} in the training history is not JSON-serialisable")


def _fitted_attributes(estimator: _BaseAutoencoder) -> dict[str, Any]:
    """The fitted attributes other than the net, encoded for JSON."""
    names = [
        name
        for name in vars(estimator)
        if name.endswith("_") and not name.startswith("_") and name != "net_"
    ]
    names += [name for name in _PRIVATE_ATTRIBUTES if hasattr(estimator, name)]
    return {name: _encode(getattr(estimator, name), name) for name in names}


def _tensors(net) -> tuple[dict[str, torch.Tensor], list]:
    """Flatten the module weights and optimizer state into named CPU tensors.

    Returns the tensors and the optimizer's JSON-encoded parameter groups.
    """
    tensors = {
        f"module.{key}": value.detach().cpu().contiguous()
        for key, value in net.module_.state_dict().items()
    }
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


def _write_weights(archive: zipfile.ZipFile, tensors: dict[str, torch.Tensor]):
    """Store tensors with safetensors, or as a torch state dict without it."""
    if _has_safetensors():
        from safetensors.torch import save as save_safetensors

        archive.writestr(SAFETENSORS_FILE, save_safetensors(tensors))
    else:
        buffer = io.BytesIO()
        torch.save(tensors, buffer)
        archive.writestr(TORCH_FILE, buffer.getvalue())


def _read_weights(archive: zipfile.ZipFile) -> dict[str, torch.Tensor]:
    """Read tensors without running code: safetensors, or `weights_only` torch."""
    names = set(archive.namelist())
    if SAFETENSORS_FILE in names:
        if not _has_safetensors():
            raise ImportError(
                "This file stores its weights with safetensors, which is not "
                "installed: pip install safetensors (or pip install skae[safetensors])."
            )
        from safetensors import SafetensorError
        from safetensors.torch import load as load_safetensors

        try:
            return load_safetensors(archive.read(SAFETENSORS_FILE))
        except SafetensorError as exc:
            message = f"The {SAFETENSORS_FILE} in this file is damaged: {exc}"
            raise ValueError(message) from exc
    if TORCH_FILE in names:
        buffer = io.BytesIO(archive.read(TORCH_FILE))
        try:
            # weights_only=True unpickles tensors and plain containers only.
            return torch.load(buffer, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as exc:
            raise ValueError(
                f"The {TORCH_FILE} in this file is damaged, or holds more than "
                "tensors: skae never unpickles anything else, since that could run "
                "code from the file."
            ) from exc
        except (EOFError, RuntimeError) as exc:
            message = f"The {TORCH_FILE} in this file is damaged: {exc}"
            raise ValueError(message) from exc
    raise ValueError(f"The file has no {SAFETENSORS_FILE} or {TORCH_FILE} in it.")


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
        stacklevel=3,
    )
    return torch.device("cpu")


def _check_attribute_name(estimator: _BaseAutoencoder, name: str) -> None:
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


def _restore_net(estimator, fitted, tensors, groups, history, device):
    """Rebuild the fitted net of `estimator` and load its state into it."""
    estimator._record_network_params()
    estimator.net_ = estimator._new_net(fitted["n_features_in_"], device)
    net = estimator.net_
    # Shapes first, on the meta device: a file could otherwise make the net
    # allocate a network of any size before its weights were found not to fit.
    try:
        with torch.device("meta"):
            shapes = net.module(**net.get_params_for("module")).state_dict()
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(f"The parameters in this file make no network: {exc}") from exc
    module_state = {
        key.removeprefix("module."): value
        for key, value in tensors.items()
        if key.startswith("module.")
    }
    _check_shapes(
        {key: tuple(value.shape) for key, value in shapes.items()},
        {key: tuple(value.shape) for key, value in module_state.items()},
    )
    net.initialize()
    net.module_.load_state_dict(module_state, strict=True)
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
    net.history = History(history)
    net.module_.eval()


def save(estimator, file: str | os.PathLike | IO[bytes]) -> None:
    """Save a skae estimator to a zip file that loads without running code.

    The file holds the hyper-parameters and fitted attributes as JSON
    (``params.json``, ``fitted.json``, ``history.json``) and the network's
    weights together with the optimizer state as tensors, in
    ``weights.safetensors`` when the optional ``safetensors`` package is
    installed and in a ``torch.save`` state dict (``weights.pt``) otherwise.
    Unlike a pickle, such a file can be loaded from an untrusted source.

    Parameters
    ----------
    estimator : AutoencoderTransformer, DenoisingAutoencoder or \
            SparseAutoencoder
        The estimator to save, fitted or not. Its parameters must be plain
        data: `callbacks` must be None and `random_state` an int or None.

    file : str, path-like or file-like object
        Where to write the zip archive (a ``.skae`` or ``.zip`` suffix is
        customary), or a binary file object opened for writing.

    Raises
    ------
    TypeError
        If a parameter or fitted attribute is not plain data, e.g. a callback
        or a :class:`~numpy.random.RandomState` instance.

    See Also
    --------
    load : Load an estimator saved by this function.

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
    if _CLASSES.get(name) is not type(estimator):
        raise TypeError(
            f"skae.save saves skae estimators ({', '.join(_CLASSES)}); got {name}."
        )
    params = {
        key: _encode(value, key)
        for key, value in estimator.get_params(deep=False).items()
    }
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "class": name,
        "params": params,
    }
    try:
        check_is_fitted(estimator)
    except NotFittedError:
        fitted = None
    else:
        changed = estimator._changed_network_params()
        if changed:
            raise ValueError(
                f"Changed since this estimator was fitted: {changed}, so its "
                "parameters no longer describe its network and the file would "
                "load as another model. Set them back, or fit again, before saving."
            )
        losses = estimator.loss_curve_ + (estimator.validation_scores_ or [])
        if not all(math.isfinite(loss) for loss in losses):
            raise ValueError(
                "This estimator's training diverged (its loss_curve_ or "
                "validation_scores_ holds a non-finite loss), so its weights are "
                "not usable. Fit it again, with the input scaled or a lower "
                "learning_rate_init, before saving."
            )
        fitted = _fitted_attributes(estimator)
        tensors, groups = _tensors(estimator.net_)
        fitted["optimizer_param_groups"] = groups
        history = json.dumps(
            estimator.net_.history.to_list(), default=_history_default
        ).encode("utf-8")
    with zipfile.ZipFile(file, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(PARAMS_FILE, _dumps(header))
        if fitted is not None:
            archive.writestr(FITTED_FILE, _dumps(fitted))
            archive.writestr(HISTORY_FILE, history)
            _write_weights(archive, tensors)


def load(file: str | os.PathLike | IO[bytes]):
    """Load an estimator saved by :func:`save`, without running code from the file.

    The class is looked up in a fixed list of skae classes, the parameters
    and fitted attributes are read from JSON and checked, and the weights are
    read with safetensors or with ``torch.load(weights_only=True)``. A model
    saved on a GPU loads on the CPU when torch sees no CUDA device.

    Parameters
    ----------
    file : str, path-like or file-like object
        The zip archive written by :func:`save`, or a binary file object
        opened for reading.

    Returns
    -------
    estimator : AutoencoderTransformer, DenoisingAutoencoder or \
            SparseAutoencoder
        The estimator, fitted if it was fitted when saved. Its `transform`
        returns exactly what the saved estimator's did.

    Raises
    ------
    ValueError
        If the file is not a skae file, was written by a newer version of
        skae, names a class that is not a skae estimator, or is damaged
        (including weights that do not fit its parameters).

    See Also
    --------
    save : Save an estimator to such a file.

    Examples
    --------
    >>> import io
    >>> from skae import SparseAutoencoder, load, save
    >>> buffer = io.BytesIO()
    >>> save(SparseAutoencoder(3, sparsity_target=0.1), buffer)
    >>> load(buffer).get_params()["sparsity_target"]
    0.1
    """
    try:
        return _load(file)
    except ValueError:
        raise
    except _MALFORMED as exc:
        raise ValueError(
            f"Not a valid skae file: reading it raised {type(exc).__name__}: {exc}"
        ) from exc


def _load(file: str | os.PathLike | IO[bytes]):
    """:func:`load`, raising whatever a damaged file makes the reading raise."""
    with zipfile.ZipFile(file) as archive:
        names = set(archive.namelist())
        if len(names) < len(archive.namelist()):
            # Readers disagree on which of two same-named entries counts.
            raise ValueError("Not a valid skae file: it has duplicate entries.")
        if PARAMS_FILE not in names:
            raise ValueError(f"Not a skae file: it has no {PARAMS_FILE}.")
        header = json.loads(archive.read(PARAMS_FILE), object_hook=_decode)
        if header.get("format") != FORMAT:
            raise ValueError("Not a skae file: its params.json has no skae header.")
        if header.get("format_version", 0) > FORMAT_VERSION:
            raise ValueError(
                f"This file has format version {header['format_version']}, newer "
                f"than the {FORMAT_VERSION} this skae reads: upgrade skae."
            )
        cls = _CLASSES.get(header.get("class"))
        if cls is None:
            raise ValueError(
                f"Unknown estimator class {header.get('class')!r}: skae.load builds "
                f"only {', '.join(_CLASSES)}."
            )
        estimator = cls(**header["params"])
        # Rejects out-of-range values before anything is built from them.
        estimator._validate_params()
        if FITTED_FILE not in names:
            return estimator
        fitted = json.loads(archive.read(FITTED_FILE), object_hook=_decode)
        history = json.loads(archive.read(HISTORY_FILE))
        tensors = _read_weights(archive)
    groups = fitted.pop("optimizer_param_groups")
    if (fitted.get("validation_scores_") is not None) != estimator.early_stopping:
        raise ValueError(
            "Not a valid skae file: its early_stopping does not match its fitted "
            "validation_scores_."
        )
    for name, value in fitted.items():
        _check_attribute_name(estimator, name)
        setattr(estimator, name, value)
    device = _load_device(estimator.device)
    _restore_net(estimator, fitted, tensors, groups, history, device)
    return estimator
