"""Tests for skae.save / skae.load: JSON + safetensors files that run no code."""

# SPDX-License-Identifier: BSD-3-Clause

import io
import json
import os
import pathlib
import pickle
import sys
import warnings
import zipfile

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from sklearn.base import BaseEstimator
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from skorch.callbacks import EpochScoring
from skorch.exceptions import DeviceWarning

from skae import (
    AutoencoderClassifier,
    AutoencoderTransformer,
    DenoisingAutoencoder,
    _persistence,
    load,
    save,
)
from skae._registry import ESTIMATORS
from tests.conftest import FAST_PARAMS

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

# Every fitted attribute a loaded estimator must have, beyond the net.
FITTED_ATTRIBUTES = [
    "n_features_in_",
    "n_iter_",
    "loss_curve_",
    "validation_scores_",
    "best_validation_score_",
    "best_loss_",
    "reconstruction_error_",
]

# A classifier whose autoencoder and head train in a fraction of a second.
CLASSIFIER_PARAMS = {
    "head_hidden_layer_sizes": (8,),
    "max_iter": 5,
    "batch_size": 32,
    "random_state": 0,
}


def _labels(X):
    """Three classes read from the first feature of `X`; every third row
    unlabeled (-1)."""
    y = np.digitize(X[:, 0], [0.33, 0.66])
    y[::3] = -1
    return y


def _make_classifier(**params):
    """An unfitted fast classifier around an unfitted fast autoencoder."""
    return AutoencoderClassifier(
        AutoencoderTransformer(**FAST_PARAMS), **{**CLASSIFIER_PARAMS, **params}
    )


def _fit_fast(Estimator, X, **params):
    """A fitted `Estimator` (any class of the registry) with fast parameters."""
    if Estimator is AutoencoderClassifier:
        return _make_classifier(**params).fit(X, _labels(X))
    return Estimator(**{**FAST_PARAMS, **params}).fit(X)


def _rewrite_member_bytes(path, member, edit, *, manifest=True):
    """Rewrite the zip file at `path`, with `member`'s bytes through `edit`
    (an `edit` returning None removes the member).

    The manifest is rewritten to match, as whoever makes a file by hand would,
    so that the checks behind it are reached; ``manifest=False`` leaves it as
    it was.
    """
    with zipfile.ZipFile(path) as archive:
        contents = {name: archive.read(name) for name in archive.namelist()}
    contents[member] = edit(contents[member])
    contents = {k: v for k, v in contents.items() if v is not None}
    if manifest and _persistence.MANIFEST_FILE in contents:
        del contents[_persistence.MANIFEST_FILE]
        contents[_persistence.MANIFEST_FILE] = _persistence._dumps(
            _persistence._manifest(contents)
        )
    with zipfile.ZipFile(path, "w") as archive:
        for name, payload in contents.items():
            archive.writestr(name, payload)


def _rewrite_member(path, member, edit):
    """Rewrite the JSON `member` of the zip file at `path` through `edit(data)`."""
    _rewrite_member_bytes(
        path, member, lambda payload: json.dumps(edit(json.loads(payload))).encode()
    )


def _weights(estimator):
    """The module's weights, as numpy arrays keyed by name."""
    state = estimator.net_.module_.state_dict()
    return {key: value.cpu().numpy() for key, value in state.items()}


def _assert_same_params(loaded, original):
    """Check two estimators have equal parameters, nested estimators included."""
    assert type(loaded) is type(original)
    params = loaded.get_params(deep=False)
    assert params.keys() == original.get_params(deep=False).keys()
    for name, value in original.get_params(deep=False).items():
        if isinstance(value, BaseEstimator):
            _assert_same_params(params[name], value)
        elif isinstance(value, float) and np.isnan(value):
            assert np.isnan(params[name]), name  # an imputer's missing_values
        else:
            assert params[name] == value, name


def _optimizer_groups(estimator):
    """The settings of the optimizer's parameter groups."""
    return estimator.net_.optimizer_.state_dict()["param_groups"]


def _assert_same_fit(loaded, original, X):
    """Check two estimators have the same params, attributes and outputs."""
    _assert_same_params(loaded, original)
    for name in FITTED_ATTRIBUTES:
        if hasattr(original, name):
            assert getattr(loaded, name) == getattr(original, name), name
    assert _optimizer_groups(loaded) == _optimizer_groups(original)
    if isinstance(original, AutoencoderClassifier):
        assert_array_equal(loaded.classes_, original.classes_)
        assert loaded.classes_.dtype == original.classes_.dtype
        assert_array_equal(loaded.predict_proba(X), original.predict_proba(X))
        assert_array_equal(loaded.predict(X), original.predict(X))
        _assert_same_fit(loaded.autoencoder_, original.autoencoder_, X)
        return
    assert_array_equal(loaded.transform(X), original.transform(X))
    if hasattr(original, "inverse_transform"):  # not an imputer
        Z = original.transform(X)
        assert_array_equal(loaded.inverse_transform(Z), original.inverse_transform(Z))


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_save_load_round_trip_is_exact(Estimator, dtype, X_lowrank, tmp_path):
    """Check that a loaded estimator transforms (or predicts) exactly as the
    saved one, for every estimator class."""
    X = X_lowrank.astype(dtype)
    estimator = _fit_fast(Estimator, X, early_stopping=True)
    path = tmp_path / "model.skae"
    save(estimator, path)
    loaded = load(path)
    _assert_same_fit(loaded, estimator, X)
    if Estimator is AutoencoderClassifier:
        assert loaded.predict_proba(X).dtype == dtype
    else:
        assert loaded.transform(X).dtype == dtype


