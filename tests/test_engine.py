"""Tests for the engines skae runs on: out-of-core data, dask, interruption, GPUs."""

# SPDX-License-Identifier: BSD-3-Clause

import copy
import gc
import io
import math
import pickle
import signal
import subprocess
import sys
import threading
import tracemalloc
import warnings
from pathlib import Path
from typing import ClassVar
from unittest import mock

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from numpy.testing import assert_allclose, assert_array_equal
from skorch.callbacks import Callback
from skorch.exceptions import DeviceWarning

from skae import AutoencoderTransformer, DenoisingAutoencoder
from skae._registry import AUTOENCODERS
from tests.conftest import FAST_PARAMS

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # Interrupting is the point of many tests here; those that check the
    # warning catch it themselves.
    pytest.mark.filterwarnings("ignore:Training was stopped by:UserWarning"),
]

# Values per inference batch in the memory tests: a small fraction of the data,
# so that a whole-array copy would stand out.
SMALL_PREDICT_BATCH_VALUES = 2**16
SMALL_PCA_INIT_ROWS = 1_000


class InterruptAtEpoch(Callback):
    """Raise KeyboardInterrupt at the end of epoch `epoch`, as Ctrl-C would."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        """Interrupt once the history holds `epoch` epochs."""
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


class InterruptAtStep(Callback):
    """Raise KeyboardInterrupt in training step `step`, as Ctrl-C would mid-epoch
    (or another `error`)."""

    def __init__(self, step, error=KeyboardInterrupt):
        self.step = step
        self.error = error

    def initialize(self):
        """Count steps over all training calls: interrupt once."""
        self.steps_ = 0
        return self

    def count(self, net, training=False, **kwargs):
        """Interrupt at the `step`-th training step."""
        self.steps_ += training
        if training and self.steps_ == self.step:
            raise self.error


class InterruptOnGradients(InterruptAtStep):
    """Acting on the gradients leaves skae's own epoch loop in place."""

    on_grad_computed = InterruptAtStep.count


class InterruptOnBatchEnd(InterruptAtStep):
    """Acting on batches makes skorch's epoch loop run."""

    on_batch_end = InterruptAtStep.count


def _peak_numpy_bytes(function):
    """Run `function()` and return the peak of memory traced during the call.

    numpy reports its allocations to tracemalloc, so any whole-array copy made
    by numpy or scipy shows up here; torch's own allocations do not.
    """
    # torch imports modules lazily on a first fit (tens of MB of Python
    # objects); get that done before tracing.
    AutoencoderTransformer(**FAST_PARAMS).fit(np.zeros((4, 2))).transform(
        np.ones((1, 2))
    )
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.fixture
def X_large():
    """10,000 x 200 float64 data (16 MB), big next to any single batch."""
    return np.random.RandomState(0).rand(10_000, 200)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fit_memmap_converts_batches_on_the_fly(dtype, X_large, tmp_path, monkeypatch):
    """Check that fit and transform on a memmap never copy the whole array."""
    monkeypatch.setattr(
        "skae._engine.data.PREDICT_BATCH_VALUES", SMALL_PREDICT_BATCH_VALUES
    )
    # init="pca" copies a bounded sample of rows; keep it small next to X too.
    monkeypatch.setattr("skae._autoencoder_base.PCA_INIT_ROWS", SMALL_PCA_INIT_ROWS)
    X_memmap = np.memmap(
        tmp_path / "X.dat", dtype=dtype, mode="w+", shape=X_large.shape
    )
    X_memmap[:] = X_large
    X_memmap.flush()
    X_memmap = np.memmap(tmp_path / "X.dat", dtype=dtype, mode="r", shape=X_large.shape)
    params = {**FAST_PARAMS, "max_iter": 1, "batch_size": 256}
    estimator = AutoencoderTransformer(**params)
    peak = _peak_numpy_bytes(lambda: estimator.fit(X_memmap).transform(X_memmap))
    assert peak < X_memmap.nbytes / 4
    reference = AutoencoderTransformer(**params).fit(np.array(X_memmap))
    assert_array_equal(estimator.transform(X_memmap), reference.transform(X_memmap))


@pytest.mark.parametrize("format", ["csr", "csc"])
def test_fit_sparse_densifies_per_batch(format, monkeypatch):
    """Check that sparse input is densified batch by batch, with dense results."""
    monkeypatch.setattr(
        "skae._engine.data.PREDICT_BATCH_VALUES", SMALL_PREDICT_BATCH_VALUES
    )
    # init="pca" copies a bounded sample of rows; keep it small next to X too.
    monkeypatch.setattr("skae._autoencoder_base.PCA_INIT_ROWS", SMALL_PCA_INIT_ROWS)
    X = sp.random(10_000, 200, density=0.01, format=format, random_state=0)
    params = {**FAST_PARAMS, "max_iter": 1, "batch_size": 256}
    estimator = AutoencoderTransformer(**params)
    peak = _peak_numpy_bytes(lambda: estimator.fit(X).transform(X))
    dense_nbytes = X.shape[0] * X.shape[1] * X.dtype.itemsize
    assert peak < dense_nbytes / 4
    reference = AutoencoderTransformer(**params).fit(X.toarray())
    assert_array_equal(estimator.transform(X), reference.transform(X.toarray()))


def test_training_data_uploads_only_in_memory_arrays(tmp_path, monkeypatch):
    """Check that only in-memory arrays that fit are staged as a whole.

    Validation turns a memmap into a plain ndarray view of the map, which must
    still stream. The 'meta' device stands in for the GPU that CI lacks.
    """
    from sklearn.utils import check_array

    from skae._engine.data import training_data

    X = np.ones((50, 4))
    X_memmap = np.memmap(tmp_path / "X.dat", dtype=np.float32, mode="w+", shape=X.shape)
    meta = torch.device("meta")
    staged = training_data(X, meta)
    assert isinstance(staged, torch.Tensor)
    assert (staged.device, staged.dtype, staged.shape) == (meta, torch.float32, X.shape)
    for X_streamed in (X_memmap, check_array(X_memmap)[10:], sp.csr_matrix(X)):
        assert training_data(X_streamed, meta) is X_streamed
    # On the CPU, float32 is shared and anything else left as it is.
    cpu = torch.device("cpu")
    X32 = X.astype(np.float32)
    assert np.shares_memory(training_data(X32, cpu).numpy(), X32)
    X32.flags.writeable = False
    for X_host in (X, X32, np.asfortranarray(X32), X_memmap):
        assert training_data(X_host, cpu) is X_host
    # More than half of the GPU's free memory: streamed, never uploaded.
    free_bytes = 2 * X.size * 4 - 1
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (free_bytes, 0))
    assert training_data(X, torch.device("cuda")) is X


