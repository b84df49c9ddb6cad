"""Tests for skae.callbacks: checkpoints that resume a fit exactly."""

# SPDX-License-Identifier: BSD-3-Clause

import json
import os
import signal
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from numpy.testing import assert_array_equal
from skorch.callbacks import Callback

from skae import AutoencoderImputer, AutoencoderTransformer, load, save
from skae._registry import AUTOENCODERS
from skae.callbacks import Checkpoint, TimeBudget
from tests.conftest import FAST_PARAMS
from tests.test_persistence import (
    _edit_tensors,
    _rewrite_member,
    _rewrite_member_bytes,
)

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ROOT = Path(__file__).resolve().parents[1]

# A plateau stop within a few epochs, with or without early stopping, so that
# a resumed fit must count the epochs without improvement as the whole fit did.
PARAMS = {
    **FAST_PARAMS,
    "max_iter": 12,
    "n_iter_no_change": 3,
    "tol": 1e-3,
    "learning_rate_init": 0.01,
}


class Die(Callback):
    """End the process's work at the end of epoch `epoch`, as a kill would:
    the fit raises, and nothing of it is left in memory."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        """Raise SystemExit at the end of epoch `epoch`."""
        if len(net.history) == self.epoch:
            raise SystemExit("killed")


def _weights(estimator):
    """The module's weights, by name."""
    return estimator.module_.state_dict()


def _assert_same_model(estimator, reference, X):
    """Check two fitted autoencoders are the same model, bit for bit."""
    assert estimator.n_iter_ == reference.n_iter_
    assert estimator.loss_curve_ == reference.loss_curve_
    assert estimator.validation_scores_ == reference.validation_scores_
    assert estimator.best_loss_ == reference.best_loss_
    assert estimator.reconstruction_error_ == reference.reconstruction_error_
    assert_array_equal(estimator.transform(X), reference.transform(X))
    for key, value in _weights(reference).items():
        assert torch.equal(_weights(estimator)[key], value), key


@pytest.mark.parametrize(
    "setting",
    [
        {},  # the defaults: training ends on the average of the weights
        {"average_decay": 0},  # on the last weights
        {"early_stopping": True},  # on the average, validated
        {"early_stopping": True, "average_decay": 0},  # on the best epoch's
    ],
    ids=["averaged", "last-weights", "early-stopping", "early-stopping-best"],
)
@pytest.mark.parametrize(
    "Estimator", [*AUTOENCODERS, AutoencoderImputer], ids=lambda cls: cls.__name__
)
def test_checkpoint_then_resume_equals_the_uninterrupted_fit(
    Estimator, setting, X_lowrank, tmp_path
):
    """Check that a fit killed after a checkpoint, loaded and fitted on with
    warm_start for the epochs left, ends on the uninterrupted fit's model."""
    params = {**PARAMS, "early_stopping": False, **setting}
    averaged = Estimator(**params).average_decay > 0
    keeps_best = params["early_stopping"] and not averaged
    whole = Estimator(**params).fit(X_lowrank)
    # Killed at the last odd epoch before the whole fit ends: the last
    # checkpoint (every 2 epochs) is the one before, mid-training.
    killed_at = whole.n_iter_ - 1 - (whole.n_iter_ % 2 == 1)
    assert killed_at >= 3
    path = tmp_path / "fit.skae"
    callbacks = [Checkpoint(path, every=2), Die(killed_at)]
    estimator = Estimator(**params, callbacks=callbacks)
    with pytest.raises(SystemExit, match="killed"):
        estimator.fit(X_lowrank)
    assert not hasattr(estimator, "net_")  # a failed fit leaves nothing

    checkpoint = load(path)
    assert checkpoint.n_iter_ == killed_at - 1
    assert checkpoint.callbacks is None
    assert not hasattr(checkpoint, "reconstruction_error_")
    assert checkpoint.loss_curve_ == whole.loss_curve_[: killed_at - 1]
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        (weights,) = [name for name in names if name.startswith("weights.")]
        has_current_weights = b"resume.module." in archive.read(weights)
        resume = json.loads(archive.read("resume.json"))
    # The file's model is the one a fit ending then would keep: the best so
    # far, or the average of the weights; the current weights, where they
    # differ, are kept to train on from.
    assert ("weight_average_updates" in resume) == averaged
    best = checkpoint.n_iter_
    if keeps_best:
        best = int(np.argmax(checkpoint.validation_scores_)) + 1
    assert has_current_weights == (averaged or best != checkpoint.n_iter_)
    # Saved again before it trains, it still resumes.
    save(checkpoint, tmp_path / "again.skae")
    resumed = load(tmp_path / "again.skae")
    left = params["max_iter"] - resumed.n_iter_
    resumed.set_params(
        warm_start=True, max_iter=left, callbacks=[Checkpoint(path, every=2)]
    )
    resumed.fit(X_lowrank)
    _assert_same_model(resumed, whole, X_lowrank)
    # The resumed fit's own checkpoint, written when it ended, is the model.
    final = load(path)
    assert final.n_iter_ == whole.n_iter_
    assert_array_equal(final.transform(X_lowrank), whole.transform(X_lowrank))
    with zipfile.ZipFile(path) as archive:
        assert "resume.json" not in archive.namelist()