def test_save_load_file_object(X_lowrank):
    """Check that save and load accept binary file objects."""
    estimator = AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank)
    buffer = io.BytesIO()
    save(estimator, buffer)
    buffer.seek(0)
    _assert_same_fit(load(buffer), estimator, X_lowrank)


def test_save_writes_json_and_safetensors(X_lowrank, tmp_path):
    """Check that the file holds JSON metadata and safetensors weights only."""
    pytest.importorskip("safetensors")
    path = tmp_path / "model.skae"
    save(AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank), path)
    with zipfile.ZipFile(path) as archive:
        # The header first, the manifest last.
        assert archive.namelist() == [
            "params.json",
            "fitted.json",
            "history.json",
            "weights.safetensors",
            "manifest.json",
        ]
        header = json.loads(archive.read("params.json"))
    assert header["class"] == "AutoencoderTransformer"
    assert header["params"]["hidden_layer_sizes"] == {"__tuple__": [8]}


def test_save_load_without_safetensors(X_lowrank, tmp_path, monkeypatch):
    """Check the torch state-dict fallback round-trips when safetensors is absent."""
    monkeypatch.setattr(_persistence, "_has_safetensors", lambda: False)
    estimator = AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank)
    path = tmp_path / "model.skae"
    save(estimator, path)
    with zipfile.ZipFile(path) as archive:
        assert "weights.pt" in archive.namelist()
        assert "weights.safetensors" not in archive.namelist()
    _assert_same_fit(load(path), estimator, X_lowrank)


def test_load_safetensors_file_without_safetensors(X_lowrank, tmp_path, monkeypatch):
    """Check that a clear ImportError names safetensors when it is missing."""
    pytest.importorskip("safetensors")
    path = tmp_path / "model.skae"
    save(AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank), path)
    monkeypatch.setattr(_persistence, "_has_safetensors", lambda: False)
    with pytest.raises(ImportError, match="pip install safetensors"):
        load(path)


def test_load_refuses_pickled_code_in_weights(X_lowrank, tmp_path, monkeypatch):
    """Check that torch weights holding more than tensors are never unpickled."""
    monkeypatch.setattr(_persistence, "_has_safetensors", lambda: False)
    path = tmp_path / "model.skae"
    save(AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank), path)
    buffer = io.BytesIO()
    # An object whose unpickling would call a function: weights_only refuses it.
    torch.save({"module.x": warnings.WarningMessage("", UserWarning, "", 0)}, buffer)
    _rewrite_member_bytes(path, "weights.pt", lambda payload: buffer.getvalue())
    with pytest.raises(ValueError, match="holds more than tensors") as info:
        load(path)
    assert isinstance(info.value.__cause__, pickle.UnpicklingError)


@pytest.mark.parametrize(
    "stopping",
    [{}, {"early_stopping": True, "tol": 0.5, "n_iter_no_change": 2}],
    ids=["no-stopping", "early-stopping"],
)
def test_save_load_warm_start_continues_exactly(stopping, X_lowrank, tmp_path):
    """Check that a loaded estimator continues training as the saved one would.

    With early stopping, that takes the best loss so far and the misses'
    threshold, which the loaded model's callback replays from the history.
    """
    params = {**FAST_PARAMS, "max_iter": 3, "warm_start": True, **stopping}
    estimator = AutoencoderTransformer(**params).fit(X_lowrank)
    path = tmp_path / "model.skae"
    save(estimator, path)
    loaded = load(path)
    estimator.fit(X_lowrank)
    loaded.fit(X_lowrank)
    assert loaded.n_iter_ == estimator.n_iter_ == (6 if not stopping else 5)
    assert loaded.loss_curve_ == estimator.loss_curve_
    assert loaded.best_loss_ == estimator.best_loss_
    for key, value in _weights(estimator).items():
        assert_array_equal(_weights(loaded)[key], value)


def test_save_load_feature_names(X_lowrank, tmp_path):
    """Check that feature names seen in fit survive a round trip."""
    pd = pytest.importorskip("pandas")
    X = pd.DataFrame(X_lowrank, columns=[f"pixel{i}" for i in range(10)])
    estimator = AutoencoderTransformer(**FAST_PARAMS).fit(X)
    path = tmp_path / "model.skae"
    save(estimator, path)
    loaded = load(path)
    assert_array_equal(loaded.feature_names_in_, estimator.feature_names_in_)
    assert loaded.feature_names_in_.dtype == object
    assert_array_equal(loaded.transform(X), estimator.transform(X))
    with pytest.raises(ValueError, match="feature names"):
        loaded.transform(X.rename(columns={"pixel0": "other"}))


def test_save_load_unfitted_estimator(tmp_path):
    """Check that an unfitted estimator round-trips its parameters only."""
    estimator = DenoisingAutoencoder(3, noise_level=0.2, hidden_layer_sizes=(16, 8))
    path = tmp_path / "model.skae"
    save(estimator, path)
    loaded = load(path)
    assert loaded.get_params() == estimator.get_params()
    assert loaded.hidden_layer_sizes == (16, 8)
    with pytest.raises(NotFittedError):
        loaded.transform(np.zeros((2, 5)))