def test_keyboard_interrupt_leaves_usable_estimator(X_lowrank):
    """Check that Ctrl-C ends fit cleanly and warm_start resumes from there."""
    params = {**FAST_PARAMS, "max_iter": 10}
    estimator = AutoencoderTransformer(**params, callbacks=[InterruptAtEpoch(2)])
    message = r"KeyboardInterrupt \(Ctrl-C\) after 2 of .* the average of the weights"
    with pytest.warns(UserWarning, match=message):
        estimator.fit(X_lowrank)
    assert estimator.n_iter_ == 2
    assert len(estimator.loss_curve_) == 2
    # Interrupted after 2 epochs is the same as trained for 2 epochs.
    reference = AutoencoderTransformer(**{**params, "max_iter": 2}).fit(X_lowrank)
    Z = estimator.transform(X_lowrank)
    assert_array_equal(Z, reference.transform(X_lowrank))

    estimator.set_params(warm_start=True, max_iter=3)
    estimator.fit(X_lowrank)
    assert estimator.n_iter_ == 5
    assert estimator.loss_curve_[:2] == reference.loss_curve_
    assert not np.array_equal(estimator.transform(X_lowrank), Z)


def _skip_unless_sigterm_is_ours_to_handle():
    """Skip where fit would not handle SIGTERM: outside the main thread, or
    where a handler is installed (raising SIGTERM then could end the run)."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("fit handles SIGTERM in the main thread only")
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        pytest.skip("SIGTERM has a handler in this test run")


class SendSigterm(Callback):
    """Send this process SIGTERM at the end of epoch `epoch`, and again when
    training ends, checking first that fit handles it."""

    def __init__(self, epoch):
        self.epoch = epoch

    def _send(self):
        # Without fit's handler, SIGTERM would end the test run.
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        signal.raise_signal(signal.SIGTERM)

    def on_epoch_end(self, net, **kwargs):
        """Send SIGTERM at the end of epoch `epoch`."""
        if len(net.history) == self.epoch:
            self._send()

    def on_train_end(self, net, **kwargs):
        """Send SIGTERM again while training ends."""
        self._send()


@pytest.mark.parametrize("early_stopping", [False, True])
def test_sigterm_stops_fit_as_ctrl_c_does(early_stopping, X_lowrank):
    """Check that SIGTERM during fit ends training as Ctrl-C does, says so and
    what the estimator keeps, ignores a second SIGTERM while training ends, and
    puts the default action back."""
    _skip_unless_sigterm_is_ours_to_handle()
    params = {**FAST_PARAMS, "max_iter": 10, "early_stopping": early_stopping}
    params["average_decay"] = 0  # ending on the best epoch's weights
    estimator = AutoencoderTransformer(**params, callbacks=[SendSigterm(3)])
    kept = "the weights of its best epoch" if early_stopping else "the weights it"
    message = f"SIGTERM after 3 of the 10 .* keeps {kept}.* warm_start=True"
    with pytest.warns(UserWarning, match=message) as record:
        estimator.fit(X_lowrank)
    (stopped,) = [w for w in record if "Training was stopped" in str(w.message)]
    assert stopped.filename == __file__  # the call to fit
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    assert estimator.n_iter_ == 3
    reference = AutoencoderTransformer(**{**params, "max_iter": 3}).fit(X_lowrank)
    assert_array_equal(estimator.transform(X_lowrank), reference.transform(X_lowrank))


def test_sigterm_is_handled_only_while_fitting_in_the_main_thread(X_lowrank):
    """Check that fit handles SIGTERM only while it trains, in the main
    thread, and only where SIGTERM has its default action."""
    _skip_unless_sigterm_is_ours_to_handle()
    seen = []

    class Look(Callback):
        def on_epoch_end(self, net, **kwargs):
            seen.append(signal.getsignal(signal.SIGTERM))

    estimator = AutoencoderTransformer(**FAST_PARAMS, callbacks=[Look()])
    estimator.fit(X_lowrank)
    assert callable(seen[-1])
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    def own_handler(signum, frame):
        """Someone else's handler."""

    signal.signal(signal.SIGTERM, own_handler)
    try:
        estimator.fit(X_lowrank)
        assert seen[-1] is own_handler
        assert signal.getsignal(signal.SIGTERM) is own_handler
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    thread = threading.Thread(target=estimator.fit, args=(X_lowrank,))
    thread.start()
    thread.join()
    assert seen[-1] is signal.SIG_DFL
    assert estimator.n_iter_ == FAST_PARAMS["max_iter"]


@pytest.mark.parametrize("Estimator", [AutoencoderTransformer, DenoisingAutoencoder])
def test_training_split_into_calls_is_one_call(Estimator, X_lowrank):
    """Check that 6 epochs trained in one fit, in warm-started fits of 2 and 4
    epochs, or in 6 partial_fit calls draw the same batches (and noise), and
    so end on the same weights (the last ones: with average_decay, each call
    ends on its own average of the weights, which the next one trains on
    from)."""
    params = {**FAST_PARAMS, "max_iter": 6, "average_decay": 0}
    whole = Estimator(**params).fit(X_lowrank)
    split = Estimator(**{**params, "max_iter": 2, "warm_start": True})
    split.fit(X_lowrank).set_params(max_iter=4).fit(X_lowrank)
    steps = Estimator(**params)
    for _ in range(6):
        steps.partial_fit(X_lowrank)
    for estimator in (split, steps):
        assert estimator.loss_curve_ == whole.loss_curve_
        assert_array_equal(estimator.transform(X_lowrank), whole.transform(X_lowrank))
        for key, value in whole.module_.state_dict().items():
            assert torch.equal(estimator.module_.state_dict()[key], value), key


