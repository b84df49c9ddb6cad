"""
===================================
Resuming a long fit from checkpoint
===================================

A fit of hours can die before it ends: a time limit, a preempted cloud
machine, a crash. :class:`~skae.callbacks.Checkpoint` saves the estimator
while it trains, with :func:`skae.save`, so that a fit that dies can be
loaded with :func:`skae.load` and resumed. This example kills a fit on
purpose, resumes it from its last checkpoint, and checks that the result is
the model an uninterrupted fit gives, bit for bit.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# The fit to protect
# ------------------
#
# An autoencoder of digits with early stopping: it trains until its
# validation loss has not improved by 1% (`tol`) for 5 epochs in a row, and
# ends on the weights of its best epoch. Here it is trained once without
# interruption, for reference.

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from skorch.callbacks import Callback

import skae
from skae import AutoencoderTransformer
from skae.callbacks import Checkpoint

X, _ = load_digits(return_X_y=True)
X = X / 16  # pixel intensities are 0 to 16

params = dict(
    n_components=8,
    hidden_layer_sizes=(64,),
    early_stopping=True,
    n_iter_no_change=5,
    max_iter=200,
    random_state=0,
)
uninterrupted = AutoencoderTransformer(**params).fit(X)
print(f"The uninterrupted fit trains {uninterrupted.n_iter_} epochs.")

# %%
# A fit that dies
# ---------------
#
# The same fit, now with a checkpoint every 10 epochs. A small callback
# stands for the machine being stopped at epoch 25: it raises an error there,
# so that ``fit`` fails and, as after a real kill, nothing of the training is
# left in memory. The checkpoint file, replaced atomically at each save, holds
# the estimator as it was at epoch 20.

folder = Path(tempfile.mkdtemp())
path = folder / "digits.skae"


class Preempted(Exception):
    """The machine was stopped."""


class StopTheMachine(Callback):
    """Raise Preempted at the end of epoch 25."""

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == 25:
            raise Preempted("the machine was stopped at epoch 25")


ae = AutoencoderTransformer(
    **params, callbacks=[Checkpoint(path, every=10), StopTheMachine()]
)
try:
    ae.fit(X)
except Preempted as error:
    print(f"The fit died: {error}.")
print(f"Fitted attributes left in memory: {hasattr(ae, 'n_iter_')}")
print(f"Files in the folder: {[file.name for file in folder.iterdir()]}")

# %%
# Resuming
# --------
#
# The checkpoint loads like any saved model: it can transform already. Fitted
# with ``warm_start=True`` for the epochs that were left, with a checkpoint
# again to keep saving, it continues the training that died: the optimizer's
# state, the count of epochs without improvement and the current weights
# (beside the best ones so far) are in the file, and each epoch draws its
# batches from ``random_state`` and its own index.

resumed = skae.load(path)
print(f"The checkpoint holds {resumed.n_iter_} epochs.")
resumed.set_params(
    warm_start=True,
    max_iter=params["max_iter"] - resumed.n_iter_,
    callbacks=[Checkpoint(path, every=10)],
)
resumed.fit(X)
same = np.array_equal(resumed.transform(X), uninterrupted.transform(X))
print(f"Resumed: {resumed.n_iter_} epochs in all; the same codes, bit for bit: {same}")

# %%
# The two training curves are one: the resumed fit picks up at epoch 21 and
# stops on the same plateau as the uninterrupted one.

fig, ax = plt.subplots(figsize=(6, 3.5))
epochs = np.arange(1, uninterrupted.n_iter_ + 1)
ax.plot(epochs, uninterrupted.loss_curve_, lw=4, alpha=0.4, label="uninterrupted")
ax.plot(
    epochs[20:], resumed.loss_curve_[20:], "k.", label="resumed from the checkpoint"
)
ax.axvline(25, color="tab:red", ls="--", label="the machine stops")
ax.axvline(20, color="tab:gray", ls=":", label="last checkpoint")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.legend()
fig.tight_layout()
plt.show()
