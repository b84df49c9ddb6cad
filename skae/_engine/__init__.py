"""The training engine: the skorch net, its data path, callbacks and runtime.

Nothing here knows of a particular estimator kind; the estimators in
:mod:`skae._neural_base` and :mod:`skae._autoencoder_base` build nets from these parts.
"""
