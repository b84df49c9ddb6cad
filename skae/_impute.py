"""AutoencoderImputer: missing values filled by a masked denoising autoencoder."""

# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import KW_ONLY, dataclass
from numbers import Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

from skae._autoencoder_base import _BaseAutoencoder
from skae._compat import Interval, StrOptions, _check_feature_names_in
from skae._engine.callbacks import plain_module
from skae._modules.masked import MaskedAutoencoder

# The Gaussian fill is fitted on at most this many randomly chosen rows: its
# EM steps cost rows * features * factors**2 each, and a covariance of at
# most 64 factors needs no more.
FILL_ROWS = 2_000


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

    early_stopping : bool, default=False
        Whether to hold out `validation_fraction` of the training rows and
        stop when the error of filling in their hidden values (see
        `mask_fraction`) stops improving, restoring the best weights seen.
        `partial_fit` does not support it.

    validation_fraction : float, default=0.1
        Proportion of the training data held out for early stopping. Only
        used if `early_stopping` is True.

    n_iter_no_change : int, default=30
        Number of epochs without an improvement of at least `tol` before
        training stops. Three times the other kinds' 10: the values hidden
        change at every epoch, which makes the imputer's training loss noisy,
        and with 10 epochs fits on digits and on small tables stopped long
        before the filled values stopped improving.

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
        are turned into NaN before training and imputation.

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
        as the data), fitted by EM on the observed values of at most 2,000
        training rows [2]_; with ``init="pca"`` the network then starts by
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

    indicator_features_ : ndarray of shape (n_indicator_features,) or None
        Indices of the features whose missing values are marked in the
        appended indicator columns (those with missing values at fit), when
        `add_indicator` is True; else None.

    net_ : skorch.NeuralNet
        The fitted skorch net that holds the module, optimizer and history.

    module_ : torch.nn.Module
        The fitted torch module, in eval mode.

    encoder_ : torch.nn.Module
        The fitted encoder. It reads ``2 * n_features_in_`` columns: the
        standardised row with its missing values filled (see
        `initial_strategy`), then its missing-value mask.

    decoder_ : torch.nn.Module
        The fitted decoder. Its first ``n_features_in_`` outputs are the
        standardised values; the others are not trained.

    n_iter_ : int
        Number of whole epochs trained.

    loss_curve_ : list of float
        Training loss at the end of each epoch: the mean squared error on the
        observed values, in standardised units.

    validation_scores_ : list of float or None
        Negative validation loss at each epoch when `early_stopping` is True,
        else None: the mean squared error, in standardised units, of filling
        in the hidden values of the validation rows.

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

    Notes
    -----
    The loss is the mean squared error over the observed values of each
    batch (hidden or not), in standardised units; hidden and missing values
    enter the encoder filled (see `initial_strategy`), flagged by the mask. The
    network is twice as wide at its input as the data, and its decoder
    reconstructs the mask's columns too, unused. `score_samples` is the
    negative of that error per row, without masking. The standardisation uses
    at most 10,000 randomly chosen training rows.

    Early stopping (``early_stopping=True``, with a patience such as
    ``n_iter_no_change=50``) usually fills in better than the default plateau
    rule: it keeps the weights that filled in held-out values best, where
    the training loss goes on falling as the network learns the training
    rows. It is not the default because `partial_fit` does not support it.

    Training runs in float32 on `device`; `transform` returns the dtype of
    its input (float32 or float64). With an int `random_state`, two fits on
    the CPU give identical results.

    References
    ----------
    .. [1] L. Gondara and K. Wang, "MIDA: Multiple imputation using denoising
       autoencoders", PAKDD, 2018.
    .. [2] A. Ilin and T. Raiko, "Practical approaches to principal component
       analysis in the presence of missing values", JMLR, 2010.

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
    n_iter_no_change: int = 30
    missing_values: float = np.nan
    mask_fraction: float = 0.2
    scaling: str = "feature"
    initial_strategy: str = "auto"
    add_indicator: bool = False
    keep_empty_features: bool = False

    _parameter_constraints = {
        **_BaseAutoencoder._parameter_constraints,
        "missing_values": [Real],
        "mask_fraction": [Interval(Real, 0, 1, closed="left")],
        "scaling": [StrOptions({"feature", "global"})],
        "initial_strategy": [StrOptions({"auto", "gaussian", "mean"})],
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
    }

    _network_params = (
        *_BaseAutoencoder._network_params,
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
        X_imputed : ndarray of shape (n_samples, n_features_out)
            `X` with its missing values filled, in its dtype; features empty
            at fit are dropped (or filled with 0 with `keep_empty_features`)
            and the indicator columns appended with `add_indicator`.
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        missing = np.isnan(X)
        X_imputed = X.copy()
        rows = np.flatnonzero(missing.any(axis=1))
        if len(rows):
            X_rows = X[rows]
            predicted = self._predict(self._reconstruct, X_rows)
            X_imputed[rows] = np.where(missing[rows], predicted, X_rows)
        if self.keep_empty_features:
            X_imputed[:, self.empty_features_] = 0
        else:
            X_imputed = X_imputed[:, ~self.empty_features_]
        if self.indicator_features_ is not None:
            indicator = missing[:, self.indicator_features_].astype(X.dtype)
            X_imputed = np.hstack([X_imputed, indicator])
        return X_imputed

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
        """Validate `X` with missing values as NaN; at a first fit, note the
        empty features and fit the indicator."""
        if sp.issparse(X):
            raise TypeError(
                "AutoencoderImputer needs dense data; a sparse matrix was "
                "passed. Convert it with X.toarray() if it fits in memory."
            )
        X = super()._validate_input(X, reset=reset, fitting=fitting)
        if not np.isnan(self.missing_values):
            X = np.where(X == self.missing_values, np.nan, X)
        if fitting and reset:
            missing = np.isnan(X)
            self.empty_features_ = missing.all(axis=0)
            self.indicator_features_ = None
            if self.add_indicator:
                self.indicator_features_ = np.flatnonzero(missing.any(axis=0))
        return X

    def _build_module(self, n_features):
        """The network, on the row and its mask, behind the masking wrapper."""
        inner = self._build_network(2 * n_features, self.n_components)
        strategy = self.initial_strategy
        if strategy == "auto":
            local = getattr(inner, "local_structure", False)
            strategy = "mean" if local else "gaussian"
        n_factors = min(self.n_components, n_features) if strategy == "gaussian" else 0
        return MaskedAutoencoder(
            inner,
            n_features,
            n_factors=n_factors,
            validation_mask_fraction=self.mask_fraction,
        )

    def _loss(self, module, output, X, *, training):
        """Mean squared error on the observed values of the clean batch `X`,
        standardised; in validation, on the values hidden from the network
        only."""
        X_reconstructed, _, missing = output
        # From the clean batch: the module read it with values hidden, and
        # those are the values it must learn to fill in.
        target = module.standardize(X)
        scored = ~torch.isnan(target)
        if not training:
            scored &= missing
        squared = torch.where(scored, X_reconstructed - target, 0.0).square()
        return squared.sum() / scored.sum().clamp_min(1)

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
        with torch.device("meta"):
            self._build_network(n_features, self.n_components)
        super()._check_params(n_features)
        if self.early_stopping and self.mask_fraction == 0:
            raise ValueError(
                "early_stopping=True scores how well the hidden values of the "
                "validation rows are filled in, so it needs mask_fraction > 0."
            )

    def _update_training_params(self):
        """Pass the changeable parameters on, the validation mask's fraction too."""
        super()._update_training_params()
        plain_module(self.net_).validation_mask_fraction = self.mask_fraction

    def _unit_range_needed(self):
        """Any range: the imputer standardises its input."""
        return None

    def _init_module(self, X):
        """Set the standardisation and the fill from a sample, then start
        from PCA of the filled sample."""
        module = plain_module(self.net_)
        sample = self._init_sample(X)
        module.set_scaling(sample, per_feature=self.scaling == "feature")
        if module.fill.n_factors:
            rows = self._seeded_rows(len(sample), FILL_ROWS)
            module.fit_fill(sample[torch.as_tensor(rows, device=sample.device)])
        if self.init == "pca":
            self._init_from_pca(module.filled(sample))

    @staticmethod
    def _reconstruct(module, X):
        """Reconstructions of a batch with gaps, in the data's units."""
        return module.decode(module.encode(X))

    @staticmethod
    def _negative_errors(module, X):
        """Per-row negative mean squared error on the observed values."""
        target = module.standardize(X)
        observed = ~torch.isnan(target)
        X_reconstructed = module.decode_standardized(module.encode(X))
        squared = torch.where(observed, X_reconstructed - target, 0.0).square()
        return -squared.sum(dim=1) / observed.sum(dim=1).clamp_min(1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