@pytest.mark.parametrize(
    "params, name",
    [
        ({"callbacks": [EpochScoring("neg_mean_squared_error")]}, "callbacks"),
        ({"random_state": np.random.RandomState(0)}, "random_state"),
    ],
)
def test_save_refuses_parameters_that_are_not_plain_data(params, name, tmp_path):
    """Check that callbacks and RandomState instances are refused with a clear error."""
    estimator = AutoencoderTransformer(**params)
    with pytest.raises(TypeError, match=f"Cannot save {name}=.*not plain data"):
        save(estimator, tmp_path / "model.skae")
    assert not (tmp_path / "model.skae").exists()


def test_save_refuses_other_estimators(tmp_path):
    """Check that only skae estimators can be saved."""
    from sklearn.decomposition import PCA

    with pytest.raises(TypeError, match="saves skae estimators"):
        save(PCA(), tmp_path / "model.skae")


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda data: {**data, "class": "os.system"}, "Unknown estimator class"),
        (lambda data: {**data, "format": "other"}, "Not a skae file"),
        (lambda data: {**data, "format_version": 99}, "upgrade skae"),
        (
            lambda data: {**data, "params": {**data["params"], "activation": "x"}},
            "activation",
        ),
    ],
)
def test_load_refuses_bad_headers(edit, message, X_lowrank, tmp_path):
    """Check that unknown classes, formats and parameter values are refused."""
    path = tmp_path / "model.skae"
    save(AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank), path)
    _rewrite_member(path, "params.json", edit)
    with pytest.raises(ValueError, match=message):
        load(path)


def test_load_refuses_unexpected_attributes(X_lowrank, tmp_path):
    """Check that a file cannot set methods or private state on the estimator."""
    path = tmp_path / "model.skae"
    save(AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank), path)
    _rewrite_member(path, "fitted.json", lambda data: {**data, "transform": 1})
    with pytest.raises(ValueError, match="Unexpected fitted attribute 'transform'"):
        load(path)


def _add_member(path, member, payload):
    """Append `payload` as `member` to the zip file at `path`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile: duplicate name
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr(member, payload)


def _set_param(name, value):
    """An edit of params.json that sets parameter `name` to `value`."""
    return lambda data: {**data, "params": {**data["params"], name: value}}


@pytest.mark.parametrize(
    "damage, message",
    [
        # A 10 KB file asking for a 20000 x 20000 hidden layer: refused from
        # the shapes alone, before any of it is allocated.
        (
            lambda path: _rewrite_member(
                path,
                "params.json",
                _set_param("hidden_layer_sizes", {"__tuple__": [20_000, 20_000]}),
            ),
            r"decoder.mlp.0.bias has shape \(8,\) in the file, and the "
            r"parameters make it \(20000,\)",
        ),
        (
            lambda path: _rewrite_member(
                path, "fitted.json", lambda data: {**data, "n_features_in_": -3}
            ),
            "make no network",
        ),
        (
            lambda path: _rewrite_member(path, "params.json", lambda data: [data]),
            "Not a valid skae file: reading it raised AttributeError",
        ),
        (
            lambda path: _rewrite_member_bytes(path, "history.json", lambda _: None),
            "Not a valid skae file: reading it raised KeyError",
        ),
        (
            lambda path: _add_member(path, "params.json", b"{}"),
            "duplicate entries",
        ),
        (
            lambda path: path.write_bytes(path.read_bytes()[:100]),
            "Not a valid skae file: reading it raised BadZipFile",
        ),
    ],
    ids=[
        "huge-network",
        "negative-width",
        "header-list",
        "no-history",
        "duplicate",
        "truncated",
    ],
)
def test_load_refuses_damaged_files(damage, message, X_lowrank, tmp_path):
    """Check that a damaged or hand-made file gets a ValueError naming the
    problem, never an internal error, and never builds an outsized network."""
    path = tmp_path / "model.skae"
    save(AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank), path)
    damage(path)
    with pytest.raises(ValueError, match=message):
        load(path)


def _edit_tensors(path, edit):
    """Rewrite the safetensors weights of the zip file at `path` through `edit`."""
    from safetensors.torch import load as load_tensors
    from safetensors.torch import save as save_tensors

    def edit_payload(payload):
        tensors = load_tensors(payload)
        edit(tensors)
        return save_tensors(tensors)

    _rewrite_member_bytes(path, "weights.safetensors", edit_payload)


def _set_group(key, value):
    """An edit of fitted.json that sets `key` of the optimizer's first group."""

    def edit(data):
        groups = data["optimizer_param_groups"]
        data["optimizer_param_groups"] = [{**groups[0], key: value}, *groups[1:]]
        return data

    return edit