def test_checkpoint_resume_state_survives_a_failed_fit(X_lowrank, tmp_path):
    """Check that a resumed fit that fails leaves the loaded checkpoint as it
    was, ready to resume exactly."""
    params = {**PARAMS, "early_stopping": True}
    whole = AutoencoderTransformer(**params).fit(X_lowrank)
    path = tmp_path / "fit.skae"
    estimator = AutoencoderTransformer(**params, callbacks=[Checkpoint(path), Die(4)])
    with pytest.raises(SystemExit):
        estimator.fit(X_lowrank)
    checkpoint = load(path)
    left = params["max_iter"] - checkpoint.n_iter_
    checkpoint.set_params(warm_start=True, max_iter=left, callbacks=[Die(5)])
    with pytest.raises(SystemExit):
        checkpoint.fit(X_lowrank)
    checkpoint.set_params(callbacks=None).fit(X_lowrank)
    _assert_same_model(checkpoint, whole, X_lowrank)


def test_checkpoint_writes_the_estimator_when_training_ends(X_lowrank, tmp_path):
    """Check that a checkpoint is also written when a fit ends between the
    epochs it saves at, and then is the fitted model itself."""
    path = tmp_path / "fit.skae"
    estimator = AutoencoderTransformer(
        **PARAMS, callbacks=[Checkpoint(path, every=100)]
    ).fit(X_lowrank)
    saved = load(path)
    assert saved.n_iter_ == estimator.n_iter_
    assert_array_equal(saved.transform(X_lowrank), estimator.transform(X_lowrank))
    with zipfile.ZipFile(path) as archive:
        assert "resume.json" not in archive.namelist()


def test_checkpoint_monitor_saves_the_best_epochs_only(X_lowrank, tmp_path):
    """Check that monitor='valid_loss_best' writes the epochs of a new lowest
    validation loss, and nothing when training ends."""
    path = tmp_path / "best.skae"
    # Ending on the best epoch's weights, not on the last average.
    params = {**PARAMS, "early_stopping": True, "average_decay": 0, "max_iter": 6}
    estimator = AutoencoderTransformer(
        **params, callbacks=[Checkpoint(path, monitor="valid_loss_best")]
    ).fit(X_lowrank)
    best = int(np.argmax(estimator.validation_scores_)) + 1
    assert best < estimator.n_iter_  # else this checks nothing
    saved = load(path)
    assert saved.n_iter_ == best
    assert_array_equal(saved.transform(X_lowrank), estimator.transform(X_lowrank))


def test_checkpoint_is_not_written_when_an_error_ends_training(X_lowrank, tmp_path):
    """Check that a fit ended by an error leaves the last checkpoint alone."""
    path = tmp_path / "fit.skae"
    params = {**FAST_PARAMS, "warm_start": True, "callbacks": [Checkpoint(path)]}
    estimator = AutoencoderTransformer(**params).fit(X_lowrank)
    written = path.read_bytes()
    estimator.set_params(learning_rate_init=1e15)
    with pytest.raises(ValueError, match="Training diverged"):
        estimator.fit(X_lowrank)
    assert path.read_bytes() == written