@pytest.mark.parametrize("Interrupt", [InterruptOnGradients, InterruptOnBatchEnd])
def test_keyboard_interrupt_mid_epoch_keeps_whole_epochs(Interrupt, X_lowrank):
    """Check that Ctrl-C in an epoch drops it from the history, keeping its updates."""
    params = {**FAST_PARAMS, "max_iter": 10}
    # 200 rows in batches of 32: 7 steps an epoch, so step 16 is in the third.
    estimator = AutoencoderTransformer(**params, callbacks=[Interrupt(16)])
    estimator.fit(X_lowrank)
    assert estimator.n_iter_ == len(estimator.net_.history) == 2
    assert len(estimator.loss_curve_) == 2
    reference = AutoencoderTransformer(**{**params, "max_iter": 2}).fit(X_lowrank)
    assert estimator.loss_curve_ == reference.loss_curve_
    # The third epoch's first step is kept.
    Z = estimator.transform(X_lowrank)
    assert not np.allclose(Z, reference.transform(X_lowrank))

    estimator.set_params(warm_start=True, max_iter=1).fit(X_lowrank)
    assert estimator.n_iter_ == len(estimator.loss_curve_) == 3


def test_keyboard_interrupt_mid_epoch_restores_the_best_weights(X_lowrank):
    """Check that Ctrl-C under early stopping without averaging ends on the
    best epoch's weights."""
    params = {**FAST_PARAMS, "max_iter": 10, "early_stopping": True, "average_decay": 0}
    # 180 training rows in batches of 32: step 14 is in the third epoch.
    estimator = AutoencoderTransformer(**params, callbacks=[InterruptOnGradients(14)])
    with pytest.warns(UserWarning, match="keeps the weights of its best epoch so far"):
        estimator.fit(X_lowrank)
    assert estimator.n_iter_ == len(estimator.validation_scores_) == 2
    reference = AutoencoderTransformer(**{**params, "max_iter": 2}).fit(X_lowrank)
    assert estimator.best_loss_ == reference.best_loss_
    assert_allclose(
        estimator.transform(X_lowrank), reference.transform(X_lowrank), rtol=1e-6
    )


@pytest.mark.parametrize(
    "error", [RuntimeError("out of memory"), SystemExit("terminated")]
)
def test_training_goes_on_after_an_error_mid_epoch(error, X_lowrank):
    """Check that an error in an epoch (say, out of GPU memory, or SystemExit
    from a signal handler) leaves no half-recorded epoch behind to break the
    next training call."""
    params = {**FAST_PARAMS, "warm_start": True, "early_stopping": True}
    estimator = AutoencoderTransformer(
        **params, callbacks=[InterruptOnGradients(10, error=error)]
    )
    with pytest.raises(type(error), match=str(error)):
        estimator.fit(X_lowrank)  # 180 training rows: step 10 is in epoch 2
    # A fit that raises leaves the estimator as it was: unfitted.
    assert not hasattr(estimator, "net_")
    assert not hasattr(estimator, "n_features_in_")
    estimator.set_params(callbacks=None).fit(X_lowrank)
    reference = AutoencoderTransformer(**params).fit(X_lowrank)
    assert_array_equal(estimator.transform(X_lowrank), reference.transform(X_lowrank))


class _RaiseIn(Callback):
    """Raise `error` in the callback method `event`, counting its calls.

    The counts of the last net trained are kept in ``_RaiseIn.calls`` too:
    a fit that raises leaves no net to read them from.
    """

    calls: ClassVar[dict] = {}

    def __init__(self, event, error):
        self.event = event
        self.error = error

    def initialize(self):
        """Count the calls of each method."""
        self.calls_ = _RaiseIn.calls = {}
        return self

    def _call(self, name):
        self.calls_[name] = self.calls_.get(name, 0) + 1
        if name == self.event:
            raise self.error

    def on_train_begin(self, net, **kwargs):
        """Count; raise if it is the event."""
        self._call("on_train_begin")

    def on_train_end(self, net, **kwargs):
        """Count; raise if it is the event; remember the last epoch seen."""
        self.last_epoch_ = dict(net.history[-1]) if net.history else None
        self._call("on_train_end")


def _callback(estimator, kind):
    """The net's (deep-copied) callback of type `kind`."""
    return next(cb for _, cb in estimator.net_.callbacks_ if isinstance(cb, kind))


def test_an_error_ends_training_once_and_stays_visible(X_lowrank):
    """Check that training ended by an error notifies on_train_end once, only
    when every callback began, and lets the first error through."""
    from skorch.callbacks import EarlyStopping

    # An error in on_train_end itself: not notified a second time.
    error = OSError("disk full")
    estimator = AutoencoderTransformer(
        **FAST_PARAMS, callbacks=[_RaiseIn("on_train_end", error)]
    )
    with pytest.raises(OSError, match="disk full"):
        estimator.fit(X_lowrank)
    assert _RaiseIn.calls["on_train_end"] == 1
    # An error in on_train_begin: the callbacks after it never began, so none
    # is ended (skorch's EarlyStopping would fail on its missing state).
    later = EarlyStopping(monitor="train_loss", load_best=True)
    estimator = AutoencoderTransformer(
        **FAST_PARAMS, callbacks=[_RaiseIn("on_train_begin", error), later]
    )
    with pytest.raises(OSError, match="disk full"):
        estimator.fit(X_lowrank)
    assert "on_train_end" not in _RaiseIn.calls


def test_on_train_end_sees_whole_epochs_only(X_lowrank):
    """Check that callbacks ending training (a checkpoint of the history, say)
    never see the epoch that Ctrl-C cut short."""
    estimator = AutoencoderTransformer(
        **{**FAST_PARAMS, "max_iter": 10},
        callbacks=[InterruptOnGradients(16), _RaiseIn(None, None)],
    ).fit(X_lowrank)
    last_epoch = _callback(estimator, _RaiseIn).last_epoch_
    assert last_epoch["epoch"] == 2
    assert "train_loss" in last_epoch


