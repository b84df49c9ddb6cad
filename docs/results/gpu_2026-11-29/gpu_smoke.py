"""Ad-hoc GPU smoke run (not committed): accelerate on one GPU, device='auto'."""
import pickle
import sys
import time

import numpy as np
import torch
from accelerate import Accelerator

from skae import AutoencoderTransformer, DenoisingAutoencoder

rng = np.random.RandomState(0)
X = (rng.randn(20000, 10) @ rng.randn(10, 64)).astype(np.float32)
est = AutoencoderTransformer(n_components=8, max_iter=5, random_state=0, device="auto").fit(X)
print("auto ->", est.net_.device, "error", est.reconstruction_error_)
for mp in sys.argv[1:]:
    acc = Accelerator(mixed_precision=mp)
    t = time.perf_counter()
    est = DenoisingAutoencoder(
        n_components=8, max_iter=20, random_state=0, accelerator=acc
    ).fit(X)
    seconds = time.perf_counter() - t
    Z = est.transform(X)
    restored = pickle.loads(pickle.dumps(est))
    same = np.allclose(restored.transform(X), Z, atol=1e-5)
    print(
        f"accelerate mixed_precision={mp}: device={acc.device} fit {seconds:.2f}s "
        f"epochs={est.n_iter_} error={est.reconstruction_error_:.4f} "
        f"first/last loss={est.loss_curve_[0]:.4f}/{est.loss_curve_[-1]:.4f} "
        f"pickle round trip equal={same} Z dtype={Z.dtype}"
    )
if "no" not in sys.argv[1:]:
    sys.exit()
# Staging: X uploaded once; GPU memory peak vs X's size, for a 1 GB array.
torch.cuda.reset_peak_memory_stats()
X_big = rng.rand(330_000, 784).astype(np.float32)
t = time.perf_counter()
AutoencoderTransformer(n_components=32, hidden_layer_sizes=(256, 128), max_iter=1,
                       batch_size=256, random_state=0, device="cuda").fit(X_big)
print(f"1 epoch on {X_big.nbytes/1e9:.2f} GB: {time.perf_counter()-t:.1f}s, "
      f"peak GPU memory {torch.cuda.max_memory_allocated()/1e9:.2f} GB")