@pytest.mark.parametrize(
    "params, error, message",
    [
        ({"every": 0}, ValueError, "every must be a positive int; got 0"),
        ({"every": 1.5}, ValueError, "every must be a positive int; got 1.5"),
        ({"monitor": 1}, TypeError, "monitor must be a str or None; got 1"),
        ({"path": 3}, TypeError, "path must be a str or path-like; got 3"),
        ({"monitor": "nope"}, ValueError, "monitor='nope' is not in the training"),
    ],
)
def test_checkpoint_refuses_bad_parameters(params, error, message, X_lowrank, tmp_path):
    """Check that a checkpoint's parameters are checked, with a clear error."""
    checkpoint = Checkpoint(**{"path": tmp_path / "fit.skae", **params})
    estimator = AutoencoderTransformer(**FAST_PARAMS, callbacks=[checkpoint])
    with pytest.raises(error, match=message):
        estimator.fit(X_lowrank)


def test_checkpoint_refuses_an_estimator_it_cannot_save_before_training(
    X_lowrank, tmp_path
):
    """Check that an estimator the file could not hold (a RandomState as
    random_state) is refused before any epoch is trained."""
    seen = []

    class Count(Callback):
        def on_epoch_end(self, net, **kwargs):
            seen.append(len(net.history))

    estimator = AutoencoderTransformer(
        **{**FAST_PARAMS, "random_state": np.random.RandomState(0)},
        callbacks=[Checkpoint(tmp_path / "fit.skae"), Count()],
    )
    with pytest.raises(TypeError, match="Cannot save random_state="):
        estimator.fit(X_lowrank)
    assert seen == []
    assert not (tmp_path / "fit.skae").exists()


def test_checkpoint_works_only_in_a_skae_estimator(X_lowrank, tmp_path):
    """Check that a checkpoint used outside a skae estimator's fit says so."""
    estimator = AutoencoderTransformer(**FAST_PARAMS).fit(X_lowrank)
    checkpoint = Checkpoint(tmp_path / "fit.skae").initialize()
    with pytest.raises(RuntimeError, match="pass it in the estimator's callbacks"):
        checkpoint.on_train_end(estimator.net_)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM cannot be handled")
