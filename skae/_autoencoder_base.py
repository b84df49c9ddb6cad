"""Shared base class of the skae autoencoders: validation, fit, transform, score."""

# SPDX-License-Identifier: BSD-3-Clause

import math
import warnings
from dataclasses import KW_ONLY, dataclass
from functools import partial
from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from sklearn import get_config
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import assert_all_finite
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from skae._compat import HasMethods, Interval, StrOptions, _fit_context
from skae._engine.callbacks import WeightAverage, plain_module
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
from skae._modules.mlp import ACTIVATIONS
from skae._modules.networks import FAMILIES, build_network
from skae._neural_base import FLOAT_DTYPES, _BaseNeuralEstimator, check_layer_sizes

# init="pca" computes PCA on at most this many randomly chosen rows: enough
# for the leading components, and cheap next to one epoch of training.
PCA_INIT_ROWS = 10_000

# Larger values overflow float32 in the PCA start or the first losses (their
# squares, summed over a batch, pass float32's maximum of about 3e38).
MAX_ABS_VALUE = 1e15

# What early_stopping="auto" means: a first fit on data of at least this many
# values (rows times features) holds out validation rows and stops when the
# error of the averaged weights on them stops improving; smaller data train on
# every row and stop on a plateau of the training loss. On 10,000
# Fashion-MNIST images (7,840,000 values) the conv network's held-out error
# rises again while its training loss goes on falling: at k=8 and 32 early
# stopping ends its fits three to five times sooner, and lower; the MLP kinds
# end up to twice as soon, a few percent higher for the rows held out
# (docs/benchmarks.rst, "Stopping"). On digits (86,208 values) holding out a
# tenth of the rows costs more than the plateau rule's extra epochs.
LARGE_DATA_VALUES = 1_000_000


def is_large(X):
    """Whether `X` holds at least `LARGE_DATA_VALUES` values."""
    return X.shape[0] * X.shape[1] >= LARGE_DATA_VALUES


# Reconstruction losses by name: ``loss(X_reconstructed, X)``, batch means.
RECONSTRUCTION_LOSSES = {"mse": F.mse_loss, "bce": F.binary_cross_entropy}


def principal_axes(centered):
    """The principal axes of the rows `centered` (centred data), as rows,
    the direction of largest variance first.

    With fewer features than rows, from the eigenvectors of the features'
    Gram matrix (decomposed in float64): several times less work than the
    SVD of 10,000 rows of 784 values, for the leading axes to float rounding.
    Otherwise from the SVD of the rows.
    """
    n_rows, n_features = centered.shape
    if n_features > n_rows:
        return torch.linalg.svd(centered, full_matrices=False)[2]
    _, eigenvectors = torch.linalg.eigh((centered.T @ centered).double())
    return eigenvectors.flip(1).T.to(centered.dtype)


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


