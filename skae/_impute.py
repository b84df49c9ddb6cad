"""AutoencoderImputer: missing values filled by a masked denoising autoencoder."""

# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import KW_ONLY, dataclass
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from skae._autoencoder_base import _BaseAutoencoder, is_large
from skae._categories import (
    categorical_mask,
    decode_categories,
    encode_categories,
)
from skae._compat import (
    Interval,
    StrOptions,
    _check_feature_names_in,
    _get_output_config,
)
from skae._engine.callbacks import plain_module
from skae._engine.runtime import make_seed
from skae._modules.masked import MaskedAutoencoder

# The Gaussian fill is fitted by FILL_STEPS steps of EM on at most FILL_ROWS
# randomly chosen rows: a step costs rows * slots * factors**2, and a
# covariance of at most 64 factors needs no more. Where that would cost more
# than FILL_WORK (wide data: over 256 slots with 64 factors), on at most
# FILL_ROWS_WIDE rows by FILL_STEPS_WIDE steps: on Fashion-MNIST's 784 pixels
# with 64 factors, these filled as well after training (RMSE 0.1156 against
# 0.1158 with 10 steps, on 6,000 images), in a fraction of the time (the EM
# took 93 s on 2,000 rows by 30 steps, under load).
FILL_ROWS, FILL_STEPS = 2_000, 30
FILL_ROWS_WIDE, FILL_STEPS_WIDE = 1_000, 5
FILL_WORK = FILL_ROWS * FILL_STEPS * 256 * 64**2

# What "auto" patience means: large data (see the base's LARGE_DATA_VALUES)
# hold out validation rows and stop AUTO_PATIENCE[True] epochs after the error
# of filling in their hidden values stopped improving; smaller data train on
# every row and stop on a plateau of the training loss, after
# AUTO_PATIENCE[False] epochs. An epoch of a million values is tens of
# optimizer steps and its validation loss is smooth; on a few hundred rows,
# an epoch is one or two steps and its losses are noisy (see
# n_iter_no_change).
AUTO_PATIENCE = {True: 3, False: 30}


# With sample_posterior, the missing values of a row are drawn in at most
# this many rounds, each given the values drawn before (see
# MaskedAutoencoder.draw): a round per value for rows of few missing values,
# the chain rule exactly; batches of values for rows of many (images).
DRAW_ROUNDS = 16


def _never(estimator):
    """An imputer has no inverse transform."""
    return False