def test_sigterm_mid_fit_leaves_a_loadable_checkpoint(tmp_path):
    """Check that a process training with a checkpoint, sent SIGTERM mid-fit,
    ends its fit, writes the checkpoint and goes on to its next line."""
    path, codes = tmp_path / "fit.skae", tmp_path / "codes.npy"
    script = ROOT / "tests" / "scripts" / "fit_until_sigterm.py"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    process = subprocess.Popen(
        [sys.executable, str(script), str(path), str(codes)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout.readline() == "training\n", process.stderr.read()
        assert not path.exists()  # every=10**6: SIGTERM makes it write
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr[-4000:]
    assert "Training was stopped by SIGTERM" in stderr
    n_iter = int(stdout.strip())
    checkpoint = load(path)
    assert checkpoint.n_iter_ == n_iter >= 2
    X = np.random.RandomState(0).rand(64, 8)
    assert_array_equal(checkpoint.transform(X), np.load(codes))


def _damage_resume_weights(path):
    """Give the first weights to resume from another shape."""

    def edit(tensors):
        key = next(key for key in tensors if key.startswith("resume.module."))
        tensors[key] = torch.zeros(3, 3)

    _edit_tensors(path, edit)


@pytest.mark.parametrize(
    "damage, message",
    [
        (
            lambda path: _rewrite_member(
                path, "resume.json", lambda data: {"plateau_misses": -1}
            ),
            r"resume\.json is not a count of plateau_misses",
        ),
        (
            lambda path: _rewrite_member(path, "resume.json", lambda data: [data]),
            r"resume\.json is not a count of plateau_misses",
        ),
        (
            lambda path: _rewrite_member(
                path,
                "resume.json",
                lambda data: {**data, "weight_average_updates": True},
            ),
            r"resume\.json is not a count of plateau_misses \(and of weight_average",
        ),
        (
            lambda path: _rewrite_member_bytes(path, "resume.json", lambda _: None),
            r"weights to resume training from, and no resume\.json",
        ),
        (
            _damage_resume_weights,
            r"resume\.module\.\S+ has shape \(3, 3\) in the file",
        ),
    ],
    ids=[
        "negative-misses",
        "not-a-dict",
        "bool-updates",
        "no-resume-json",
        "resume-shape",
    ],
)
def test_load_refuses_a_damaged_resume_state(damage, message, X_lowrank, tmp_path):
    """Check that a checkpoint whose state to resume from is damaged, in a
    file whose manifest agrees (made by hand), is refused with the reason."""
    pytest.importorskip("safetensors")
    path = tmp_path / "fit.skae"
    params = {**PARAMS, "early_stopping": True}
    estimator = AutoencoderTransformer(**params, callbacks=[Checkpoint(path), Die(5)])
    with pytest.raises(SystemExit):
        estimator.fit(X_lowrank)
    with zipfile.ZipFile(path) as archive:
        assert b"resume.module." in archive.read("weights.safetensors")
    damage(path)
    with pytest.raises(ValueError, match=message):
        load(path)


def test_time_budget_ends_training_quietly_within_budget():
    """Check that TimeBudget ends a fit before its budget with no warning, and
    that its cosine lowers the learning rate."""
    X = np.random.RandomState(0).rand(300, 8).astype(np.float32)
    budget = TimeBudget(0.5, cosine=True)
    ae = AutoencoderTransformer(
        **{**FAST_PARAMS, "max_iter": 100_000, "tol": 0.0},
        callbacks=[("budget", budget)],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        start = time.perf_counter()
        ae.fit(X)
        seconds = time.perf_counter() - start
    assert 1 < ae.n_iter_ < 100_000
    assert seconds < 5  # the budget, plus validation and the final pass
    # How far the cosine got depends on the pace of the last epochs, which a
    # busy machine changes: only that it annealed is certain.
    lr = ae.net_.optimizer_.param_groups[0]["lr"]
    assert lr < ae.learning_rate_init


class _FirstWeights(Callback):
    """Keep a copy of the module's weights as training begins."""

    def on_train_begin(self, net, **kwargs):
        self.weights = [p.detach().clone() for p in net.module_.parameters()]


@pytest.mark.parametrize("early_stopping", [False, True])
def test_time_budget_cuts_an_epoch_longer_than_the_budget(early_stopping):
    """Check that a budget shorter than one epoch ends training mid-epoch,
    quietly, keeping the epoch's updates and counting whole epochs only."""
    X = np.random.RandomState(0).rand(20_000, 8).astype(np.float32)
    ae = AutoencoderTransformer(
        **{**FAST_PARAMS, "batch_size": 1, "early_stopping": early_stopping},
        callbacks=[("first", _FirstWeights()), TimeBudget(0.2)],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        start = time.perf_counter()
        ae.fit(X)
        seconds = time.perf_counter() - start
    # 20,000 single-row steps take several seconds; the fit stops at 0.2 s.
    assert seconds < 3
    assert ae.n_iter_ == 0 and ae.loss_curve_ == []
    weights = [p.detach() for p in ae.module_.parameters()]
    initial = dict(ae.net_.callbacks_)["first"].weights  # fit's copy of `first`
    assert any(not torch.equal(a, b) for a, b in zip(weights, initial, strict=True))
    assert np.isfinite(ae.transform(X[:5])).all()
    assert np.isfinite(ae.reconstruction_error_)


def test_time_budget_refuses_a_budget_that_is_not_positive():
    """Check the error for a budget of no time."""
    X = np.random.RandomState(0).rand(30, 4)
    ae = AutoencoderTransformer(**FAST_PARAMS, callbacks=[TimeBudget(0)])
    with pytest.raises(ValueError, match="seconds must be a positive number"):
        ae.fit(X)
