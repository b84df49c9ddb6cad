"""scikit-learn's own estimator checks, on every public estimator."""

# SPDX-License-Identifier: BSD-3-Clause

import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import parametrize_with_checks

from tests.conftest import ESTIMATORS, FAST_PARAMS

# Each entry needs a reason and an issue link; there are none.
EXPECTED_FAILED_CHECKS: dict = {}


@parametrize_with_checks(
    [Estimator(**FAST_PARAMS) for Estimator in ESTIMATORS],
    expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS,
)
def test_sklearn_compatible_estimator(estimator, check):
    """Check that the estimator passes scikit-learn's compatibility checks."""
    with warnings.catch_warnings():
        # 5 epochs never converge; the checks are about the API, not training.
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)