@pytest.mark.parametrize(
    "damage, message",
    [
        (
            lambda path: _edit_tensors(
                path, lambda t: t.update({"optimizer.0.exp_avg": torch.zeros(7, 7)})
            ),
            r"optimizer.0.exp_avg has shape \(7, 7\)",
        ),
        # A scalar moment would be read by the fused Adam kernel unchecked.
        (
            lambda path: _edit_tensors(
                path, lambda t: t.update({"optimizer.0.exp_avg_sq": torch.tensor(0.0)})
            ),
            r"optimizer.0.exp_avg_sq has shape \(\) in the file",
        ),
        (
            lambda path: _edit_tensors(path, lambda t: t.pop("optimizer.0.exp_avg")),
            r"optimizer.0.exp_avg has shape None in the file",
        ),
        (
            lambda path: _rewrite_member(
                path, "fitted.json", _set_group("amsgrad", True)
            ),
            "optimizer settings in this file differ",
        ),
        (
            lambda path: _rewrite_member(path, "fitted.json", _set_group("lr", "big")),
            "optimizer settings in this file differ",
        ),
        # torch's Adam fills in missing flags, but not a missing learning rate.
        (
            lambda path: _rewrite_member(
                path,
                "fitted.json",
                lambda data: {
                    **data,
                    "optimizer_param_groups": [
                        {k: v for k, v in group.items() if k != "lr"}
                        for group in data["optimizer_param_groups"]
                    ],
                },
            ),
            "optimizer settings in this file differ",
        ),
        (
            lambda path: _rewrite_member(
                path, "fitted.json", lambda data: {**data, "validation_scores_": [1.0]}
            ),
            "early_stopping does not match",
        ),
        (
            lambda path: _rewrite_member_bytes(
                path, "weights.safetensors", lambda payload: payload[:50]
            ),
            "weights.safetensors in this file is damaged",
        ),
    ],
    ids=[
        "moment-shape",
        "scalar-moment",
        "missing-moment",
        "amsgrad",
        "lr-string",
        "lr-missing",
        "early-stopping",
        "truncated-weights",
    ],
)
def test_load_refuses_inconsistent_state(damage, message, X_lowrank, tmp_path):
    """Check the optimizer state and settings, the early-stopping record and
    the weights' file of a hand-made or damaged file."""
    path = tmp_path / "model.skae"
    save(AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank), path)
    damage(path)
    with pytest.raises(ValueError, match=message):
        load(path)


def test_load_refuses_damaged_torch_weights(X_lowrank, tmp_path, monkeypatch):
    """Check that a damaged weights.pt gets a ValueError, not torch's error."""
    monkeypatch.setattr(_persistence, "_has_safetensors", lambda: False)
    path = tmp_path / "model.skae"
    save(AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank), path)
    _rewrite_member_bytes(path, "weights.pt", lambda payload: payload[:271])
    with pytest.raises(ValueError, match=r"weights\.pt in this file is damaged"):
        load(path)


def test_load_accepts_optimizer_settings_an_older_torch_did_not_write(
    X_lowrank, tmp_path
):
    """Check that settings missing from a stored optimizer group are allowed:
    torch's Adam fills in their defaults."""
    estimator = AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank)
    path = tmp_path / "model.skae"
    save(estimator, path)

    def drop_setting(data):
        for group in data["optimizer_param_groups"]:
            del group["decoupled_weight_decay"]
        return data

    _rewrite_member(path, "fitted.json", drop_setting)
    assert_array_equal(load(path).transform(X_lowrank), estimator.transform(X_lowrank))


def test_save_refuses_a_diverged_validation_loss(X_lowrank, tmp_path):
    """Check that a non-finite validation loss on record stops save too."""
    estimator = AutoencoderTransformer(**FAST_PARAMS, early_stopping=True)
    estimator.fit(X_lowrank).validation_scores_[-1] = -np.inf
    with pytest.raises(ValueError, match="training diverged"):
        save(estimator, tmp_path / "model.skae")


def test_save_refuses_a_switched_early_stopping(X_lowrank, tmp_path):
    """Check that save refuses parameters that no longer describe the network."""
    estimator = AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank)
    estimator.set_params(early_stopping=True)
    with pytest.raises(
        ValueError, match="Changed since this estimator was fitted: early_stopping"
    ):
        save(estimator, tmp_path / "model.skae")


def test_load_refuses_files_that_are_not_skae(tmp_path):
    """Check that a zip file without a skae header is refused."""
    path = tmp_path / "other.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.txt", "hello")
    with pytest.raises(ValueError, match="Not a skae file"):
        load(path)


# The members of a fitted autoencoder's file, in the order they are written.
MEMBERS = ["params.json", "fitted.json", "history.json", "weights", "manifest.json"]