class EpochRecorder(Callback):
    """Record the epochs it sees end."""

    def initialize(self):
        """Start a new record."""
        self.epochs_ = []
        return self

    def on_epoch_end(self, net, **kwargs):
        """Record the epoch."""
        self.epochs_.append(len(net.history))


def test_callbacks_set_between_warm_fits_take_effect(X_lowrank):
    """Check that a warm-started fit trains with the callbacks set before it:
    unchanged ones keep their state, new ones replace them, and the objects
    passed are never changed."""
    recorder = EpochRecorder()
    params = {**FAST_PARAMS, "max_iter": 2, "warm_start": True}
    estimator = AutoencoderTransformer(**params, callbacks=[recorder]).fit(X_lowrank)
    estimator.fit(X_lowrank)
    assert _callback(estimator, EpochRecorder).epochs_ == [1, 2, 3, 4]
    other = EpochRecorder()
    estimator.set_params(callbacks=[other]).fit(X_lowrank)
    assert _callback(estimator, EpochRecorder).epochs_ == [5, 6]
    assert not hasattr(recorder, "epochs_")
    assert not hasattr(other, "epochs_")
    estimator.set_params(callbacks=None).fit(X_lowrank)
    assert not any(isinstance(cb, EpochRecorder) for _, cb in estimator.net_.callbacks_)
    assert estimator.n_iter_ == 8


@pytest.mark.parametrize("early_stopping", [False, True])
def test_a_diverged_warm_fit_leaves_the_previous_model(X_lowrank, early_stopping):
    """Check that a warm-started fit that diverges raises 'Training diverged'
    and leaves the fitted model exactly as it was: weights, optimizer state,
    history and fitted attributes; it still saves and trains on."""
    from skae import save

    params = {**FAST_PARAMS, "warm_start": True, "early_stopping": early_stopping}
    estimator = AutoencoderTransformer(**params).fit(X_lowrank)
    Z, n_iter = estimator.transform(X_lowrank), estimator.n_iter_
    losses = list(estimator.loss_curve_)
    estimator.set_params(learning_rate_init=1e15)
    with pytest.raises(ValueError, match="Training diverged"):
        estimator.fit(X_lowrank)
    assert estimator.n_iter_ == len(estimator.net_.history) == n_iter
    assert estimator.loss_curve_ == losses
    assert_array_equal(estimator.transform(X_lowrank), Z)
    save(estimator, io.BytesIO())
    estimator.set_params(learning_rate_init=1e-3).fit(X_lowrank)
    assert estimator.n_iter_ > n_iter


def test_keyboard_interrupt_before_early_stopping_sees_the_epoch(
    X_lowrank, monkeypatch
):
    """Check that Ctrl-C after an epoch's losses, before early stopping scored
    them, still ends on the best epoch's weights."""
    from skae._engine.callbacks import DivergenceCheck

    params = {
        **FAST_PARAMS,
        "max_iter": 3,
        "early_stopping": True,
        "learning_rate_init": 0.01,
    }
    reference = AutoencoderTransformer(**params).fit(X_lowrank)
    # The third epoch is the best: its weights are those to keep.
    assert np.argmax(reference.validation_scores_) == 2

    check = DivergenceCheck.on_epoch_end

    def interrupt_at_third_epoch(self, net, **kwargs):
        check(self, net, **kwargs)
        if len(net.history) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(DivergenceCheck, "on_epoch_end", interrupt_at_third_epoch)
    estimator = AutoencoderTransformer(**{**params, "max_iter": 10}).fit(X_lowrank)
    assert estimator.n_iter_ == 3
    assert estimator.best_loss_ == reference.best_loss_
    assert_array_equal(estimator.transform(X_lowrank), reference.transform(X_lowrank))


def test_keyboard_interrupt_before_the_first_epoch(X_lowrank, monkeypatch):
    """Check that Ctrl-C while the validation rows are drawn leaves a usable
    estimator."""

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("skae._neural_base.validation_split", interrupt)
    estimator = AutoencoderTransformer(**FAST_PARAMS, early_stopping=True)
    estimator.fit(X_lowrank)
    assert estimator.n_iter_ == 0
    assert estimator.best_loss_ is None
    assert estimator.transform(X_lowrank).shape == (200, 1)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_keyboard_interrupt_in_the_first_epoch(early_stopping, X_lowrank):
    """Check that Ctrl-C before any epoch ends leaves an estimator that works."""
    estimator = AutoencoderTransformer(
        **FAST_PARAMS,
        early_stopping=early_stopping,
        callbacks=[InterruptOnGradients(2)],
    ).fit(X_lowrank)
    assert estimator.n_iter_ == 0
    assert estimator.loss_curve_ == []
    assert estimator.best_loss_ is None
    assert estimator.transform(X_lowrank).shape == (200, 1)
    estimator.set_params(warm_start=True, max_iter=1).fit(X_lowrank)
    assert estimator.n_iter_ == 1


def test_device_auto_uses_cuda_only_when_available(X_lowrank):
    """Check that device='auto' trains on CUDA when present, else on the CPU."""
    estimator = AutoencoderTransformer(**FAST_PARAMS, device="auto").fit(X_lowrank)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert torch.device(estimator.net_.device).type == expected
    assert estimator.device == "auto"
    assert estimator.transform(X_lowrank).shape == (200, 1)


def test_incremental_fits_dask_array(X_lowrank):
    """Check that dask-ml's Incremental trains with partial_fit, block by block."""
    da = pytest.importorskip("dask.array")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X_dask = da.from_array(X_lowrank, chunks=(50, X_lowrank.shape[1]))
    incremental = wrappers.Incremental(
        AutoencoderTransformer(**FAST_PARAMS), scoring=None, shuffle_blocks=False
    ).fit(X_dask)
    assert incremental.estimator_.n_iter_ == 4
    reference = AutoencoderTransformer(**FAST_PARAMS)
    for start in range(0, 200, 50):
        reference.partial_fit(X_lowrank[start : start + 50])
    assert_array_equal(
        incremental.estimator_.transform(X_lowrank), reference.transform(X_lowrank)
    )