@dataclass(eq=False, repr=False)
class _BaseAutoencoder(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, _BaseNeuralEstimator
):
    """Base class for the skae autoencoders.

    Warning: This class should not be used directly. Use the derived classes
    instead. It owns validation, training, inference and scoring, and the
    parameters every autoencoder shares: the code's size, the network, the
    start, warm starts and the accelerator (the training parameters come
    from :class:`_BaseNeuralEstimator`). A kind is a torch module plus a
    loss: it overrides some of these seams and nothing else.

    - ``_build_module(n_features)``: the torch module, built by
      :meth:`_build_network` from the ``network`` parameter (a registered family
      or the user's own). Its ``forward(X)`` returns what ``_loss`` takes
      (here ``(X_reconstructed, Z)``); it has ``encode(X)`` and ``decode(Z)``
      (what `transform` and `inverse_transform` apply), and
      ``init_linear(components, mean, scores)`` for ``init="pca"``.
    - ``_loss(module, output, X, *, training)``: the loss of a batch, from
      the module, its output and the clean batch `X`; by default the
      reconstruction loss plus, while training, ``_penalty(module, X, Z)``.
      It may return a dict of the loss (``"loss"``) and named terms, whose
      epoch means the history records.
    - ``_reconstruction_loss(X_reconstructed, X)``: mean squared error here.
    - ``_penalty(module, X, Z)``: a term added to the training loss.
    - ``_corrupt(X)``: the training input made from a clean batch.
    - ``_code_activation()`` and ``_output_activation()``: the names of the
      activations of the codes and of the reconstruction.
    - ``_check_params(n_features)``: checks of the kind's own parameters,
      run before any training.
    - ``_network_params``: the parameters its network is built from, which a
      warm-started fit refuses to see changed.
    """

    n_components: int = 2
    _: KW_ONLY
    network: Any = "auto"
    network_params: dict | None = None
    hidden_layer_sizes: Any = (512, 256)
    activation: str = "gelu"
    image_shape: tuple | None = None
    conv_channels: tuple = (32,)
    init: str = "pca"
    early_stopping: Any = "auto"
    average_decay: float = 0.99
    warm_start: bool = False
    accelerator: Any = None

    _parameter_constraints = {
        **_BaseNeuralEstimator._parameter_constraints,
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "network": [StrOptions({"auto", *FAMILIES}), callable],
        "network_params": [dict, None],
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "image_shape": ["array-like", None],
        "conv_channels": ["array-like"],
        "init": [StrOptions({"pca", "random"})],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "average_decay": [Interval(Real, 0, 1, closed="left")],
        "warm_start": ["boolean"],
        "accelerator": [HasMethods(["prepare", "backward", "unwrap_model"]), None],
    }

    # Whether NaN marks missing values the kind learns around (an imputer).
    _missing_values_allowed = False

    _network_params = (
        *_BaseNeuralEstimator._network_params,
        "n_components",
        "network",
        "network_params",
        "hidden_layer_sizes",
        "activation",
        "image_shape",
        "conv_channels",
        "init",
    )

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
        if self.early_stopping is True:  # a kind's "auto" trains without
            # As in MLP: the blocks passed to successive calls may differ, so
            # their held-out losses cannot tell which weights were best.
            raise ValueError(
                "partial_fit does not support early_stopping=True: each call "
                "trains one epoch on all the rows it is given. Set "
                "early_stopping=False, or call fit with warm_start=True to "
                "continue training with early stopping."
            )
        first_call = not hasattr(self, "net_")
        return self._fit(X, epochs=1, first_call=first_call, partial=True)

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
        """Seam: the torch module for data of `n_features` (the network's pair)."""
        return self._build_network(n_features, self.n_components)

    def _build_network(self, n_features, n_codes):
        """The encoder/decoder pair the parameters describe, for rows of
        `n_features` and `n_codes` codes: the one place that reads `network`."""
        return build_network(
            self.network,
            n_features,
            n_codes,
            family_params={
                "hidden_layer_sizes": check_layer_sizes(
                    self.hidden_layer_sizes, "hidden_layer_sizes"
                ),
                "activation": self.activation,
                "image_shape": self.image_shape,
                "conv_channels": check_layer_sizes(self.conv_channels, "conv_channels"),
            },
            network_params=self.network_params,
            code_activation=self._code_activation(),
            output_activation=self._output_activation(),
            linear_start=self.init == "pca",
        )

    def _loss(self, module, output, X, *, training):
        """Seam: the loss of a batch, from the module, its output and the
        clean `X`."""
        X_reconstructed, Z = output
        loss = self._reconstruction_loss(X_reconstructed, X)
        if training:
            penalty = self._penalty(module, X, Z)
            if penalty is not None:
                loss = loss + penalty
        return loss

    def _reconstruction_loss(self, X_reconstructed, X):
        """Seam: the reconstruction loss of a batch (its mean squared error)."""
        return F.mse_loss(X_reconstructed, X)

    def _corrupt(self, X):
        """Seam: the training input fed to the encoder; the target stays `X`."""
        return X

    def _penalty(self, module, X, Z):
        """Seam: a term added to the training loss, from the module, the clean
        batch and its codes, or None."""
        return None

    def _code_activation(self):
        """Seam: the name of the activation applied to the codes."""
        return "identity"

    def _output_activation(self):
        """Seam: the name of the activation applied to the reconstruction."""
        return "identity"

    def _check_params(self, n_features):
        """Seam: refuse parameter combinations that cannot be trained.

        Runs before any training, on every call to `fit` and `partial_fit`:
        the network is built on the meta device, where nothing is allocated,
        so that the family refuses what it cannot build (a layer size, an
        image shape that does not fit the features). A kind with parameters
        of its own extends it.
        """
        with torch.device("meta"):
            self._build_module(n_features)

    def _unit_range_needed(self):
        """Seam: the reason the data must lie in [0, 1] (e.g. a loss), or None."""
        return None

    def _settle_auto_params(self, X, *, partial):
        """Settle, from the training data `X`, what "auto" parameters mean for
        this training call (`partial` in partial_fit), before the net is built
        or trained: "auto" early stopping from the size of `X` (see
        `LARGE_DATA_VALUES`). A warm start keeps the first fit's early
        stopping, which its network's held-out rows were drawn for."""
        early_stopping = self.early_stopping
        if hasattr(self, "net_") and (partial or self.warm_start):
            early_stopping = self._stopping()[0]
            if partial and early_stopping:
                raise ValueError(
                    "partial_fit does not support early stopping, and this "
                    "network was fitted with it (early_stopping='auto' holds "
                    f"out rows on data of {LARGE_DATA_VALUES:,} values or "
                    "more). Fit it with early_stopping=False to continue it "
                    "with partial_fit."
                )
        elif early_stopping == "auto":
            early_stopping = is_large(X) and not partial and self._can_stop_early()
        self.do_early_stopping_ = bool(early_stopping)

    def _can_stop_early(self):
        """Seam: whether "auto" early stopping may hold out rows at all."""
        return True

    def _stopping(self):
        """This training call's early stopping, as settled, and patience."""
        early_stopping = getattr(self, "do_early_stopping_", None)
        if early_stopping is None:  # loaded from a file that predates it
            scores = getattr(self, "validation_scores_", None)
            early_stopping = scores is not None or self.early_stopping is True
        return early_stopping, self.n_iter_no_change

    def _fit(self, X, *, epochs, first_call, partial=False):
        """Validate, (re)build the net if needed and train for `epochs`
        (`partial` in partial_fit)."""
        with self._unchanged_on_error():
            if not first_call:
                self._check_network_unchanged()
            X = self._validate_input(X, reset=first_call, fitting=True)
            self._check_params(X.shape[1])
            self._settle_auto_params(X, partial=partial)
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
            callbacks=[
                ("weight_average", WeightAverage(self.average_decay)),
                *self._callbacks(),
            ],
        )

    def _callbacks(self):
        """Seam: the kind's own ``(name, callback)`` pairs for the net."""
        return []

    def _keeps_best(self):
        """Early stopping validates the average of the weights and ends on
        the last one; the best epoch's weights are kept without averaging."""
        return super()._keeps_best() and not self.average_decay

    def _update_training_params(self):
        """Pass the training parameters, `average_decay` too, to the net."""
        super()._update_training_params()
        dict(self.net_.callbacks_)["weight_average"].decay = self.average_decay

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
        Vt = principal_axes(centered)
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
        X_reconstructed = module.decode(module.encode(X)).to(X.dtype)
        # In place: one batch-sized temporary instead of three.
        return X_reconstructed.sub_(X).square_().mean(dim=1).neg_()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


