"""Fit an autoencoder with a checkpoint until SIGTERM stops it; save its codes.

Run by tests/test_callbacks.py with the checkpoint's path and the codes' path
as arguments. It prints "training" once two epochs have run, for the test to
send SIGTERM, then, once fit returns, the epochs it trained.
"""

# SPDX-License-Identifier: BSD-3-Clause

import sys

import numpy as np
import torch
from skorch.callbacks import Callback

from skae import AutoencoderTransformer
from skae.callbacks import Checkpoint


class SayTraining(Callback):
    """Print "training" at the end of the second epoch."""

    def on_epoch_end(self, net, **kwargs):
        """Tell the test that training is under way."""
        if len(net.history) == 2:
            print("training", flush=True)


torch.set_num_threads(1)
X = np.random.RandomState(0).rand(64, 8)
# Trains until stopped: no plateau stop, and far more epochs than it gets to.
model = AutoencoderTransformer(
    2,
    hidden_layer_sizes=(8,),
    max_iter=10**6,
    n_iter_no_change=10**6,
    random_state=0,
    callbacks=[SayTraining(), Checkpoint(sys.argv[1], every=10**6)],
)
model.fit(X)
np.save(sys.argv[2], model.transform(X))
print(model.n_iter_, flush=True)
