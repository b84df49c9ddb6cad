"""What surrounds a training call: the estimator it trains, SIGTERM, and the
warning of a call cut short."""

# SPDX-License-Identifier: BSD-3-Clause

import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from skorch import NeuralNet

# The training call under way in this thread, if any.
_CURRENT: ContextVar["TrainingCall | None"] = ContextVar("skae_training", default=None)


class TrainingCall:
    """One training call of an estimator: what callbacks may ask of it.

    Parameters
    ----------
    estimator : estimator object
        The skae estimator being trained; its ``net_`` runs the call.
    """

    def __init__(self, estimator: Any):
        self.estimator = estimator
        # Whether SIGTERM asked the call to stop.
        self.terminated = False
        # Why a callback ended the call on purpose (a time budget), if one did.
        self.stop_reason: str | None = None

    def warn_if_cut_short(self, *, epochs_run: int, epochs: int, stopped: bool):
        """Warn that the call ended before its `epochs`, and say what the
        estimator keeps, unless it stopped on a plateau (`stopped`).

        Called once the fitted attributes are read from the history.
        Training ends early without an error only on ``KeyboardInterrupt``:
        Ctrl-C, SIGTERM (see :func:`training`), or a callback raising it.
        """
        cut_short = epochs_run < epochs and not (stopped or self.stop_reason)
        if not (cut_short or self.terminated):
            return
        estimator = self.estimator
        cause = "SIGTERM" if self.terminated else "KeyboardInterrupt (Ctrl-C)"
        keeps_best = dict(estimator.net_.callbacks_)["early_stopping"].load_best
        if keeps_best and estimator.best_loss_ is not None:
            history = estimator.net_.history
            best = min(history, key=lambda row: row["valid_loss"])["epoch"]
            kept = (
                f"the weights of its best epoch so far, {best} of "
                f"n_iter_={estimator.n_iter_} (validation loss "
                f"{estimator.best_loss_:.4g})"
            )
        else:
            kept = (
                f"the weights it reached: n_iter_={estimator.n_iter_} whole "
                "epochs, and the updates of an epoch cut short, if any"
            )
            if getattr(estimator, "average_decay", 0):
                kept = f"the average of {kept}"
        advice = "Save it with skae.save"
        if "warm_start" in estimator.get_params(deep=False):
            advice = "Fit it again with warm_start=True to continue, or save it"
        warnings.warn(
            f"Training was stopped by {cause} after {epochs_run} of the {epochs} "
            f"epochs of this fit. The estimator keeps {kept}. {advice}.",
            UserWarning,
            stacklevel=_stacklevel_outside(("skae", "sklearn")),
        )


def _stacklevel_outside(packages: tuple[str, ...]) -> int:
    """The `stacklevel` that makes a warning raised by the caller of this
    function point at the first frame outside `packages` (the call to fit)."""
    frame, level = sys._getframe(1), 1
    while frame.f_back is not None and (
        frame.f_globals.get("__name__", "").partition(".")[0] in packages
    ):
        frame, level = frame.f_back, level + 1
    return level


@contextmanager
def training(estimator: Any) -> Iterator[TrainingCall]:
    """Run a training call of `estimator`, stopping it on SIGTERM as on Ctrl-C.

    While the block runs, :func:`estimator_in_training` returns `estimator`
    to the callbacks of its net. In the main thread, and only where SIGTERM
    has its default action (ending the process at once), a handler makes the
    first SIGTERM raise ``KeyboardInterrupt``, which ends the training call
    as Ctrl-C does: skorch ends it quietly, the callbacks' ``on_train_end``
    runs (a checkpoint is written), and the estimator keeps its weights, or
    the best ones under early stopping. Later SIGTERMs are ignored while
    training ends. The previous handler is put back when the block ends. A
    handler someone else installed is left alone: its owner decides.
    """
    call = TrainingCall(estimator)
    token = _CURRENT.set(call)
    sigterm = getattr(signal, "SIGTERM", None)
    installed = (
        sigterm is not None
        and threading.current_thread() is threading.main_thread()
        and signal.getsignal(sigterm) is signal.SIG_DFL
    )

    def stop(signum, frame):
        """Stop training as Ctrl-C would, once."""
        if not call.terminated:
            call.terminated = True
            raise KeyboardInterrupt("SIGTERM")

    if installed:
        signal.signal(sigterm, stop)
    try:
        yield call
    finally:
        if installed:
            signal.signal(sigterm, signal.SIG_DFL)
        _CURRENT.reset(token)


def stop_training(net: NeuralNet, reason: str) -> None:
    """End the training call that runs `net` on purpose, for `reason`.

    Raises ``KeyboardInterrupt``, skorch's way of ending training quietly;
    the call then ends without the warning of one cut short.
    """
    estimator_in_training(net)
    _CURRENT.get().stop_reason = reason
    raise KeyboardInterrupt(reason)


def estimator_in_training(net: NeuralNet) -> Any:
    """The skae estimator whose training call runs `net`.

    Raises
    ------
    RuntimeError
        If `net` is not running a skae estimator's training call (a callback
        used in a skorch net of its own, say).
    """
    call = _CURRENT.get()
    if call is None or getattr(call.estimator, "net_", None) is not net:
        raise RuntimeError(
            "This callback works on a skae estimator: pass it in the estimator's "
            "callbacks parameter, and fit the estimator."
        )
    return call.estimator