def _fail_at(monkeypatch, member, error):
    """Make the zip writer raise `error` when it writes `member` ("weights"
    stands for either weights file)."""
    writestr = zipfile.ZipFile.writestr

    def failing(self, name, *args, **kwargs):
        if name == member or (member == "weights" and name.startswith("weights.")):
            raise error
        return writestr(self, name, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", failing)


@pytest.mark.parametrize(
    "error", [OSError(28, "No space left on device"), KeyboardInterrupt("stop")]
)
@pytest.mark.parametrize("member", MEMBERS)
def test_save_failing_at_a_member_leaves_the_old_file(
    member, error, X_lowrank, tmp_path, monkeypatch
):
    """Check that a save that fails while writing any member, a full disk or
    Ctrl-C, leaves the file it was replacing whole, and no other file."""
    path = tmp_path / "model.skae"
    old = AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank)
    save(old, path)
    old_bytes = path.read_bytes()
    new = AutoencoderTransformer(**{**FAST_PARAMS, "random_state": 1}).fit(X_lowrank)
    _fail_at(monkeypatch, member, error)
    with pytest.raises(type(error), match=str(error.args[-1])):
        save(new, path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert [p.name for p in tmp_path.iterdir()] == ["model.skae"]
    _assert_same_fit(load(path), old, X_lowrank)
    # Without the failure, the new model replaces it.
    save(new, path)
    _assert_same_fit(load(path), new, X_lowrank)
    assert [p.name for p in tmp_path.iterdir()] == ["model.skae"]


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_save_failing_to_sync_or_replace_leaves_the_old_file(
    step, X_lowrank, tmp_path, monkeypatch
):
    """Check that a save whose flush to the disk or final swap fails leaves
    the old file whole, and no temporary file behind."""
    path = tmp_path / "model.skae"
    old = AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank)
    save(old, path)
    old_bytes = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, step, fail)
    with pytest.raises(OSError, match="Input/output error"):
        save(AutoencoderTransformer(**FAST_PARAMS), path)
    monkeypatch.undo()
    assert path.read_bytes() == old_bytes
    assert [p.name for p in tmp_path.iterdir()] == ["model.skae"]


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions and links")
def test_save_replaces_a_file_keeping_its_permissions(X_lowrank, tmp_path):
    """Check that saving over a file keeps its permissions, and writes through
    a symbolic link as open() would."""
    path = tmp_path / "model.skae"
    save(AutoencoderTransformer(**FAST_PARAMS), path)
    path.chmod(0o640)
    link = tmp_path / "link.skae"
    link.symlink_to(path)
    save(AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank), link)
    assert link.is_symlink()
    assert path.stat().st_mode & 0o777 == 0o640
    assert hasattr(load(path), "net_")
    new = tmp_path / "new.skae"
    save(AutoencoderTransformer(**FAST_PARAMS), new)
    umask = os.umask(0)
    os.umask(umask)
    assert new.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0,
    reason="POSIX permissions, which root bypasses",
)
def test_save_refuses_a_file_open_could_not_write(tmp_path):
    """Check that saving over a read-only file is refused, as open() would,
    although replacing it needs only the folder's permission."""
    path = tmp_path / "model.skae"
    save(AutoencoderTransformer(**FAST_PARAMS), path)
    path.chmod(0o440)
    with pytest.raises(PermissionError, match="Permission denied"):
        save(AutoencoderTransformer(3), path)
    assert load(path).n_components == FAST_PARAMS["n_components"]


def test_save_to_a_file_object_failing_part_way_is_refused_by_load(
    X_lowrank, monkeypatch
):
    """Check that a save to a file object that fails part-way, which cannot
    be atomic, leaves an archive that load refuses instead of reading an
    unfitted estimator from it (the first member alone)."""
    estimator = AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank)
    buffer = io.BytesIO()
    _fail_at(monkeypatch, "fitted.json", OSError(28, "No space left on device"))
    with pytest.raises(OSError, match="No space left"):
        save(estimator, buffer)
    with zipfile.ZipFile(buffer) as archive:
        assert archive.namelist() == ["params.json"]
    with pytest.raises(ValueError, match=r"incomplete: it has no manifest\.json"):
        load(buffer)


def _cut(payload):
    """The first half of `payload`."""
    return payload[: len(payload) // 2]


def _change_a_byte(payload):
    """`payload` with its last byte changed, of the same size."""
    return payload[:-1] + bytes([payload[-1] ^ 1])


def _drop(payload):
    """Remove the member."""
    return None


def _edit_manifest(edit):
    """A damage that rewrites the manifest's JSON through `edit`."""
    return "manifest.json", lambda payload: json.dumps(edit(json.loads(payload)))


@pytest.mark.parametrize(
    "member, edit, message",
    [
        ("weights.safetensors", _cut, r"weights\.safetensors holds only \d+ bytes"),
        ("history.json", _cut, r"history\.json holds only \d+ bytes"),
        ("history.json", _change_a_byte, r"history\.json does not match the SHA-256"),
        ("params.json", _change_a_byte, r"params\.json does not match the SHA-256"),
        ("fitted.json", _drop, r"fitted\.json, listed in its manifest\.json, is"),
        ("manifest.json", _drop, r"incomplete: it has no manifest\.json"),
        (*_edit_manifest(lambda data: [data]), "is not a skae manifest"),
        (
            *_edit_manifest(lambda data: {**data, "fitted": False}),
            r"says the estimator was not fitted, and it holds a fitted\.json",
        ),
        (
            *_edit_manifest(
                lambda data: {
                    **data,
                    "members": {
                        **data["members"],
                        "fitted.json": {**data["members"]["fitted.json"], "size": 1},
                    },
                }
            ),
            r"fitted\.json holds more than 1 bytes, where its manifest\.json says 1",
        ),
    ],
    ids=[
        "cut-weights",
        "cut-history",
        "changed-history",
        "changed-header",
        "missing-member",
        "missing-manifest",
        "manifest-not-a-dict",
        "manifest-fitted-flag",
        "manifest-size",
    ],
)
def test_load_refuses_a_file_that_disagrees_with_its_manifest(
    member, edit, message, X_lowrank, tmp_path
):
    """Check that a member cut, changed or missing, or a damaged manifest,
    gets a ValueError naming the member, in a file that is a valid zip."""
    pytest.importorskip("safetensors")
    path = tmp_path / "model.skae"
    save(AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank), path)
    _rewrite_member_bytes(path, member, edit, manifest=False)
    with pytest.raises(ValueError, match=message):
        load(path)