@dataclass(eq=False, repr=False)
class AutoencoderImputer(_BaseAutoencoder):
    """Imputation of missing values with a masked denoising autoencoder.

    The autoencoder is trained to reconstruct the observed values of each row
    from the row with a random fraction of them hidden (`mask_fraction` on
    average), as in MIDA [1]_ and masked-autoencoder pretraining; missing
    values are never targets. The encoder reads each row with its missing
    values filled by a Gaussian model (their conditional mean, see
    `initial_strategy`) together with the row's missing-value mask, so it
    knows which values it has to fill in. `transform` then fills each missing
    value with the network's reconstruction of its row and leaves the
    observed values untouched, bit for bit. Each feature is standardised
    inside (centred on the mean of its observed values and divided by their
    standard deviation, or all by one, see `scaling`), so raw tabular data
    works. The API follows :mod:`sklearn.impute`.

    Read more in the :ref:`User Guide <imputer>`.

    Parameters
    ----------
    n_components : int, default=64
        Size of the code. Codes wider than the input are fine: masking keeps
        the network from copying its input. Wide data (images of hundreds of
        pixels) needs a wide code; small tables fill in as well with 16.

    alpha : float, default=0.0
        L2 penalty (weight decay) on the network's weights, passed to the Adam
        optimizer as ``weight_decay``.

    batch_size : int, default=256
        Size of the minibatches. Fewer samples than `batch_size` make a single,
        smaller batch.

    learning_rate_init : float, default=1e-3
        Learning rate of the Adam optimizer.

    max_iter : int, default=300
        Maximum number of epochs (passes over the training data), as in
        :class:`~sklearn.neural_network.MLPRegressor`. Training stops sooner
        when the loss stops improving (see `tol` and `n_iter_no_change`).
        Higher than the other kinds' 200: with `n_iter_no_change=30`, fits on
        small tables run up to about 200 epochs before their plateau.

    early_stopping : bool or "auto", default="auto"
        Whether to hold out `validation_fraction` of the training rows and
        stop when the error of filling in their hidden values (see
        `mask_fraction`) stops improving: the error of the averaged weights
        (see `average_decay`), which training ends on; with
        ``average_decay=0``, of the current weights, and the best epoch's are
        restored. ``"auto"`` does so in `fit` on data of at least 1,000,000
        values (rows times features), as every autoencoder does and as
        :class:`~sklearn.ensemble.HistGradientBoostingRegressor`'s ``"auto"``
        does on large data: there the training loss goes on falling as the
        network learns the training rows long after the filled values stopped
        improving (on 6,000 Fashion-MNIST images, by about 1% an epoch after
        the 15 epochs that filled best). `do_early_stopping_` says what it
        did.
        `partial_fit` does not support early stopping (``"auto"`` trains
        without).

    validation_fraction : float, default=0.1
        Proportion of the training data held out for early stopping. Only
        used with early stopping.

    n_iter_no_change : int or "auto", default="auto"
        Number of epochs without an improvement of at least `tol` before
        training stops. ``"auto"`` is 30 on data of fewer than 1,000,000
        values, three times the other kinds' 10: the values hidden change at
        every epoch, which makes the imputer's losses noisy on a few hundred
        rows (an epoch of one or two batches), and with 10 epochs fits on
        digits and on small tables stopped long before the filled values
        stopped improving. On larger data it is 3: an epoch is then tens of
        batches, and the validation loss of many held-out values is smooth
        (on 6,000 Fashion-MNIST images, 3 epochs instead of 5 filled as well
        with the MLP and 3% worse with ``image_shape``, in 10 to 30% less
        time).

    tol : float, default=1e-2
        Relative improvement of the monitored loss (validation loss with
        `early_stopping`, training loss otherwise) below which an epoch counts
        as no improvement: an epoch improves when its loss is lower than the
        loss of the last improving epoch by more than `tol` times that loss's
        magnitude. With the default, training stops once the loss has fallen
        by less than 1% over `n_iter_no_change` epochs.

    shuffle : bool, default=True
        Whether to shuffle the samples in each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, the validation split and the
        masking. Pass an int for reproducible results across calls. ``None``
        draws a fresh seed from the operating system. Global numpy, python and
        torch RNG states are never changed.
        See :term:`Glossary <random_state>`.

    device : str, default="cpu"
        Torch device to train and infer on: ``"cpu"``, ``"cuda"``,
        ``"cuda:<index>"``, or ``"auto"`` for a GPU when one is available.

    precision : {"float32", "bfloat16"}, default="float32"
        Precision of the network's matrix products, in training and in
        `transform`. ``"bfloat16"`` runs them in bfloat16 under
        :func:`torch.autocast` (weights, gradients, the optimizer and the
        loss stay in float32): on CPUs with bfloat16 units (Intel AMX,
        recent ARM) and on GPUs several times faster, at a small cost in
        precision measured by ``benchmarks/bench_speed.py``. float64 input to
        `transform` is always computed in float64.

    verbose : int, default=0
        0 is silent; 1 or more prints a per-epoch log and a progress bar
        (through skorch).

    callbacks : list of skorch callbacks or None, default=None
        Extra :mod:`skorch.callbacks` (or ``(name, callback)`` tuples) for
        power users, e.g. a learning-rate scheduler or checkpointing. They are
        copied at `fit`, so the objects passed here are left untouched.

    network : {"auto", "mlp", "conv"} or callable, default="auto"
        The network trained. ``"mlp"`` is an MLP encoder of
        `hidden_layer_sizes` and its mirror as the decoder; ``"conv"`` is that
        MLP whose decoded images convolutions correct (`image_shape`,
        `conv_channels`); ``"auto"`` is ``"conv"`` when `image_shape` is set
        and ``"mlp"`` otherwise. A callable (a :class:`torch.nn.Module`
        subclass or a function) is a network of your own: skae calls
        ``network(n_features=..., n_components=..., **network_params)`` once
        it knows the data's width, and trains the ``encoder`` and ``decoder``
        of the module it returns. See :ref:`own-network`.

    network_params : dict or None, default=None
        Keyword arguments for `network`, as `kernel_params` in
        :class:`~sklearn.decomposition.KernelPCA`; search them with a grid of
        dicts (``{"network_params": [{"width": 32}, {"width": 64}]}``). For a
        family, they are added to (or override) the parameters it reads.

    hidden_layer_sizes : int or tuple of int, default=(512, 256)
        Widths of the encoder's hidden layers, from the input inward. The
        decoder mirrors them. ``()`` gives a single linear map each way.

    activation : {"relu", "tanh", "sigmoid", "elu", "gelu", "identity"}, \
            default="gelu"
        Activation after every hidden layer.

    image_shape : tuple of int or None, default=None
        Shape of each sample as an image, ``(height, width)`` or
        ``(channels, height, width)``, for the convolutional network
        (``network="conv"``, which ``"auto"`` picks when `image_shape` is
        set): the MLP of `hidden_layer_sizes`, whose decoded images
        convolutions then correct (`conv_channels`). Rows stay flat: `X` has
        one image per row, flattened in C-order (as ``images.reshape(n_samples,
        -1)`` gives), so the estimator works after a scaler and in pipelines
        as before. ``None`` uses the MLP alone.

    conv_channels : tuple of int, default=(32,)
        Channels of the convolutional stages, from the image inward; each
        halves the height and width (3x3 kernels, stride 2). Only used when
        `image_shape` is set.

    init : {"pca", "random"}, default="pca"
        How the network starts. ``"pca"`` starts it from PCA of a sample of the
        standardised training data (missing values at the mean), with the
        nonlinear corrections at zero; ``"random"`` is a plain MLP with
        PyTorch's default random initialisation.

    average_decay : float, default=0.99
        Training ends on an exponential moving average of the weights over
        about the last ``1 / (1 - average_decay)`` steps, not on the last
        weights (which 0 keeps). See :ref:`weight-averaging`.

    warm_start : bool, default=False
        When True, a further call to `fit` continues training the current
        network instead of starting afresh. See :term:`the Glossary
        <warm_start>`.

    accelerator : accelerate.Accelerator or None, default=None
        Train through Hugging Face accelerate (skorch's
        :class:`~skorch.hf.AccelerateMixin`), e.g. on several GPUs. It places
        the network, so `device` is ignored. :func:`skae.save` needs
        ``accelerator=None``.

    missing_values : int or float, default=np.nan
        The placeholder for the missing values, as in
        :class:`~sklearn.impute.SimpleImputer`. Other placeholders than NaN
        are turned into NaN before training and imputation. In categorical
        features, None, NaN and pandas' missing values are missing too.

    categorical_features : array-like of {bool, int, str} or "from_dtype" \
            or None, default="from_dtype"
        The categorical features, as in
        :class:`~sklearn.ensemble.HistGradientBoostingRegressor`: a boolean
        mask, indices, feature names (for data with feature names), or
        ``"from_dtype"``, the columns of a pandas DataFrame of dtype
        ``"category"`` (none for other inputs); None for none. Each
        categorical feature is imputed with one of its categories (those of
        its pandas dtype, else the values observed at fit, sorted as
        :class:`~sklearn.preprocessing.OrdinalEncoder` sorts them): the
        network reads its one-hot encoding and predicts its categories'
        probabilities (a softmax head, trained by cross-entropy on the
        observed categories). Categories may be strings or numbers; a
        category not seen at fit raises an error at `transform`. See
        `transform` for what it returns.

    sample_posterior : bool, default=False
        Whether `transform` draws each missing value from the model's
        predictive distribution given the row's observed values, instead of
        filling it with the likeliest value (the mean of a number, the most
        probable category), as :class:`~sklearn.impute.IterativeImputer`'s
        parameter of that name. The network then also learns, for each
        number it fills, the variance of a Gaussian about its value, from the
        squared errors of the values it hides (their negative
        log-likelihood); categories are drawn from the softmax. Missing
        values of a row are drawn one after another, each given the row's
        observed and already drawn values (in batches on wide rows, see
        Notes), so that they vary together as the data do. Draws are seeded
        by `random_state`: an int gives the same draws at every call,
        imputers with different seeds give different draws (multiple
        imputation [3]_, whose analyses need the spread of the imputed
        values, not only their best guesses).

    mask_fraction : float, default=0.2
        Average fraction of the observed values hidden (set missing) at random
        in each training batch; the network learns to fill them in. Each row
        hides a fraction drawn uniformly between ``2 * mask_fraction - 1`` (or
        0) and ``2 * mask_fraction`` (or 1), so that the network sees rows with
        few and with many gaps, whatever the data's own share. With
        `early_stopping`, `mask_fraction` of the validation rows' values are
        hidden, once for all epochs, and the validation loss is the error of
        filling them in.

    scaling : {"feature", "global"}, default="feature"
        How the features are scaled inside, after centring each on the mean
        of its observed values. ``"feature"`` divides each feature by its own
        standard deviation, so that features in different units count alike
        (tabular data). ``"global"`` divides all features by one standard
        deviation, so that the loss is the squared error in the data's own
        units: for features in the same units, such as the pixels of images,
        where dividing rarely-varying pixels by their small deviations would
        magnify them.

    initial_strategy : {"auto", "gaussian", "mean"}, default="auto"
        How missing values are filled before the network reads them, as
        :class:`~sklearn.impute.IterativeImputer`'s parameter of that name.
        ``"gaussian"`` fills each with its mean given the row's observed
        values under probabilistic PCA of ``min(n_components, n_features)``
        factors (a full-covariance Gaussian when the code is at least as wide
        as the data), fitted by 30 steps of EM on the observed values of at
        most 2,000 training rows [2]_ (5 steps on at most 1,000 rows where
        that would cost more than for 256 features and 64 factors: on
        Fashion-MNIST's 784 pixels, a small part of the time and as good a fill
        after training); with ``init="pca"`` the network then starts by
        returning that fill, and training learns what it misses. ``"mean"``
        fills with the feature's mean. ``"auto"`` is ``"mean"`` for a network
        that models neighbouring features itself (the convolutional one, as
        `image_shape` selects) and ``"gaussian"`` otherwise: the fill costs
        ``batch_size * n_features * n_factors**2`` for each batch, and on
        Fashion-MNIST it filled worse alone than the convolutional network
        from the mean.

    add_indicator : bool, default=False
        Whether to append binary columns that mark the missing values of the
        features that had some at fit, as
        :class:`~sklearn.impute.MissingIndicator` does.

    keep_empty_features : bool, default=False
        Whether features with no observed value at fit are kept in the
        output, filled with 0, instead of being dropped, as in
        :class:`~sklearn.impute.SimpleImputer`.

    Attributes
    ----------
    n_components_ : int
        Size of the code of the fitted network.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    empty_features_ : ndarray of shape (`n_features_in_`,)
        Whether each feature had no observed value at fit.

    is_categorical_ : ndarray of shape (`n_features_in_`,) or None
        Whether each feature is categorical (see `categorical_features`);
        None when none is.

    categories_ : list of ndarray or None
        The categories of each categorical feature, in the order of the
        features, as :class:`~sklearn.preprocessing.OrdinalEncoder`'s
        attribute; None when no feature is categorical.

    indicator_features_ : ndarray of shape (n_indicator_features,) or None
        Indices of the features whose missing values are marked in the
        appended indicator columns (those with missing values at fit), when
        `add_indicator` is True; else None.

    net_ : skorch.NeuralNet
        The fitted skorch net that holds the module, optimizer and history.

    module_ : torch.nn.Module
        The fitted torch module, in eval mode.

    encoder_ : torch.nn.Module
        The fitted encoder. It reads twice as many columns as the row has
        slots (a slot per number, a slot per category of each categorical
        feature: ``n_features_in_`` without them): the standardised row with
        its missing values filled (see `initial_strategy`), then its
        missing-value mask.

    decoder_ : torch.nn.Module
        The fitted decoder. Its first outputs, one per slot, are the
        standardised values and the categories' logits; the others are the
        log-variances of `sample_posterior`, trained only with it.

    n_iter_ : int
        Number of whole epochs trained.

    do_early_stopping_ : bool
        Whether the last training call held out rows and stopped early (see
        `early_stopping`).

    loss_curve_ : list of float
        Training loss at the end of each epoch: the mean squared error on the
        observed values, in standardised units (and the cross-entropy of the
        observed categories; with `sample_posterior`, plus the negative
        log-likelihood of the hidden values).

    validation_scores_ : list of float or None
        Negative validation loss at each epoch with early stopping (see
        `do_early_stopping_`), else None: the mean squared error, in
        standardised units, of filling in the hidden values of the
        validation rows (with `sample_posterior`, plus their negative
        log-likelihood).

    best_validation_score_ : float or None
        Best of `validation_scores_`, else None.

    best_loss_ : float or None
        Lowest monitored loss. None if Ctrl-C interrupted the first epoch.

    reconstruction_error_ : float
        Mean squared error on the observed training values, in standardised
        units, after fitting.

    See Also
    --------
    sklearn.impute.SimpleImputer : Imputation by a column statistic.
    sklearn.impute.KNNImputer : Imputation from the nearest rows.
    sklearn.impute.IterativeImputer : Imputation by regressing each feature
        on the others in turn.
    DenoisingAutoencoder : The masking autoencoder, as a transformer to codes.
    sklearn.preprocessing.OrdinalEncoder : The codes of the categories.

    Notes
    -----
    The loss is the mean over the observed values of each batch (hidden or
    not) of their squared error in standardised units, and of the
    cross-entropy of the categories; hidden and missing values enter the
    encoder filled (see `initial_strategy`), flagged by the mask. Each
    categorical feature enters as its one-hot encoding (its slots),
    standardised as numbers are. The network is twice as wide at its input
    as the data's slots, and its decoder's outputs for the mask's columns
    are the predictive log-variances of `sample_posterior`. `score_samples`
    is the negative of that loss per row, without masking. The
    standardisation uses at most 10,000 randomly chosen training rows.

    Input with categorical features may be a DataFrame (pandas
    categoricals, strings or numbers), a numeric array (categories coded as
    numbers) or a numpy object array (categorical features given by index or
    mask, None or NaN for missing values, the other features convertible to
    float). `transform` returns a float array in the input's dtype when
    every category is a number, else an object array of numbers and
    categories; with ``set_output(transform="pandas")``, a DataFrame whose
    categorical features are pandas categoricals of the fitted categories.

    With `sample_posterior`, the missing values of a row are drawn in at
    most 16 rounds, each of a random share of them given the values drawn
    before: one value a round on rows with at most 16 missing values (a
    draw from the joint distribution by the chain rule), and on wider rows
    (images) several at once, each of those given the row but not each
    other. Each round is a pass of the network.

    Early stopping (``early_stopping=True``, with a patience such as
    ``n_iter_no_change=50``) usually fills in better than the plateau rule on
    small tables too: it stops when held-out values are filled in best,
    where the training loss goes on falling as the network learns the
    training rows. ``"auto"`` leaves it off on data of fewer than 1,000,000
    values, where it holds out a tenth of few rows and its patience costs
    more epochs than the plateau rule's.

    Training runs in float32 on `device`; `transform` returns the dtype of
    its input (float32 or float64). With an int `random_state`, two fits on
    the CPU give identical results.

    References
    ----------
    .. [1] L. Gondara and K. Wang, "MIDA: Multiple imputation using denoising
       autoencoders", PAKDD, 2018.
    .. [2] A. Ilin and T. Raiko, "Practical approaches to principal component
       analysis in the presence of missing values", JMLR, 2010.
    .. [3] D. B. Rubin, "Multiple imputation for nonresponse in surveys",
       Wiley, 1987.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from skae import AutoencoderImputer
    >>> X = load_digits().data[:500] / 16
    >>> X_missing = X.copy()
    >>> X_missing[np.random.RandomState(0).rand(*X.shape) < 0.2] = np.nan
    >>> imputer = AutoencoderImputer(max_iter=5, random_state=0)
    >>> X_filled = imputer.fit_transform(X_missing)
    >>> X_filled.shape, bool(np.isnan(X_filled).any())
    ((500, 64), False)
    """

    n_components: int = 64
    _: KW_ONLY
    max_iter: int = 300
    n_iter_no_change: Any = "auto"
    missing_values: float = np.nan
    categorical_features: Any = "from_dtype"
    sample_posterior: bool = False
    mask_fraction: float = 0.2
    scaling: str = "feature"
    initial_strategy: str = "auto"
    add_indicator: bool = False
    keep_empty_features: bool = False

    _parameter_constraints = {
        **_BaseAutoencoder._parameter_constraints,
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            StrOptions({"auto"}),
        ],
        "missing_values": [Real],
        "categorical_features": ["array-like", StrOptions({"from_dtype"}), None],
        "sample_posterior": ["boolean"],
        "mask_fraction": [Interval(Real, 0, 1, closed="left")],
        "scaling": [StrOptions({"feature", "global"})],
        "initial_strategy": [StrOptions({"auto", "gaussian", "mean"})],
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
    }

    _network_params = (
        *_BaseAutoencoder._network_params,
        "categorical_features",
        "sample_posterior",
        "scaling",
        "initial_strategy",
    )

    _missing_values_allowed = True

    def transform(self, X):
        """Fill the missing values of `X`; leave its observed values as they are.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data with missing values.

        Returns
        -------
        X_imputed : ndarray or DataFrame of shape (n_samples, n_features_out)
            `X` with its missing values filled, in its dtype, or an object
            array when a categorical feature has categories that are not
            numbers; with ``set_output(transform="pandas")``, a DataFrame
            whose categorical features are pandas categoricals. Features
            empty at fit are dropped (or filled with 0 with
            `keep_empty_features`) and the indicator columns appended with
            `add_indicator`. With `sample_posterior`, missing values are
            drawn, not predicted.
        """
        check_is_fitted(self)
        X_in = X
        X = self._validate_input(X, reset=False)
        missing = np.isnan(X)
        X_imputed = X.copy()
        rows = np.flatnonzero(missing.any(axis=1))
        if len(rows):
            X_rows = X[rows]
            fill = self._draw_function() if self.sample_posterior else self._reconstruct
            predicted = self._predict(fill, X_rows)
            X_imputed[rows] = np.where(missing[rows], predicted, X_rows)
        if self.keep_empty_features:
            X_imputed[:, self.empty_features_] = 0
        else:
            X_imputed = X_imputed[:, ~self.empty_features_]
        indicator = None
        if self.indicator_features_ is not None:
            indicator = missing[:, self.indicator_features_].astype(X.dtype)
        return self._output(X_imputed, indicator, X_in)

    @available_if(_never)
    def inverse_transform(self, X):
        """Not available: an imputer has no inverse transform.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features_out)
            Ignored.

        Returns
        -------
        X_original : ndarray
            Never returned: the method is hidden (``hasattr`` is False).
        """

    def get_feature_names_out(self, input_features=None):
        """Get output feature names for transformation.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input features, as for any scikit-learn transformer.

        Returns
        -------
        feature_names_out : ndarray of str objects
            The input feature names (less the empty ones unless
            `keep_empty_features`), then the indicator's.
        """
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        kept = names if self.keep_empty_features else names[~self.empty_features_]
        if self.indicator_features_ is None:
            return kept
        indicator = [f"missingindicator_{name}" for name in names]
        indicator = np.asarray(indicator, dtype=object)[self.indicator_features_]
        return np.concatenate([kept, indicator])

    def _validate_input(self, X, *, reset, fitting=False):
        """Validate `X` with missing values as NaN and categories as codes; at
        a first fit, find the categorical features and their categories, note
        the empty features and fit the indicator."""
        if sp.issparse(X):
            raise TypeError(
                "AutoencoderImputer needs dense data; a sparse matrix was "
                "passed. Convert it with X.toarray() if it fits in memory."
            )
        if fitting and reset:
            self.is_categorical_ = categorical_mask(X, self.categorical_features)
            self.categories_ = None
        categorical = getattr(self, "is_categorical_", None)
        if categorical is not None and np.shape(X)[1:] == categorical.shape:
            # (Another width: validate_data below says what was expected.)
            X = self._encode_categories(X, fit=fitting and reset)
        X = super()._validate_input(X, reset=reset, fitting=fitting)
        if not np.isnan(self.missing_values):
            placeholder = X == self.missing_values
            if categorical is not None:  # codes, their placeholders already NaN
                placeholder[:, categorical] = False
            X = np.where(placeholder, np.nan, X)
        if fitting and reset:
            missing = np.isnan(X)
            self.empty_features_ = missing.all(axis=0)
            self.indicator_features_ = None
            if self.add_indicator:
                self.indicator_features_ = np.flatnonzero(missing.any(axis=0))
        return X

    def _encode_categories(self, X, *, fit):
        """`X` with its categorical features as codes (see
        :func:`~skae._categories.encode_categories`); at fit, set
        `categories_`."""
        X, categories = encode_categories(
            X,
            self.is_categorical_,
            None if fit else self.categories_,
            self.missing_values,
        )
        if fit:
            self.categories_ = categories
        return X

    def _output(self, X_imputed, indicator, X_in):
        """The filled codes as their categories, with the indicator columns,
        in the output's container (see `transform`)."""
        pieces = [X_imputed] if indicator is None else [X_imputed, indicator]
        X_out = np.hstack(pieces) if len(pieces) > 1 else X_imputed
        categorical = getattr(self, "is_categorical_", None)
        if categorical is None:
            return X_out
        kept = self.keep_empty_features | ~self.empty_features_
        categories = {
            int(np.sum(kept[:j])): values
            for j, values in zip(
                np.flatnonzero(categorical), self.categories_, strict=True
            )
            if kept[j] and len(values)
        }
        if _get_output_config("transform", self)["dense"] != "pandas":
            return decode_categories(X_out, categories)
        index = X_in.index if isinstance(X_in, pd.DataFrame) else None
        frame = pd.DataFrame(X_out, index=index)
        frame.columns = self.get_feature_names_out()
        return decode_categories(frame, categories)

    def _n_categories(self, n_features):
        """The number of categories of each feature: 0 for a number (and for a
        categorical feature without any, empty at fit)."""
        counts = np.zeros(n_features, dtype=int)
        categorical = getattr(self, "is_categorical_", None)
        if categorical is not None:
            counts[categorical] = [len(c) for c in self.categories_]
        return counts.tolist()

    def _build_module(self, n_features):
        """The network, on the row's slots and their mask, behind the masking
        wrapper."""
        n_categories = self._n_categories(n_features)
        n_slots = sum(max(k, 1) for k in n_categories)
        inner = self._build_network(2 * n_slots, self.n_components)
        strategy = self.initial_strategy
        if strategy == "auto":
            local = getattr(inner, "local_structure", False)
            strategy = "mean" if local else "gaussian"
        n_factors = min(self.n_components, n_slots) if strategy == "gaussian" else 0
        return MaskedAutoencoder(
            inner,
            n_features,
            n_factors=n_factors,
            validation_mask_fraction=self.mask_fraction,
            n_categories=n_categories,
        )

    def _loss(self, module, output, X, *, training):
        """The mean loss of the observed values of the clean batch `X` (the
        squared error of numbers, standardised, and the cross-entropy of
        categories); in validation, of the values hidden from the network
        only. With `sample_posterior`, plus the predictive distribution's
        negative log-likelihood of the hidden numbers."""
        values, _, missing, log_variance = output
        target = module.targets(X)
        observed = ~torch.isnan(target)
        hidden = observed & missing
        scored = observed if training else hidden
        losses = module.entry_losses(values, target, scored)
        loss = losses.sum() / scored.sum().clamp_min(1)
        if not self.sample_posterior:
            return loss
        variance = module.variance_losses(values, log_variance, target, hidden)
        variance = variance.sum() / hidden.sum().clamp_min(1)
        return {"loss": loss + variance, "variance": variance}

    def _corrupt(self, X):
        """Hide random values (set them to NaN), a random fraction of each row.

        With one fraction for every row, rows of many features would all have
        nearly the same share of gaps in training, the data's plus the hidden,
        and rows with only the data's own gaps would be unlike any seen.
        """
        low = max(0.0, 2 * self.mask_fraction - 1)
        high = min(1.0, 2 * self.mask_fraction)
        fractions = low + (high - low) * torch.rand_like(X[:, :1])
        return X.masked_fill(torch.rand_like(X) < fractions, float("nan"))

    def _check_params(self, n_features):
        """Also check that the network fits the data's rows alone (so that an
        error names their features, not the network's doubled input), and
        that early stopping has hidden values to score."""
        n_slots = sum(max(k, 1) for k in self._n_categories(n_features))
        try:
            with torch.device("meta"):
                self._build_network(n_slots, self.n_components)
        except ValueError as exc:
            if n_slots == n_features:
                raise
            raise ValueError(
                f"{exc} With categorical features, the network reads {n_slots} "
                f"columns, each category's one-hot column, not {n_features}."
            ) from exc
        super()._check_params(n_features)
        if self.early_stopping is True and self.mask_fraction == 0:
            raise ValueError(
                "early_stopping=True scores how well the hidden values of the "
                "validation rows are filled in, so it needs mask_fraction > 0."
            )

    def _update_training_params(self):
        """Pass the changeable parameters on, the validation mask's fraction too."""
        super()._update_training_params()
        plain_module(self.net_).validation_mask_fraction = self.mask_fraction

    def _settle_auto_params(self, X, *, partial):
        """Settle "auto" early stopping (see the base class) and patience
        from the size of `X`."""
        super()._settle_auto_params(X, partial=partial)
        patience = self.n_iter_no_change
        self._patience = AUTO_PATIENCE[is_large(X)] if patience == "auto" else patience

    def _can_stop_early(self):
        """Early stopping scores the filling in of hidden validation values."""
        return self.mask_fraction > 0

    def _stopping(self):
        """This training call's early stopping and patience, as settled."""
        early_stopping = super()._stopping()[0]
        return early_stopping, getattr(self, "_patience", AUTO_PATIENCE[False])

    def _unit_range_needed(self):
        """Any range: the imputer standardises its input."""
        return None

    def _init_module(self, X):
        """Set the standardisation and the fill from a sample, then start
        from PCA of the filled sample."""
        module = plain_module(self.net_)
        sample = self._init_sample(X)
        module.set_scaling(sample, per_feature=self.scaling == "feature")
        n_slots, n_factors = module.fill.components.shape
        if n_factors:
            n_rows, n_steps = FILL_ROWS, FILL_STEPS
            if n_rows * n_steps * n_slots * n_factors**2 > FILL_WORK:
                n_rows, n_steps = FILL_ROWS_WIDE, FILL_STEPS_WIDE
            rows = self._seeded_rows(len(sample), n_rows)
            rows = torch.as_tensor(rows, device=sample.device)
            module.fit_fill(sample[rows], n_iter=n_steps)
        if self.init == "pca":
            self._init_from_pca(module.filled(sample))

    def _draw_function(self):
        """``function(module, X_batch)`` that draws the missing values of a
        batch, from a generator seeded by `random_state` (see `transform`)."""
        seed = make_seed(self.random_state)
        generators = {}

        def draw(module, X):
            if X.device not in generators:
                generators[X.device] = torch.Generator(X.device).manual_seed(seed)
            n_rounds = min(DRAW_ROUNDS, int(torch.isnan(X).sum(dim=1).max()))
            return module.draw(X, generators[X.device], n_rounds=max(n_rounds, 1))

        return draw

    @staticmethod
    def _reconstruct(module, X):
        """Reconstructions of a batch with gaps, in the data's units."""
        return module.decode(module.encode(X))

    @staticmethod
    def _negative_errors(module, X):
        """Per-row negative mean loss on the observed values."""
        target = module.targets(X)
        observed = ~torch.isnan(target)
        values = module.decode_standardized(module.encode(X))
        losses = module.entry_losses(values, target, observed)
        return -losses.sum(dim=1) / observed.sum(dim=1).clamp_min(1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