def test_parallel_post_fit_transforms_dask_array(X_lowrank):
    """Check that dask-ml's ParallelPostFit transforms a dask array lazily."""
    da = pytest.importorskip("dask.array")
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X_dask = da.from_array(X_lowrank, chunks=(50, X_lowrank.shape[1]))
    model = wrappers.ParallelPostFit(AutoencoderTransformer(**FAST_PARAMS))
    model.fit(X_lowrank)
    Z = model.transform(X_dask)
    assert isinstance(Z, da.Array)
    # float64 GEMM results may differ in the last bit with the number of rows.
    assert_allclose(Z.compute(), model.estimator.transform(X_lowrank), rtol=1e-12)


def test_grid_search_on_dask_cluster_matches_serial(X_lowrank):
    """Check that GridSearchCV on a dask cluster scores as the serial search."""
    pytest.importorskip("dask")
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_backend
    from sklearn.model_selection import GridSearchCV

    grid = {"n_components": [1, 2]}
    estimator = AutoencoderTransformer(**FAST_PARAMS)
    serial = GridSearchCV(estimator, grid, cv=2).fit(X_lowrank)
    # Worker processes, as in a real cluster: estimators travel pickled.
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
        parallel_backend("dask"),
    ):
        parallel = GridSearchCV(estimator, grid, cv=2, n_jobs=2).fit(X_lowrank)
    assert_array_equal(
        parallel.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"]
    )
    assert parallel.best_params_ == serial.best_params_


@pytest.mark.parametrize("n_samples", [1, 5, 64, 101])
def test_batch_iterator_shards_each_step_between_processes(n_samples):
    """Check that data-parallel processes split every step and cover every row."""
    from skae._engine.data import BatchIterator, RowDataset

    X = np.arange(n_samples, dtype=np.float32).reshape(-1, 1)
    n_processes, batch_size = 3, 4
    shards = []
    for process_index in range(n_processes):
        iterator = BatchIterator(
            RowDataset(X),
            batch_size,
            shuffle=True,
            process_index=process_index,
            num_processes=n_processes,
        )
        torch.manual_seed(0)
        batches = [batch[:, 0].int().tolist() for batch, _ in iterator]
        assert len(batches) == len(iterator)
        shards.append(batches)
    # The same number of non-empty batches everywhere, or DDP would hang.
    assert len({len(batches) for batches in shards}) == 1
    assert all(batch for batches in shards for batch in batches)
    for step in zip(*shards, strict=True):
        rows = [row for batch in step for row in batch]
        assert len(rows) <= n_processes * batch_size
        # Rows repeat only to give every process one in a short last step.
        assert len(set(rows)) == len(rows) or len(rows) == n_processes
    seen = {row for batches in shards for batch in batches for row in batch}
    assert seen == set(range(n_samples))


class CountCalls(Callback):
    """Count the notifications a subclass acts on, as ``n_calls_``."""

    def initialize(self):
        """Start counting at zero."""
        self.n_calls_ = 0
        return self


class CountBatches(CountCalls):
    """Count the batches whose end the net announces."""

    def on_batch_end(self, net, **kwargs):
        """Count one batch."""
        self.n_calls_ += 1


class CountGradients(CountCalls):
    """Count the batches whose gradients the net announces."""

    def on_grad_computed(self, net, named_parameters, **kwargs):
        """Count one batch."""
        self.n_calls_ += 1


def test_fit_reads_losses_once_per_epoch(X_lowrank, monkeypatch):
    """Check that the host reads batch losses once per epoch, not per batch.

    On a GPU each read makes the host wait for the device; the history must
    still hold every batch's loss and size.
    """
    reads = []
    item = torch.Tensor.item
    monkeypatch.setattr(
        torch.Tensor, "item", lambda self: reads.append(1) or item(self)
    )
    params = {**FAST_PARAMS, "batch_size": 10, "max_iter": 2, "early_stopping": True}
    estimator = AutoencoderTransformer(**params).fit(X_lowrank)
    # Per epoch: 180 training rows in batches of 10; 20 validation rows in one
    # (inference-sized) batch.
    n_batches = 2 * (18 + 1)
    assert len(reads) < n_batches / 4
    batches = [batch for epoch in estimator.net_.history for batch in epoch["batches"]]
    assert len(batches) == n_batches
    first = estimator.net_.history[0]
    train = [b for b in first["batches"] if "train_loss" in b]
    weighted = sum(b["train_loss"] * b["train_batch_size"] for b in train)
    assert sum(b["train_batch_size"] for b in train) == 180
    assert first["train_loss"] == pytest.approx(weighted / 180)


def test_epoch_losses_are_means_weighted_by_batch_size(X_lowrank):
    """Check each epoch's losses: the batch losses' mean, weighted by their sizes."""
    params = {**FAST_PARAMS, "batch_size": 64, "max_iter": 3, "early_stopping": True}
    history = AutoencoderTransformer(**params).fit(X_lowrank).net_.history
    best = np.inf
    for epoch in history:
        for prefix in ("train", "valid"):
            batches = [b for b in epoch["batches"] if f"{prefix}_loss" in b]
            sizes = [b[f"{prefix}_batch_size"] for b in batches]
            losses = [b[f"{prefix}_loss"] for b in batches]
            mean = np.average(losses, weights=sizes)
            assert epoch[f"{prefix}_loss"] == pytest.approx(mean, rel=1e-12)
        assert [b["train_batch_size"] for b in epoch["batches"][:3]] == [64, 64, 52]
        assert epoch["valid_loss_best"] == (epoch["valid_loss"] < best)
        best = min(best, epoch["valid_loss"])


def _stop_on_scripted_losses(callback, net, losses):
    """Run epochs with validation `losses` (each sets the weight to its epoch
    number) until `callback` stops training."""
    with pytest.raises(KeyboardInterrupt):
        for epoch, loss in enumerate(losses, start=len(net.history) + 1):
            net.history.new_epoch()
            net.history.record("epoch", epoch)
            net.history.record("valid_loss", loss)
            with torch.no_grad():
                net.module_.weight.fill_(epoch)
            callback.on_epoch_end(net)


