"""scikit-learn's own estimator checks, on every public estimator."""

# SPDX-License-Identifier: BSD-3-Clause

import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from skae import AutoencoderClassifier, AutoencoderTransformer
from skae._registry import ESTIMATORS
from tests.conftest import FAST_PARAMS

# Each entry needs a reason and an issue link; there are none.
EXPECTED_FAILED_CHECKS: dict = {}


def _fast(Estimator):
    """`Estimator` with a tiny network and few epochs.

    In check_classifiers_classes scikit-learn labels a binary problem {-1, 1}
    and exempts only its own semi-supervised classifiers by name, so the
    classifier runs with unlabeled_label=None; -1 as the unlabeled marker is
    tested in test_classifier.py.
    """
    if Estimator is AutoencoderClassifier:
        autoencoder = AutoencoderTransformer(
            n_components=2, hidden_layer_sizes=(8,), max_iter=2, random_state=0
        )
        return Estimator(
            autoencoder,
            unlabeled_label=None,
            learning_rate_init=1e-2,
            batch_size=32,
            max_iter=10,
            random_state=0,
        )
    return Estimator(**FAST_PARAMS)


@parametrize_with_checks(
    [_fast(Estimator) for Estimator in ESTIMATORS],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_estimator(estimator, check):
    """Check that the estimator passes scikit-learn's compatibility checks."""
    with warnings.catch_warnings():
        # 5 epochs never converge; the checks are about the API, not training.
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
