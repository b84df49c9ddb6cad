"""Fit one autoencoder through accelerate; save each process's codes.

Run by tests/test_engine.py: through ``python -m torch.distributed.run
--nproc_per_node=2`` on two CPU processes (accelerate picks the process group
up from the environment that torchrun sets), and as one process with a mixed
precision as second argument, on the GPU where there is one.
"""

# SPDX-License-Identifier: BSD-3-Clause

import sys
from pathlib import Path

import numpy as np
import torch
from accelerate import Accelerator

from skae import DenoisingAutoencoder

torch.set_num_threads(1)
if len(sys.argv) > 2:
    accelerator = Accelerator(mixed_precision=sys.argv[2])
else:
    accelerator = Accelerator(cpu=True)
rng = np.random.RandomState(0)
X = rng.randn(203, 6) @ rng.randn(6, 12)
# No random_state: the processes must still agree, on the main process's seed.
model = DenoisingAutoencoder(
    n_components=3,
    hidden_layer_sizes=(16,),
    max_iter=3,
    batch_size=16,
    early_stopping=True,
    accelerator=accelerator,
)
model.fit(X)
# Training goes on, through accelerate again, after skorch unwrapped the module.
model.set_params(warm_start=True, max_iter=2).fit(X)
out = Path(sys.argv[1])
np.save(out / f"codes_{accelerator.process_index}.npy", model.transform(X))
