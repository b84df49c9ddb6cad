"""skae: scikit-learn autoencoders, trained with PyTorch through skorch."""

# SPDX-License-Identifier: BSD-3-Clause

from importlib.metadata import PackageNotFoundError, version

from skae._autoencoder import AutoencoderTransformer
from skae._classifier import AutoencoderClassifier
from skae._contractive import ContractiveAutoencoder
from skae._denoising import DenoisingAutoencoder
from skae._impute import AutoencoderImputer
from skae._persistence import load, save
from skae._sparse import SparseAutoencoder
from skae._variational import VariationalAutoencoder

try:
    __version__ = version("skae")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = [
    "AutoencoderClassifier",
    "AutoencoderImputer",
    "AutoencoderTransformer",
    "ContractiveAutoencoder",
    "DenoisingAutoencoder",
    "SparseAutoencoder",
    "VariationalAutoencoder",
    "__version__",
    "load",
    "save",
]