@dataclass(eq=False, repr=False)
class _BaseReconstructionAutoencoder(_BaseAutoencoder):
    """Base class of the autoencoders trained on a reconstruction loss.

    Warning: This class should not be used directly. Use the derived classes
    instead. It adds the reconstruction loss (`loss`) and the activation of
    the reconstruction (`output_activation`), which the variational kind (a
    likelihood) and the imputer (standardised MSE) have no use for.
    """

    _: KW_ONLY
    output_activation: str = "identity"
    loss: str = "mse"

    _parameter_constraints = {
        **_BaseAutoencoder._parameter_constraints,
        "output_activation": [StrOptions({"identity", "sigmoid"})],
        "loss": [StrOptions(set(RECONSTRUCTION_LOSSES))],
    }

    _network_params = (*_BaseAutoencoder._network_params, "output_activation")

    def _reconstruction_loss(self, X_reconstructed, X):
        """The loss named by `loss`."""
        return RECONSTRUCTION_LOSSES[self.loss](X_reconstructed, X)

    def _output_activation(self):
        """The activation named by `output_activation`."""
        return self.output_activation

    def _check_params(self, n_features):
        """Also refuse BCE on an unbounded reconstruction."""
        super()._check_params(n_features)
        if self.loss == "bce" and self.output_activation != "sigmoid":
            raise ValueError(
                "loss='bce' compares probabilities, so it needs "
                "output_activation='sigmoid'."
            )

    def _unit_range_needed(self):
        """BCE needs data in [0, 1]."""
        return "loss='bce'" if self.loss == "bce" else None