def test_load_refuses_members_added_after_the_manifest(X_lowrank, tmp_path):
    """Check that a member the manifest does not list is refused by name."""
    path = tmp_path / "model.skae"
    save(AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank), path)
    _add_member(path, "notes.txt", b"hello")
    with pytest.raises(ValueError, match=r"notes\.txt is not listed in its manifest"):
        load(path)


def test_load_refuses_a_header_naming_another_manifest(X_lowrank, tmp_path):
    """Check that a header naming a manifest other than manifest.json is refused."""
    path = tmp_path / "model.skae"
    save(AutoencoderTransformer(**FAST_PARAMS), path)
    _rewrite_member(path, "params.json", lambda data: {**data, "manifest": "x.json"})
    with pytest.raises(ValueError, match=r"names 'x\.json' as its manifest"):
        load(path)


def test_load_reads_a_file_without_a_manifest_as_before(X_lowrank, tmp_path):
    """Check that a file of the format without a manifest (skae 0.1.0's: no
    manifest.json, no mention of it in the header) loads as before."""
    path = tmp_path / "model.skae"
    estimator = AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank)
    save(estimator, path)
    _rewrite_member_bytes(path, "manifest.json", _drop)

    def without_manifest(data):
        del data["manifest"]
        return data

    _rewrite_member(path, "params.json", without_manifest)
    _assert_same_fit(load(path), estimator, X_lowrank)


def test_load_cuda_model_without_cuda(X_lowrank, tmp_path, monkeypatch):
    """Check that a model saved with device='cuda' loads on the CPU without CUDA."""
    estimator = AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank)
    path = tmp_path / "model.skae"
    save(estimator, path)
    _rewrite_member(
        path,
        "params.json",
        lambda data: {**data, "params": {**data["params"], "device": "cuda"}},
    )
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(DeviceWarning, match="loading it on the CPU"):
        loaded = load(path)
    assert loaded.device == "cuda"
    assert torch.device(loaded.net_.device).type == "cpu"
    assert_array_equal(loaded.transform(X_lowrank), estimator.transform(X_lowrank))


@pytest.mark.cuda
def test_save_load_cuda_round_trip(X_lowrank, tmp_path, monkeypatch):
    """Check that a CUDA-fitted model loads on CUDA exactly and on the CPU closely."""
    estimator = AutoencoderTransformer(**FAST_PARAMS, device="cuda").fit(X_lowrank)
    path = tmp_path / "model.skae"
    save(estimator, path)
    loaded = load(path)
    assert torch.device(loaded.net_.device).type == "cuda"
    _assert_same_fit(loaded, estimator, X_lowrank)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(DeviceWarning):
        on_cpu = load(path)
    assert torch.device(on_cpu.net_.device).type == "cpu"
    np.testing.assert_allclose(
        on_cpu.transform(X_lowrank), estimator.transform(X_lowrank), atol=1e-5
    )