def test_early_stopping_keeps_the_weights_of_the_lowest_loss():
    """Check that the weights restored are those of the lowest validation loss,
    even when it beat the previous best by less than `tol` (a miss)."""
    from types import SimpleNamespace

    from skorch.history import History

    from skae._engine.callbacks import EarlyStopping

    def new_callback():
        return EarlyStopping(
            monitor="valid_loss", patience=3, tol=0.05, load_best=True
        ).initialize()

    net = SimpleNamespace(history=History(), module_=torch.nn.Linear(1, 1), verbose=0)
    callback = new_callback()
    callback.on_train_begin(net)
    # Epochs 3 and 4 improve on epoch 2 by less than 5%: misses, as is epoch 5.
    _stop_on_scripted_losses(callback, net, [1.0, 0.9, 0.89, 0.88, 0.95])
    assert len(net.history) == 5
    assert callback.best_epoch_ == 4
    # Pickling leaves out the module's tensors, which the module pickles.
    assert pickle.loads(pickle.dumps(callback))._state is None
    callback.on_train_end(net)
    assert net.module_.weight.item() == 4
    assert callback._weights is None  # restored: no copy is kept

    # A further call (a warm-started fit) that never beats epoch 4 ends on
    # the weights it started from, those of epoch 4. The callback replays the
    # history, so a new one (as in a loaded model) does the same.
    callback = new_callback()
    callback.on_train_begin(net)
    assert (callback.best_epoch_, callback.best_loss_) == (4, 0.88)
    _stop_on_scripted_losses(callback, net, [0.885, 0.9, 0.91])
    callback.on_train_end(net)
    assert len(net.history) == 8
    assert callback.best_epoch_ == 4
    assert net.module_.weight.item() == 4


def test_early_stopping_never_keeps_an_epoch_that_diverged():
    """Check that an epoch whose training loss diverged is not taken for the
    best when training stopped before early stopping scored it, even if its
    validation loss was the lowest: its weights are replaced and it is dropped."""
    from types import SimpleNamespace

    from skorch.history import History

    from skae._engine.callbacks import EarlyStopping

    net = SimpleNamespace(history=History(), module_=torch.nn.Linear(1, 1), verbose=0)
    callback = EarlyStopping(
        monitor="valid_loss", patience=3, tol=0.05, load_best=True
    ).initialize()
    callback.on_train_begin(net)
    for epoch, losses in enumerate([(1.0, 1.0), (0.9, 0.9), (math.inf, 0.5)], 1):
        net.history.new_epoch()
        net.history.record("epoch", epoch)
        net.history.record("train_loss", losses[0])
        net.history.record("valid_loss", losses[1])
        with torch.no_grad():
            net.module_.weight.fill_(epoch)
        if epoch < 3:  # the divergence check raised before early stopping ran
            callback.on_epoch_end(net)
    callback.on_train_end(net)
    assert callback.best_epoch_ == 2
    assert net.module_.weight.item() == 2
    assert len(net.history) == 2


def _live_tensors():
    """The number of torch tensors alive in this process.

    Collected first: otherwise garbage cycles that earlier tests left (and that
    the collector may free mid-fit) count as alive, and the count may drop.
    """
    gc.collect()
    return sum(issubclass(type(obj), torch.Tensor) for obj in gc.get_objects())


def test_fit_keeps_no_tensor_per_batch_until_the_epoch_ends(X_lowrank, monkeypatch):
    """Check that the losses kept until the epoch's end take no tensor per batch.

    torch returns a mean loss as a view of the batch-sized buffer it reduced, so
    keeping the losses kept those buffers (a memmap fit grew by the data's
    size); keeping a copy per batch still left small blocks between the freed
    batch buffers, and glibc's heap grew by hundreds of megabytes.
    """
    from skae._engine.net import Net

    live = []
    train_step = Net.train_step

    def counting_train_step(self, batch, **fit_params):
        # Counted before the second and the last of 10 batches (a slow count).
        live.append(_live_tensors() if len(live) in (1, 9) else None)
        return train_step(self, batch, **fit_params)

    monkeypatch.setattr(Net, "train_step", counting_train_step)
    params = {**FAST_PARAMS, "batch_size": 20, "max_iter": 1}
    AutoencoderTransformer(**params).fit(X_lowrank)
    assert len(live) == 10
    assert live[9] == live[1]


def test_predict_in_batches_keeps_no_tensor_per_batch():
    """Check that inference fills one output instead of keeping each batch's.

    Keeping each batch's output until a final concatenation left small blocks
    between the freed batch buffers: a pass over a memmap grew glibc's heap by
    up to half the data's size.
    """
    from skae._engine.data import predict_in_batches

    live = []

    def linear(module, batch):
        live.append(_live_tensors() if len(live) in (1, 9) else None)
        return module(batch)

    module = torch.nn.Linear(3, 2)
    X = np.random.RandomState(0).rand(50, 3)
    with mock.patch("skae._engine.data.PREDICT_BATCH_VALUES", 15):  # 5 rows a batch
        out = predict_in_batches(module, linear, X, torch.device("cpu"))
    assert len(live) == 10
    assert live[9] == live[1]
    with torch.no_grad():
        expected = module.double()(torch.from_numpy(X)).numpy()
    assert out.dtype == np.float64
    assert_allclose(out, expected)


def test_validation_keeps_no_autograd_state(X_lowrank, monkeypatch):
    """Check that validation batches run in inference mode and eval mode, with
    the mode set once per validation pass, not before every batch."""
    from skae._engine.net import Net

    # 180 training rows in batches of 8: 23 a pass. A validation batch holds
    # max(8, 40 // 5 features) = 8 rows: the 20 validation rows make three.
    monkeypatch.setattr("skae._neural_base.PREDICT_BATCH_VALUES", 40)
    calls = []
    infer, switch_mode = Net.infer, Net._switch_mode

    def recording_infer(self, x, **fit_params):
        calls.append((torch.is_inference_mode_enabled(), self.module_.training))
        return infer(self, x, **fit_params)

    def recording_switch_mode(self, *, training):
        if self.module_.training != training:
            calls.append(("set", training))
        return switch_mode(self, training=training)

    monkeypatch.setattr(Net, "infer", recording_infer)
    monkeypatch.setattr(Net, "_switch_mode", recording_switch_mode)
    params = {**FAST_PARAMS, "batch_size": 8, "max_iter": 2, "early_stopping": True}
    AutoencoderTransformer(**params).fit(X_lowrank)
    training, validation = (False, True), (True, False)
    assert calls.count(validation) == 2 * 3
    assert calls.count(training) == 2 * 23
    assert calls.count(("set", False)) == 2  # once per validation pass
    assert set(calls) == {training, validation, ("set", False), ("set", True)}


