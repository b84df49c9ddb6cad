import pickle, sys
import numpy as np, torch
from accelerate import Accelerator
from skae import DenoisingAutoencoder
rng = np.random.RandomState(0)
X = (rng.randn(2000, 10) @ rng.randn(10, 64)).astype(np.float32)
est = DenoisingAutoencoder(n_components=8, max_iter=5, random_state=0, accelerator=Accelerator()).fit(X)
Z = est.transform(X)
restored = pickle.loads(pickle.dumps(est))
Zr = restored.transform(X)
print("orig params on", next(est.net_.module_.parameters()).device, "restored on", next(restored.net_.module_.parameters()).device,
      "max abs diff", float(np.abs(Zr - Z).max()), "max |Z|", float(np.abs(Z).max()))
restored.net_.module_.to("cuda")
print("restored moved to cuda, max abs diff", float(np.abs(restored.transform(X) - Z).max()))