@pytest.mark.parametrize("Estimator", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_save_load_after_load_is_stable(Estimator, X_lowrank, tmp_path):
    """Check that saving a loaded estimator writes the same content again."""
    estimator = _fit_fast(Estimator, X_lowrank)
    first, second = tmp_path / "first.skae", tmp_path / "second.skae"
    save(estimator, first)
    save(load(first), second)
    with zipfile.ZipFile(first) as a, zipfile.ZipFile(second) as b:
        assert sorted(a.namelist()) == sorted(b.namelist())
        for name in a.namelist():
            if name.endswith(".json"):
                assert a.read(name) == b.read(name), name


# AutoencoderClassifier: a nested autoencoder, its own net and class labels.


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("freeze_encoder", [False, True])
def test_save_load_classifier_round_trip_is_exact(
    freeze_encoder, early_stopping, X_lowrank, tmp_path
):
    """Check that a loaded classifier predicts exactly as the saved one, with
    the same optimizer groups (one learning rate per group) and frozen weights."""
    params = {"freeze_encoder": freeze_encoder, "early_stopping": early_stopping}
    classifier = _fit_fast(AutoencoderClassifier, X_lowrank, **params)
    path = tmp_path / "model.skae"
    save(classifier, path)
    loaded = load(path)
    _assert_same_fit(loaded, classifier, X_lowrank)
    assert len(_optimizer_groups(loaded)) == (1 if freeze_encoder else 2)
    assert loaded.n_iter_ == classifier.n_iter_
    assert loaded.loss_curve_ == classifier.loss_curve_
    assert loaded.validation_scores_ == classifier.validation_scores_
    assert_array_equal(
        loaded.autoencoder_.transform(X_lowrank),
        classifier.autoencoder_.transform(X_lowrank),
    )
    trainable = [p.requires_grad for p in loaded.encoder_.parameters()]
    assert trainable == [p.requires_grad for p in classifier.encoder_.parameters()]
    assert not any(trainable) if freeze_encoder else all(trainable)


@pytest.mark.parametrize(
    "labels, unlabeled_label",
    [
        (np.array(["low", "mid", "high"]), "?"),
        (np.array(["low", "mid", "high"], dtype=object), -1),
    ],
    ids=["str", "object"],
)
def test_save_load_classifier_string_labels(
    labels, unlabeled_label, X_lowrank, tmp_path
):
    """Check that string class labels come back equal, with their dtype."""
    codes = np.digitize(X_lowrank[:, 0], [0.33, 0.66])
    y = labels[codes]
    y[::3] = unlabeled_label
    classifier = _make_classifier(unlabeled_label=unlabeled_label).fit(X_lowrank, y)
    path = tmp_path / "model.skae"
    save(classifier, path)
    loaded = load(path)
    assert loaded.classes_.dtype == classifier.classes_.dtype
    assert sorted(loaded.classes_) == ["high", "low", "mid"]
    _assert_same_fit(loaded, classifier, X_lowrank)


def test_save_load_unfitted_classifier(X_lowrank, tmp_path):
    """Check that an unfitted classifier round-trips its parameters, nested
    autoencoder included, and then fits exactly as the original does."""
    autoencoder = DenoisingAutoencoder(
        3, noise_level=0.2, hidden_layer_sizes=(16, 8), max_iter=2
    )
    classifier = AutoencoderClassifier(autoencoder, **CLASSIFIER_PARAMS)
    path = tmp_path / "model.skae"
    save(classifier, path)
    loaded = load(path)
    _assert_same_params(loaded, classifier)
    assert loaded.autoencoder is not autoencoder
    with pytest.raises(NotFittedError):
        loaded.predict(X_lowrank)
    y = _labels(X_lowrank)
    assert_array_equal(
        loaded.fit(X_lowrank, y).predict_proba(X_lowrank),
        classifier.fit(X_lowrank, y).predict_proba(X_lowrank),
    )


def test_save_load_unfitted_classifier_without_autoencoder(tmp_path):
    """Check that the default autoencoder=None round-trips as None."""
    path = tmp_path / "model.skae"
    save(AutoencoderClassifier(freeze_encoder=True, unlabeled_label="?"), path)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["params.json", "manifest.json"]
    loaded = load(path)
    assert loaded.autoencoder is None
    _assert_same_params(
        loaded, AutoencoderClassifier(freeze_encoder=True, unlabeled_label="?")
    )


def test_save_load_classifier_writes_nested_autoencoders(X_lowrank, tmp_path):
    """Check that the autoencoder parameter and the fitted autoencoder_ are
    stored in folders of their own, referred to from the classifier's JSON."""
    pytest.importorskip("safetensors")
    path = tmp_path / "model.skae"
    save(_fit_fast(AutoencoderClassifier, X_lowrank), path)
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        header = json.loads(archive.read("params.json"))
        fitted = json.loads(archive.read("fitted.json"))
    assert names == {
        f"{folder}{name}"
        for folder in ("", "autoencoder_/")
        for name in (
            "params.json",
            "fitted.json",
            "history.json",
            "weights.safetensors",
        )
    } | {"autoencoder/params.json", "manifest.json"}
    assert header["params"]["autoencoder"] == {"__estimator__": "autoencoder/"}
    assert fitted["autoencoder_"] == {"__estimator__": "autoencoder_/"}


def test_save_load_classifier_with_frozen_autoencoder(X_lowrank, tmp_path):
    """Check that a frozen fitted autoencoder is stored once, and loads as one
    object that is both the frozen parameter and autoencoder_."""
    autoencoder = AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank)
    classifier = AutoencoderClassifier(
        FrozenEstimator(autoencoder), **CLASSIFIER_PARAMS
    )
    classifier.fit(X_lowrank, _labels(X_lowrank))
    path = tmp_path / "model.skae"
    save(classifier, path)
    with zipfile.ZipFile(path) as archive:
        folders = {name.split("/")[0] for name in archive.namelist() if "/" in name}
    assert folders == {"autoencoder"}
    loaded = load(path)
    _assert_same_fit(loaded, classifier, X_lowrank)
    assert isinstance(loaded.autoencoder, FrozenEstimator)
    assert loaded.autoencoder.estimator is loaded.autoencoder_
    assert_array_equal(
        loaded.autoencoder_.transform(X_lowrank), autoencoder.transform(X_lowrank)
    )


@pytest.mark.parametrize(
    "autoencoder",
    [
        PCA(2),
        FrozenEstimator(PCA(2).fit(np.eye(3))),
        AutoencoderClassifier(),
        FrozenEstimator(FrozenEstimator(AutoencoderTransformer())),
    ],
    ids=["pca", "frozen-pca", "classifier", "frozen-twice"],
)
def test_save_refuses_nested_estimators_other_than_skae_autoencoders(
    autoencoder, tmp_path
):
    """Check that a classifier around another kind of estimator is refused
    with a clear TypeError, and no file is written."""
    classifier = AutoencoderClassifier(autoencoder)
    with pytest.raises(
        TypeError, match=r"Cannot save autoencoder=.*only if it is a skae autoencoder"
    ):
        save(classifier, tmp_path / "model.skae")
    assert not (tmp_path / "model.skae").exists()


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            lambda estimator: estimator.set_params(head_hidden_layer_sizes=(16,)),
            "Changed since this estimator was fitted: head_hidden_layer_sizes",
        ),
        (
            lambda estimator: estimator.set_params(freeze_encoder=True),
            "Changed since this estimator was fitted: freeze_encoder",
        ),
        (
            lambda estimator: estimator.autoencoder_.set_params(activation="relu"),
            r"Changed since this estimator was fitted \(in its autoencoder_\): "
            "activation",
        ),
    ],
    ids=["head", "freeze", "nested"],
)
def test_save_refuses_a_changed_classifier(edit, message, X_lowrank, tmp_path):
    """Check that save refuses a classifier, or its autoencoder_, whose
    parameters no longer describe its network."""
    classifier = _fit_fast(AutoencoderClassifier, X_lowrank)
    edit(classifier)
    with pytest.raises(ValueError, match=message):
        save(classifier, tmp_path / "model.skae")


