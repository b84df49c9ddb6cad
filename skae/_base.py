"""Shared base class of the skae autoencoders: validation, fit, transform, score."""

# SPDX-License-Identifier: BSD-3-Clause

import inspect
import math
import warnings
from functools import partial
from numbers import Integral

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from sklearn import get_config
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import assert_all_finite
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from skae._compat import HasMethods, Interval, StrOptions, _fit_context
from skae._engine.callbacks import plain_module
from skae._engine.data import (
    RELEASE_BYTES,
    iter_chunks,
    memmap_behind,
    release_pages,
    rows_to_tensor,
    shared_memmap,
    training_data,
)
from skae._engine.runtime import broadcast_from_main
from skae._estimator import FLOAT_DTYPES, _BaseNeuralEstimator, check_layer_sizes
from skae._modules.conv import ConvAutoencoder
from skae._modules.mlp import ACTIVATIONS, MLPAutoencoder

# init="pca" computes PCA on at most this many randomly chosen rows: enough
# for the leading components, and cheap next to one epoch of training.
PCA_INIT_ROWS = 10_000

# Larger values overflow float32 in the PCA start or the first losses (their
# squares, summed over a batch, pass float32's maximum of about 3e38).
MAX_ABS_VALUE = 1e15

# Reconstruction losses by name: ``loss(X_reconstructed, X)``, batch means.
RECONSTRUCTION_LOSSES = {"mse": F.mse_loss, "bce": F.binary_cross_entropy}