@pytest.mark.parametrize("Counter", [CountBatches, CountGradients])
def test_fit_notifies_callbacks_that_act_on_batches(Counter, X_lowrank):
    """Check that callbacks acting on batches or gradients see every batch,
    and that notifying them does not change training."""
    params = {**FAST_PARAMS, "batch_size": 10, "max_iter": 2}
    plain = AutoencoderTransformer(**params).fit(X_lowrank)
    counted = AutoencoderTransformer(**params, callbacks=[("count", Counter())])
    counted.fit(X_lowrank)
    assert dict(counted.net_.callbacks_)["count"].n_calls_ == 2 * 20
    assert_allclose(counted.loss_curve_, plain.loss_curve_, rtol=1e-6)
    assert counted.net_.history[-1, "batches", -1] == pytest.approx(
        plain.net_.history[-1, "batches", -1]
    )


@pytest.mark.parametrize("num_processes", [1, 3])
@pytest.mark.parametrize("shuffle", [False, True])
def test_batch_iterator_gathers_staged_data_as_host_data(shuffle, num_processes):
    """Check that data staged as a tensor gives the batches of the numpy array,
    with the row numbers and labels copied to its device once per epoch."""
    from skae._engine.data import BatchIterator, RowDataset

    X = np.arange(46, dtype=np.float32).reshape(-1, 2)
    y = np.arange(23) % 3
    subset = np.array([0, 2, 3, 5, 8, 9, 11, 15, 16, 20, 21, 22])
    batches, copies = [], []
    for data in (X, torch.from_numpy(X)):
        dataset = RowDataset(data, y).subset(subset)
        iterator = BatchIterator(
            dataset, 2, shuffle=shuffle, process_index=1, num_processes=num_processes
        )
        torch.manual_seed(0)
        with mock.patch.object(torch, "from_numpy", wraps=torch.from_numpy) as copy:
            batches.append([(Xb.tolist(), yb.tolist()) for Xb, yb in iterator])
        copies.append(copy.call_count)
    assert batches[0] == batches[1]
    assert len(batches[0]) == len(iterator) > 1
    assert copies == [2 * len(iterator), 2]


def test_accelerator_in_one_process_trains_as_without(Estimator, X_lowrank, capsys):
    """Check that a one-process accelerate run fits, pickles and matches a plain fit."""
    accelerate = pytest.importorskip("accelerate")
    from sklearn.base import clone

    accelerator = accelerate.Accelerator(cpu=True)
    plain = Estimator(**FAST_PARAMS).fit(X_lowrank)
    accelerated = Estimator(**FAST_PARAMS, accelerator=accelerator).fit(X_lowrank)
    assert capsys.readouterr().out == ""  # verbose=0 prints nothing
    assert_allclose(
        accelerated.transform(X_lowrank), plain.transform(X_lowrank), rtol=1e-5
    )
    # Training goes on through accelerate after skorch unwrapped the module.
    accelerated.partial_fit(X_lowrank)
    assert accelerated.n_iter_ == FAST_PARAMS["max_iter"] + 1
    restored = pickle.loads(pickle.dumps(accelerated))
    assert_allclose(restored.transform(X_lowrank), accelerated.transform(X_lowrank))
    assert clone(accelerated).get_params()["accelerator"] is not None


def _run_fit_accelerated(out, *script_args, launcher=()):
    """Run tests/scripts/fit_accelerated.py; fail with the end of its stderr."""
    script = Path(__file__).parent / "scripts" / "fit_accelerated.py"
    command = [sys.executable, *launcher, str(script), str(out), *script_args]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]


def test_accelerator_two_processes_train_one_model(tmp_path):
    """Check that two data-parallel CPU processes (gloo) end with equal weights."""
    pytest.importorskip("accelerate")
    torchrun = ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    _run_fit_accelerated(tmp_path, launcher=torchrun)
    codes = [np.load(tmp_path / f"codes_{rank}.npy") for rank in range(2)]
    # DDP averaged the gradients, so both processes hold the same network.
    assert_array_equal(codes[0], codes[1])
    assert np.isfinite(codes[0]).all()


def test_accelerator_mixed_precision_fits(tmp_path):
    """Check a bf16 mixed-precision accelerate fit, on the GPU where there is one.

    In a process of its own: accelerate keeps one configuration per process.
    """
    pytest.importorskip("accelerate")
    _run_fit_accelerated(tmp_path, "bf16")
    assert np.isfinite(np.load(tmp_path / "codes_0.npy")).all()


@pytest.mark.cuda
def test_fit_cuda_preserves_dtype_and_rng(Estimator, dtype, X_lowrank):
    """Check that fitting on CUDA returns numpy in the input dtype, RNG untouched."""
    X = X_lowrank.astype(dtype)
    cuda_state = torch.cuda.get_rng_state()
    cpu_state = torch.get_rng_state()
    estimator = Estimator(**{**FAST_PARAMS, "max_iter": 20}, device="cuda").fit(X)
    assert torch.device(estimator.net_.device).type == "cuda"
    assert estimator.loss_curve_[-1] < estimator.loss_curve_[0]
    Z = estimator.transform(X)
    assert isinstance(Z, np.ndarray)
    assert Z.dtype == dtype
    assert estimator.inverse_transform(Z).dtype == dtype
    assert torch.equal(torch.cuda.get_rng_state(), cuda_state)
    assert torch.equal(torch.get_rng_state(), cpu_state)


