"""The training engine: the skorch net, its data path, callbacks and runtime.

Nothing here knows of a particular estimator kind; the estimators in
:mod:`skae._estimator` and :mod:`skae._base` build nets from these parts.
"""