def _scan_memmap(X, mapped, allow_nan):
    """Check a memory-mapped `X` for NaN/inf chunk by chunk; return its range."""
    low, high = np.inf, -np.inf
    for rows in iter_chunks(X.shape[0], max(1, RELEASE_BYTES // X[:1].nbytes)):
        block = X[rows]
        assert_all_finite(block, allow_nan=allow_nan, input_name="X")
        low, high = min(low, _value_range(block)[0]), max(high, _value_range(block)[1])
        release_pages(mapped)
    return low, high


def _value_range(X):
    """The smallest and largest value of `X`, ignoring NaN (0, 0 if none)."""
    if sp.issparse(X):
        return X.min(), X.max()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN array
        low, high = np.nanmin(X), np.nanmax(X)
    return (0.0, 0.0) if np.isnan(low) else (low, high)


def check_image_shape(image_shape, n_features):
    """Return `image_shape` as ``(channels, height, width)``.

    One side may be -1, inferred from `n_features` as in ``numpy.reshape``.
    Refuse a shape that is not 2 or 3 positive ints, or whose pixels are not
    `n_features`, with an error naming both.
    """
    shape = tuple(image_shape)
    sides_ok = all(
        isinstance(side, Integral) and (side >= 1 or side == -1) for side in shape
    )
    if len(shape) not in (2, 3) or not sides_ok or shape.count(-1) > 1:
        raise ValueError(
            f"image_shape must be (height, width) or (channels, height, width) "
            f"of positive ints (one of them may be -1); got {image_shape!r}."
        )
    shape = (1, *shape) if len(shape) == 2 else shape
    known = -math.prod(shape) if -1 in shape else math.prod(shape)
    if -1 in shape and n_features % known == 0:
        shape = tuple(n_features // known if side == -1 else side for side in shape)
    if math.prod(shape) != n_features:
        raise ValueError(
            f"image_shape={tuple(image_shape)!r} does not fit the {n_features} "
            "features of X: pass rows of images flattened in C-order "
            "(images.reshape(n_samples, -1)), or fix image_shape."
        )
    return shape


def extends_base_parameters(init=None, *, without=()):
    """Give a kind's ``__init__`` the signature of all its parameters.

    A kind writes ``__init__(self, n_components=2, *, <its own>, **shared)``
    and passes ``shared`` on to :class:`_BaseAutoencoder`. The signature that
    scikit-learn reads (``get_params``, ``clone``, the repr) and that
    ``help()`` shows becomes the kind's parameters followed by the base's, so
    that the shared parameters and their defaults are written once, in
    ``_BaseAutoencoder.__init__``. Passing an unknown name still raises
    ``TypeError``, from the base. Base parameters named in `without` are not
    the kind's (its ``__init__`` deletes them after the base set them).
    """
    if init is None:
        return partial(extends_base_parameters, without=without)
    own = inspect.signature(init).parameters
    base = inspect.signature(_BaseAutoencoder.__init__).parameters
    parameters = [p for p in own.values() if p.kind != p.VAR_KEYWORD]
    parameters += [
        p for name, p in base.items() if name not in own and name not in without
    ]
    init.__signature__ = inspect.Signature(parameters)
    return init


def without_parameters(cls, names):
    """`cls`'s parameter constraints and network parameters, less `names`.

    For a kind whose ``__init__`` drops some of the base's parameters (see
    :func:`extends_base_parameters`).
    """
    constraints = {
        name: constraint
        for name, constraint in cls._parameter_constraints.items()
        if name not in names
    }
    return constraints, tuple(p for p in cls._network_params if p not in names)


class _BaseAutoencoder(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, _BaseNeuralEstimator
):
    """Base class for the skae autoencoders.

    Warning: This class should not be used directly. Use the derived classes
    instead. It owns validation, training, inference and scoring, and the
    parameters every kind shares (with their defaults, written once here). A
    kind is a torch module plus a loss: it overrides some of these seams and
    nothing else.

    - ``_build_module(n_features)``: the torch module. Its ``forward(X)``
      returns what ``_loss`` takes (here ``(X_reconstructed, Z)``); it has
      ``encode(X)`` and ``decode(Z)`` (what `transform` and
      `inverse_transform` apply), and ``init_linear(components, mean,
      scores)`` for ``init="pca"``.
    - ``_loss(output, X, *, training)``: the loss of a batch; by default the
      reconstruction loss plus, while training, ``_penalty(Z)``.
    - ``_penalty(Z)``: a term added to the training loss from the codes.
    - ``_corrupt(X)``: the training input made from a clean batch.
    - ``_code_activation()``: the name of the activation of the codes.
    - ``_check_params(n_features)``: checks of the kind's own parameters,
      run before any training.
    - ``_network_params``: the parameters its network is built from, which a
      warm-started fit refuses to see changed.
    """

    _parameter_constraints: dict = {
        **_BaseNeuralEstimator._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "image_shape": ["array-like", None],
        "conv_channels": ["array-like"],
        "output_activation": [StrOptions({"identity", "sigmoid"})],
        "init": [StrOptions({"pca", "random"})],
        "loss": [StrOptions(set(RECONSTRUCTION_LOSSES))],
        "warm_start": ["boolean"],
        "callbacks": [list, None],
        "accelerator": [HasMethods(["prepare", "backward", "unwrap_model"]), None],
    }

    # Whether NaN marks missing values the kind learns around (an imputer).
    _missing_values_allowed = False

    _network_params = (
        *_BaseNeuralEstimator._network_params,
        "n_components",
        "hidden_layer_sizes",
        "activation",
        "image_shape",
        "conv_channels",
        "output_activation",
        "init",
    )

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(512, 256),
        activation="gelu",
        image_shape=None,
        conv_channels=(32,),
        output_activation="identity",
        init="pca",
        loss="mse",
        alpha=0.0,
        batch_size=256,
        learning_rate_init=1e-3,
        max_iter=200,
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-2,
        shuffle=True,
        random_state=None,
        device="cpu",
        verbose=0,
        warm_start=False,
        callbacks=None,
        accelerator=None,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.image_shape = image_shape
        self.conv_channels = conv_channels
        self.output_activation = output_activation
        self.init = init
        self.loss = loss
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.shuffle = shuffle
        self.random_state = random_state
        self.device = device
        self.verbose = verbose
        self.warm_start = warm_start
        self.callbacks = callbacks
        self.accelerator = accelerator

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder to reconstruct `X`.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data. Memory-mapped and sparse inputs are converted batch
            by batch, never as a whole.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        first_call = not (self.warm_start and hasattr(self, "net_"))
        return self._fit(X, epochs=self.max_iter, first_call=first_call)

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch over `X`, keeping the weights learned so far.

        Every row of `X` is trained on: `early_stopping` is not supported.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        if self.early_stopping:
            # As in MLP: the blocks passed to successive calls may differ, so
            # their held-out losses cannot tell which weights were best.
            raise ValueError(
                "partial_fit does not support early_stopping=True: each call "
                "trains one epoch on all the rows it is given. Set "
                "early_stopping=False, or call fit with warm_start=True to "
                "continue training with early stopping."
            )
        return self._fit(X, epochs=1, first_call=not hasattr(self, "net_"))

    def transform(self, X):
        """Encode `X` into the latent space.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components)
            The codes, in the dtype of `X` (float32 or float64).
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        return self._predict(self._encode, X)

    def inverse_transform(self, X):
        """Decode codes back into the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, such as the output of :meth:`transform`.

        Returns
        -------
        X_reconstructed : ndarray of shape (n_samples, n_features)
            The reconstruction, in the dtype of `X`.
        """
        check_is_fitted(self)
        X = check_array(X, dtype=FLOAT_DTYPES)
        if X.shape[1] != self.n_components_:
            raise ValueError(
                f"X has {X.shape[1]} features, but inverse_transform expects "
                f"{self.n_components_} (n_components_): pass the output of "
                "transform."
            )
        return self._predict(self._decode, X)

    def score_samples(self, X):
        """Return the negative mean squared reconstruction error of each sample.

        Higher is better; low values flag samples unlike the training data,
        which makes this an anomaly score.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to reconstruct.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            Negative mean over features of the squared reconstruction error.
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        return self._predict(self._negative_errors, X)

    def score(self, X, y=None):
        """Return the negative mean squared reconstruction error of `X`.

        Higher is better, as everywhere in scikit-learn. Noise and sparsity
        penalties are training devices and are not part of the score.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to reconstruct.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        score : float
            Negative mean squared reconstruction error.
        """
        return float(np.mean(self.score_samples(X)))

    @property
    def encoder_(self):
        """The fitted encoder (a :class:`torch.nn.Module`)."""
        return self.module_.encoder

    @property
    def decoder_(self):
        """The fitted decoder (a :class:`torch.nn.Module`)."""
        return self.module_.decoder

    @property
    def _n_features_out(self):
        """Number of codes, for :meth:`get_feature_names_out`."""
        return self.n_components_

    def _build_module(self, n_features):
        """Seam: the torch module for data of `n_features` (an MLP pair here)."""
        return self._mlp_module(n_features, output_activation=self.output_activation)

    def _mlp_module(self, n_features, *, output_activation):
        """The encoder/decoder pair the parameters describe: an MLP, or a
        convolutional network when `image_shape` is set."""
        common = {
            "activation": self.activation,
            "code_activation": self._code_activation(),
            "output_activation": output_activation,
            "linear_residual": self.init == "pca",
        }
        hidden = check_layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")
        image_shape = self._image_shape(n_features)
        if image_shape is not None:
            return ConvAutoencoder(
                image_shape,
                self.n_components,
                hidden_layer_sizes=hidden,
                channels=check_layer_sizes(self.conv_channels, "conv_channels"),
                **common,
            )
        return MLPAutoencoder(
            n_features, self.n_components, hidden_layer_sizes=hidden, **common
        )

    def _image_shape(self, n_features):
        """Seam: ``(channels, height, width)`` of the network's rows of
        `n_features`, or None for an MLP."""
        if self.image_shape is None:
            return None
        return check_image_shape(self.image_shape, n_features)

    def _loss(self, output, X, *, training):
        """Seam: the loss of a batch, from the module's output and the clean `X`."""
        X_reconstructed, Z = output
        loss = RECONSTRUCTION_LOSSES[self.loss](X_reconstructed, X)
        if training:
            penalty = self._penalty(Z)
            if penalty is not None:
                loss = loss + penalty
        return loss

    def _corrupt(self, X):
        """Seam: the training input fed to the encoder; the target stays `X`."""
        return X

    def _penalty(self, Z):
        """Seam: a term added to the training loss from the codes, or None."""
        return None

    def _code_activation(self):
        """Seam: the name of the activation applied to the codes."""
        return "identity"

    def _check_params(self, n_features):
        """Seam: refuse parameter combinations that cannot be trained.

        Runs before any training, on every call to `fit` and `partial_fit`.
        A kind with parameters of its own extends it.
        """
        self._check_network_shape(n_features)
        if self.loss == "bce" and self.output_activation != "sigmoid":
            raise ValueError(
                "loss='bce' compares probabilities, so it needs "
                "output_activation='sigmoid'."
            )

    def _check_network_shape(self, n_features):
        """Check the layer sizes, and the image shape against `n_features`."""
        check_layer_sizes(self.hidden_layer_sizes, "hidden_layer_sizes")
        if self.image_shape is not None:
            check_image_shape(self.image_shape, n_features)
            check_layer_sizes(self.conv_channels, "conv_channels")

    def _unit_range_needed(self):
        """Seam: the reason the data must lie in [0, 1] (e.g. a loss), or None."""
        return "loss='bce'" if self.loss == "bce" else None

    def _fit(self, X, *, epochs, first_call):
        """Validate, (re)build the net if needed and train for `epochs`."""
        with self._unchanged_on_error():
            if not first_call:
                self._check_network_unchanged()
            X = self._validate_input(X, reset=first_call, fitting=True)
            self._check_params(X.shape[1])
            if first_call:
                self.n_components_ = self.n_components
                self.net_ = self._new_net(X.shape[1], self._start())
            self._train(training_data(X, self._net_device()), epochs=epochs)
            self.reconstruction_error_ = -float(
                np.mean(self._predict(self._negative_errors, X))
            )
        return self

    def _new_net(self, n_features, device):
        """The uninitialised net of a new network for data of `n_features`."""
        return self._make_net(
            partial(self._build_module, n_features),
            loss=self._loss,
            corrupt=self._corrupt,
            n_features=n_features,
            device=device,
            callbacks=self._callbacks(),
        )

    def _callbacks(self):
        """Seam: the kind's own ``(name, callback)`` pairs for the net."""
        return []

    def _seeded_rows(self, n_samples, n_rows):
        """Sorted indices of at most `n_rows` of `n_samples` rows, drawn from
        the model's seed (every row when there are no more)."""
        if n_samples <= n_rows:
            return np.arange(n_samples)
        rng = np.random.RandomState(self._seed)
        return np.sort(rng.choice(n_samples, n_rows, replace=False))

    def _init_sample(self, X):
        """At most ``PCA_INIT_ROWS`` seeded random rows of `X`, as a tensor."""
        rows = self._seeded_rows(X.shape[0], PCA_INIT_ROWS)
        return rows_to_tensor(X, rows, self._net_device())

    def _init_module(self, X):
        """Start the network from PCA of (a sample of) `X` when ``init="pca"``."""
        if self.init == "pca":
            self._init_from_pca(self._init_sample(X))

    def _init_from_pca(self, sample):
        """Start the network from PCA of the rows `sample` (a tensor, kept)."""
        module = plain_module(self.net_)
        if not hasattr(module, "init_linear"):
            raise TypeError(
                f"init='pca' starts the network from PCA through the module's "
                f"init_linear(components, mean, scores), which "
                f"{type(module).__name__} does not have. Set init='random', or "
                "give the module that method."
            )
        mean = sample.mean(dim=0)
        centered = sample - mean
        _, _, Vt = torch.linalg.svd(centered, full_matrices=False)
        # Codes wider than the data's rank get zero components.
        components = centered.new_zeros((self.n_components, sample.shape[1]))
        n_found = min(self.n_components, Vt.shape[0])
        components[:n_found] = Vt[:n_found]
        module.init_linear(components, mean, centered @ components.T)
        accelerator = getattr(self.net_, "accelerator", None)
        if accelerator is not None and accelerator.num_processes > 1:
            # Wrapping already synchronised the processes' weights; the PCA
            # start must agree too, whatever their SVDs returned.
            with torch.no_grad():
                for parameter in module.parameters():
                    parameter.copy_(broadcast_from_main(parameter, accelerator))

    def _validate_input(self, X, *, reset, fitting=False):
        """Check `X` (numeric, finite, right width; in [0, 1] for BCE).

        A shared memmap keeps its numeric dtype and is scanned chunk by chunk,
        so that validating a file larger than memory never holds all of it.
        When `fitting`, values too large to train on in float32 are refused.
        """
        checked = None if reset else self._check_plain_array(X, fitting=fitting)
        if checked is not None:
            X, low, high = checked
        else:
            X, low, high = self._validate_any_input(X, reset=reset, fitting=fitting)
        unit_range = self._unit_range_needed()
        if unit_range and (low < 0 or high > 1):
            raise ValueError(
                f"{unit_range} needs data in [0, 1], but X has values in "
                f"[{low:.3g}, {high:.3g}]. Scale it with MinMaxScaler, or use "
                "a loss for unbounded data."
            )
        if fitting and max(-low, high) > MAX_ABS_VALUE:
            raise ValueError(
                f"X has values as large as {max(-low, high):.3g} in magnitude, "
                f"beyond the {MAX_ABS_VALUE:.0e} that training in float32 "
                "handles without overflow. Scale the data first, e.g. with "
                "StandardScaler or MinMaxScaler in a Pipeline."
            )
        return X

    def _check_plain_array(self, X, *, fitting):
        """Check an in-memory float array of the fitted width; None if it is not one.

        ``validate_data`` would return such an array unchanged, but its fixed
        cost (dataframe detection, feature names, a NumPy pass for NaN/inf) is
        a third of encoding 10,000 rows of 64 features. Here one torch pass
        checks for NaN/inf (skipped under scikit-learn's ``assume_finite``, as
        ``validate_data`` skips its own), giving the range when it is needed.
        Anything else, and an array that fails the check, returns None and
        goes through ``validate_data``, which raises scikit-learn's usual error.
        """
        plain = (
            not self._missing_values_allowed
            and type(X) is np.ndarray
            and X.ndim == 2
            and X.dtype in FLOAT_DTYPES
            and X.shape[0] > 0
            and X.shape[1] == self.n_features_in_
            and (X.flags.c_contiguous or X.flags.f_contiguous)
            and X.flags.writeable
            and not hasattr(self, "feature_names_in_")
            and memmap_behind(X) is None
        )
        if not plain:
            return None
        values = torch.from_numpy(X)
        low = high = None
        if fitting or self._unit_range_needed():
            low, high = (float(bound) for bound in torch.aminmax(values))
            finite = math.isfinite(low) and math.isfinite(high)
        else:
            # A sum of finite values can overflow: validate_data then decides.
            finite = get_config()["assume_finite"] or math.isfinite(values.sum())
        return (X, low, high) if finite else None

    def _validate_any_input(self, X, *, reset, fitting):
        """``validate_data`` for any input; return it with its range when needed."""
        low = high = None
        mapped = shared_memmap(X)
        finite = "allow-nan" if self._missing_values_allowed else True
        if mapped is not None:
            finite = False  # scanned chunk by chunk below
        try:
            X = validate_data(
                self,
                X,
                accept_sparse=("csr", "csc"),
                dtype="numeric" if mapped is not None else FLOAT_DTYPES,
                ensure_all_finite=finite,
                reset=reset,
            )
        except ValueError as exc:
            if "could not convert" not in str(exc):
                raise
            raise ValueError(
                f"{type(self).__name__} needs numeric input, but {exc}. Encode text "
                "or categorical columns first, e.g. with OneHotEncoder in a "
                "ColumnTransformer."
            ) from exc
        if mapped is not None:
            low, high = _scan_memmap(X, mapped, self._missing_values_allowed)
        elif fitting or self._unit_range_needed():
            low, high = _value_range(X)
        return X, low, high

    @staticmethod
    def _encode(module, X):
        """Codes of a batch."""
        return module.encode(X)

    @staticmethod
    def _decode(module, Z):
        """Reconstructions of a batch of codes."""
        return module.decode(Z)

    @staticmethod
    def _negative_errors(module, X):
        """Per-row negative mean squared reconstruction error of a batch."""
        X_reconstructed = module.decode(module.encode(X))
        # In place: one batch-sized temporary instead of three.
        return X_reconstructed.sub_(X).square_().mean(dim=1).neg_()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