def _set_fitted(name, value):
    """An edit of fitted.json that sets attribute `name` to `value`."""
    return lambda data: {**data, name: value}


@pytest.mark.parametrize(
    "member, edit, message",
    [
        # A head of 20000 x 20000 is refused from the shapes alone.
        (
            "params.json",
            _set_param("head_hidden_layer_sizes", {"__tuple__": [20_000, 20_000]}),
            r"head.0.bias has shape \(8,\) in the file, and the parameters make it "
            r"\(20000,\)",
        ),
        (
            "fitted.json",
            _set_fitted("classes_", {"__ndarray__": [0, 1, 2, 3], "dtype": "<i8"}),
            r"head.2.bias has shape \(3,\) in the file, and the parameters make it "
            r"\(4,\)",
        ),
        (
            "fitted.json",
            _set_fitted("n_features_in_", 3),
            "does not take its n_features_in_=3 features",
        ),
        (
            "fitted.json",
            lambda data: {k: v for k, v in data.items() if k != "autoencoder_"},
            "make no network: .* has no attribute 'autoencoder_'",
        ),
        (
            "fitted.json",
            _set_fitted("autoencoder_", {"__estimator__": "../autoencoder_/"}),
            "'../autoencoder_/' is not the folder of a nested estimator",
        ),
        (
            "fitted.json",
            _set_fitted("autoencoder_", {"__estimator__": "missing/"}),
            "it has no missing/params.json",
        ),
        (
            "params.json",
            _set_param("autoencoder", {"__frozen__": 3}),
            "freezes something other than a skae autoencoder",
        ),
        (
            "autoencoder_/params.json",
            lambda data: {**data, "class": "AutoencoderClassifier"},
            "Unknown estimator class 'AutoencoderClassifier' in "
            "autoencoder_/params.json",
        ),
        (
            "autoencoder_/params.json",
            _set_param("activation", {"__estimator__": "autoencoder/"}),
            "a nested estimator refers to another one",
        ),
        (
            "autoencoder_/fitted.json",
            _set_fitted("n_features_in_", 4),
            r"decoder.linear.bias has shape \(10,\) in the file",
        ),
    ],
    ids=[
        "huge-head",
        "extra-class",
        "feature-count",
        "no-autoencoder",
        "folder-escape",
        "missing-folder",
        "frozen-number",
        "nested-classifier",
        "nested-nesting",
        "nested-weights",
    ],
)
def test_load_refuses_damaged_classifier_files(
    member, edit, message, X_lowrank, tmp_path
):
    """Check that a damaged classifier file, or a damaged nested autoencoder in
    it, gets a ValueError naming the problem, before any network is built."""
    path = tmp_path / "model.skae"
    save(_fit_fast(AutoencoderClassifier, X_lowrank), path)
    _rewrite_member(path, member, edit)
    with pytest.raises(ValueError, match=message):
        load(path)


def test_load_refuses_a_classifier_with_an_unfitted_autoencoder_(X_lowrank, tmp_path):
    """Check that a classifier file whose autoencoder_ lost its fitted state is
    refused with a ValueError."""
    path = tmp_path / "model.skae"
    save(_fit_fast(AutoencoderClassifier, X_lowrank), path)
    _rewrite_member_bytes(path, "autoencoder_/fitted.json", lambda _: None)
    with pytest.raises(ValueError, match=r"make no network: .*net_"):
        load(path)


FORMAT_V1 = pathlib.Path(__file__).parent / "data" / "format_v1"


@pytest.mark.parametrize(
    "path", sorted(FORMAT_V1.glob("*.skae")), ids=lambda path: path.stem
)
def test_load_reads_files_of_format_1_to_the_same_outputs(path):
    """Check that a file saved by skae 0.1.0 (tests/data/format_v1, made by its
    make_files.py) loads to the outputs it gave then."""
    sys.path.insert(0, str(FORMAT_V1))
    try:
        import make_files
    finally:
        sys.path.remove(str(FORMAT_V1))
    X, _ = make_files.data()
    with zipfile.ZipFile(path) as archive:
        assert "manifest.json" not in archive.namelist()  # the format without one
    expected = np.load(FORMAT_V1 / "outputs.npz")
    estimator = load(path)
    for method, value in make_files.outputs(estimator, X).items():
        np.testing.assert_allclose(
            value, expected[f"{path.stem}.{method}"], rtol=1e-5, atol=1e-6
        )
