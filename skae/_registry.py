"""The one list of skae's public estimator kinds.

Persistence builds only these classes, the tests run scikit-learn's checks on
each, and the API docs are checked against it. A new kind is added here.
"""

# SPDX-License-Identifier: BSD-3-Clause

from skae._autoencoder import AutoencoderTransformer
from skae._classifier import AutoencoderClassifier
from skae._contractive import ContractiveAutoencoder
from skae._denoising import DenoisingAutoencoder
from skae._impute import AutoencoderImputer
from skae._sparse import SparseAutoencoder
from skae._variational import VariationalAutoencoder

AUTOENCODERS = (
    AutoencoderTransformer,
    DenoisingAutoencoder,
    SparseAutoencoder,
    ContractiveAutoencoder,
    VariationalAutoencoder,
)
ESTIMATORS = (*AUTOENCODERS, AutoencoderImputer, AutoencoderClassifier)
BY_NAME = {cls.__name__: cls for cls in ESTIMATORS}