def _count_cuda_syncs(function):
    """Run `function()`; return how many synchronising CUDA calls it made.

    torch's sync debug mode sees reads such as ``loss.item()``, not copies
    from pageable host memory (the CPU test of staged batches counts those).
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            function()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("called a synchronizing" in str(warning.message) for warning in caught)


@pytest.mark.cuda
def test_fit_cuda_waits_for_the_device_per_epoch_not_per_batch(X_lowrank):
    """Check that a CUDA fit does not make the host wait at every batch."""
    # The counter counts repeated syncs from one line, not only the first.
    one = torch.ones((), device="cuda")
    assert _count_cuda_syncs(lambda: [one.item() for _ in range(3)]) == 3
    params = {**FAST_PARAMS, "batch_size": 2, "max_iter": 2, "device": "cuda"}
    estimator = AutoencoderTransformer(**params)
    n_batches = 2 * len(X_lowrank) // 2
    # A fit's fixed syncs (uploads, the PCA start, the final error) are a few
    # dozen; one per batch would be 200 or more.
    assert 0 < _count_cuda_syncs(lambda: estimator.fit(X_lowrank)) < n_batches / 2


@pytest.mark.cuda
def test_fit_cuda_is_reproducible(X_lowrank):
    """Check that two CUDA fits with the same random_state agree closely."""
    params = {**FAST_PARAMS, "device": "cuda"}
    first = DenoisingAutoencoder(**params).fit(X_lowrank).transform(X_lowrank)
    second = DenoisingAutoencoder(**params).fit(X_lowrank).transform(X_lowrank)
    np.testing.assert_allclose(first, second, atol=1e-6)


@pytest.mark.cuda
@pytest.mark.parametrize("early_stopping", [False, True])
def test_cuda_model_unpickles_without_cuda(early_stopping, X_lowrank, monkeypatch):
    """Check that a model fitted on CUDA unpickles and transforms on the CPU.

    With early stopping, no copy of the best weights may stay on the GPU.
    """
    estimator = AutoencoderTransformer(
        **FAST_PARAMS, early_stopping=early_stopping, device="cuda"
    ).fit(X_lowrank)
    payload = pickle.dumps(estimator)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(DeviceWarning):
        loaded = pickle.loads(payload)
    assert torch.device(loaded.net_.device).type == "cpu"
    assert next(loaded.net_.module_.parameters()).device.type == "cpu"
    np.testing.assert_allclose(
        loaded.transform(X_lowrank), estimator.transform(X_lowrank), atol=1e-5
    )


@pytest.mark.cuda
def test_fit_cuda_memmap_and_sparse(X_lowrank, tmp_path):
    """Check that memmap and sparse input stream to the GPU batch by batch."""
    X_memmap = np.memmap(
        tmp_path / "X.dat", dtype=np.float32, mode="w+", shape=X_lowrank.shape
    )
    X_memmap[:] = X_lowrank
    X_sparse = sp.csr_matrix(X_lowrank)
    params = {**FAST_PARAMS, "device": "cuda"}
    Z_memmap = AutoencoderTransformer(**params).fit(X_memmap).transform(X_memmap)
    Z_sparse = AutoencoderTransformer(**params).fit(X_sparse).transform(X_sparse)
    np.testing.assert_allclose(Z_memmap, Z_sparse, rtol=1e-4, atol=1e-5)


@pytest.mark.cuda
def test_fit_cuda_streams_memmap_batch_by_batch(tmp_path):
    """Check that a memmap goes to the GPU one batch at a time, never whole.

    The buffers of a fit whose size does not grow with the data (the PCA
    start's sample of at most 10,000 rows, the inference chunks) take a few
    tens of MB, well under a quarter of this 320 MB array.
    """
    shape = (400_000, 200)
    X = np.memmap(tmp_path / "X.dat", dtype=np.float32, mode="w+", shape=shape)
    rng = np.random.RandomState(0)
    for start in range(0, shape[0], 50_000):
        X[start : start + 50_000] = rng.rand(50_000, shape[1])
    X.flush()
    torch.cuda.reset_peak_memory_stats()
    # Tensors that earlier tests left for the garbage collector do not count.
    baseline = torch.cuda.memory_allocated()
    params = {**FAST_PARAMS, "max_iter": 1, "batch_size": 1024, "device": "cuda"}
    AutoencoderTransformer(**params).fit(X)
    assert torch.cuda.max_memory_allocated() - baseline < X.nbytes / 4


@pytest.mark.parametrize("Estimator", AUTOENCODERS, ids=lambda cls: cls.__name__)
def test_engine_bfloat16_precision_trains_and_transforms(Estimator):
    """Check that precision='bfloat16' trains every kind close to float32,
    keeps the input's dtype, and computes float64 input in float64."""
    X = np.random.RandomState(0).rand(200, 12).astype(np.float32)
    params = {**FAST_PARAMS, "n_components": 3}
    reference = Estimator(**params).fit(X)
    ae = Estimator(**params, precision="bfloat16").fit(X)
    assert ae.transform(X).dtype == np.float32
    assert_allclose(ae.loss_curve_, reference.loss_curve_, rtol=0.05)
    Z = ae.transform(X)
    assert_allclose(Z, reference.transform(X), rtol=0.1, atol=0.05)
    X_64 = X.astype(np.float64)
    Z_64 = ae.transform(X_64)
    assert Z_64.dtype == np.float64
    assert_array_equal(Z_64, clone_fitted(ae, precision="float32").transform(X_64))


def clone_fitted(estimator, **params):
    """A deep copy of a fitted estimator with `params` set."""
    return copy.deepcopy(estimator).set_params(**params)


def test_engine_bfloat16_precision_comes_from_an_accelerator():
    """Check that precision='bfloat16' with an accelerator is refused with
    the accelerator's own setting named, leaving the estimator unfitted."""

    class Accelerator:
        num_processes = 1
        device = torch.device("cpu")

        def prepare(self, *args):
            return args

        def backward(self, loss):
            loss.backward()

        def unwrap_model(self, model):
            return model

    ae = AutoencoderTransformer(
        **FAST_PARAMS, accelerator=Accelerator(), precision="bfloat16"
    )
    with pytest.raises(ValueError, match=r"mixed_precision='bf16'"):
        ae.fit(np.random.RandomState(0).rand(50, 4))
    assert not hasattr(ae, "net_")
