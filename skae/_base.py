"""Shared base class of the skae autoencoders: parameters, fit, transform, score."""

# SPDX-License-Identifier: BSD-3-Clause

import copy
import math
import warnings
from functools import partial
from numbers import Integral, Real

import numpy as np
import torch
from sklearn import get_config
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import assert_all_finite
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from skorch.callbacks import ProgressBar

from skae._compat import HasMethods, Interval, StrOptions, _fit_context
from skae._modules import ACTIVATIONS, Autoencoder
from skae._net import (
    AcceleratedAutoencoderNet,
    AutoencoderNet,
    DivergenceCheck,
    RowDataset,
    early_stopping_callback,
    net_options,
    plain_module,
    stopped_early,
    validation_split,
)
from skae._utils import (
    PREDICT_BATCH_VALUES,
    RELEASE_BYTES,
    broadcast_from_main,
    iter_chunks,
    make_seed,
    memmap_behind,
    predict_in_batches,
    release_pages,
    resolve_device,
    rows_to_tensor,
    seeded,
    shared_memmap,
    training_data,
)

FLOAT_DTYPES = [np.float64, np.float32]

# init="pca" computes PCA on at most this many randomly chosen rows: enough
# for the leading components, and cheap next to one epoch of training.
PCA_INIT_ROWS = 10_000


def _scan_memmap(X, mapped):
    """Check a memory-mapped `X` for NaN/inf chunk by chunk; return its range."""
    low, high = np.inf, -np.inf
    for rows in iter_chunks(X.shape[0], max(1, RELEASE_BYTES // X[:1].nbytes)):
        block = X[rows]
        assert_all_finite(block, input_name="X")
        low, high = min(low, block.min()), max(high, block.max())
        release_pages(mapped)
    return low, high


class _BaseAutoencoder(
    ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Base class for the skae autoencoders.

    Warning: This class should not be used directly. Use the derived classes
    instead. It owns validation, training through a private skorch net,
    inference and scoring; a kind changes behaviour through the private hooks
    ``_corrupt``, ``_penalty`` and ``_code_activation`` only.
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "output_activation": [StrOptions({"identity", "sigmoid"})],
        "init": [StrOptions({"pca", "random"})],
        "loss": [StrOptions({"mse", "bce"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "device": [str],
        "verbose": ["verbose"],
        "warm_start": ["boolean"],
        "callbacks": [list, None],
        "accelerator": [HasMethods(["prepare", "backward", "unwrap_model"]), None],
    }

    # Whether codes wider than the input make sense for this kind. A plain
    # autoencoder with n_components >= n_features can learn the identity.
    _allow_overcomplete = True

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(512, 256),
        activation="gelu",
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
        tol=1e-4,
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
        if X.shape[1] != self.n_components:
            raise ValueError(
                f"X has {X.shape[1]} features, but inverse_transform expects "
                f"{self.n_components} (n_components): pass the output of transform."
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
        return self.net_.module_.encoder

    @property
    def decoder_(self):
        """The fitted decoder (a :class:`torch.nn.Module`)."""
        return self.net_.module_.decoder

    @property
    def _n_features_out(self):
        """Number of codes, for :meth:`get_feature_names_out`."""
        return self.n_components

    def _corrupt(self, X):
        """Return the training input fed to the encoder; the target stays `X`."""
        return X

    def _penalty(self, Z):
        """Return a term added to the training loss from the codes, or None."""
        return None

    def _code_activation(self):
        """Return the name of the activation applied to the codes."""
        return "identity"

    def _fit(self, X, *, epochs, first_call):
        """Validate, (re)build the net if needed and train for `epochs`."""
        if not first_call and self.early_stopping != bool(self.net_.train_split):
            raise ValueError(
                f"early_stopping={self.early_stopping} differs from the fit that "
                "built the network, and warm_start and partial_fit continue that "
                "training. Fit with warm_start=False to change it."
            )
        X = self._validate_input(X, reset=first_call, fitting=True)
        if first_call:
            self._check_n_components(X.shape[1])
            # Data-parallel processes must shuffle alike: the main one's seed.
            self._seed = broadcast_from_main(
                make_seed(self.random_state), self.accelerator
            )
            device = (
                resolve_device(self.device)
                if self.accelerator is None
                else self.accelerator.device
            )
            self.net_ = self._make_net(X.shape[1], device)
        device = self._net_device()
        n_before = len(self.net_.history) if self.net_.initialized_ else 0
        X_train = training_data(X, device)
        with seeded(self._seed + n_before, device):
            if not self.net_.initialized_:
                self.net_.initialize()
                if self.init == "pca":
                    self._init_from_pca(X_train)
            try:
                self.net_.partial_fit(X_train, epochs=epochs)
            finally:
                # After an error too: the net ended training, as on Ctrl-C.
                self._set_fitted_attributes()
        self.reconstruction_error_ = -float(
            np.mean(self._predict(self._negative_errors, X))
        )
        n_run = self.n_iter_ - n_before
        if epochs > 1 and n_run == epochs and not stopped_early(self.net_):
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                "and the optimization hasn't converged yet. Increase max_iter for a "
                "lower reconstruction error.",
                ConvergenceWarning,
                stacklevel=4,
            )
        return self

    def _init_from_pca(self, X):
        """Start the network from PCA of (a sample of) `X`: see `init`."""
        module, device = plain_module(self.net_), self._net_device()
        n_samples = X.shape[0]
        rows = np.arange(n_samples)
        if n_samples > PCA_INIT_ROWS:
            rng = np.random.RandomState(self._seed)
            rows = np.sort(rng.choice(n_samples, PCA_INIT_ROWS, replace=False))
        centered = rows_to_tensor(X, rows, device)
        mean = centered.mean(dim=0)
        centered -= mean
        _, _, Vt = torch.linalg.svd(centered, full_matrices=False)
        # Codes wider than the data's rank get zero components.
        components = centered.new_zeros((self.n_components, X.shape[1]))
        n_found = min(self.n_components, Vt.shape[0])
        components[:n_found] = Vt[:n_found]
        shift = centered.new_zeros(self.n_components)
        if self._code_activation() == "relu":
            # A ReLU code would clip half of each centred PCA score: shift the
            # scores so that they start non-negative on the sample.
            shift = -(centered @ components.T).amin(dim=0)
        module.init_linear(components, mean, shift)
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
        When `fitting`, the range of the values seen so far is recorded in
        ``_data_range`` (a denoising autoencoder clips its noise to it).
        """
        checked = None if reset else self._check_plain_array(X, fitting=fitting)
        if checked is not None:
            X, low, high = checked
        else:
            X, low, high = self._validate_any_input(X, reset=reset, fitting=fitting)
        if self.loss == "bce" and (low < 0 or high > 1):
            raise ValueError(
                f"loss='bce' needs data in [0, 1], but X has values in "
                f"[{low:.3g}, {high:.3g}]. Scale it with MinMaxScaler or use "
                "loss='mse'."
            )
        if fitting:
            low, high = float(low), float(high)
            if not reset:
                low = min(low, self._data_range[0])
                high = max(high, self._data_range[1])
            self._data_range = (low, high)
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
            type(X) is np.ndarray
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
        if self.loss == "bce" or fitting:
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
        try:
            X = validate_data(
                self,
                X,
                accept_sparse=("csr", "csc"),
                dtype="numeric" if mapped is not None else FLOAT_DTYPES,
                ensure_all_finite=mapped is None,
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
            low, high = _scan_memmap(X, mapped)
        elif self.loss == "bce" or fitting:
            low, high = X.min(), X.max()
        return X, low, high

    def _check_n_components(self, n_features):
        """Refuse parameter combinations that cannot be trained well."""
        if not self._allow_overcomplete and self.n_components > n_features:
            raise ValueError(
                f"n_components={self.n_components} must be <= n_features="
                f"{n_features} for {type(self).__name__}: a code wider than the input "
                "can learn to copy it. Lower n_components, or use SparseAutoencoder "
                "or DenoisingAutoencoder for over-complete codes."
            )
        if self.loss == "bce" and self.output_activation != "sigmoid":
            raise ValueError(
                "loss='bce' compares probabilities, so it needs "
                "output_activation='sigmoid'."
            )

    def _make_net(self, n_features, device):
        """Build the (uninitialised) skorch net for data of `n_features`."""
        hidden = self.hidden_layer_sizes
        hidden = (hidden,) if isinstance(hidden, Integral) else tuple(hidden)
        if not all(isinstance(h, Integral) and h >= 1 for h in hidden):
            raise ValueError(
                f"hidden_layer_sizes must be positive integers; got {hidden!r}."
            )
        callbacks = [("divergence_check", DivergenceCheck())]
        early_stopping = early_stopping_callback(
            on_validation=self.early_stopping,
            patience=self.n_iter_no_change,
            tol=self.tol,
            verbose=self.verbose,
        )
        callbacks.append(("early_stopping", early_stopping))
        if self.verbose:
            callbacks.append(("progress_bar", ProgressBar()))
        # Deep copies: skorch initialises callbacks in place, and fit must not
        # change the objects the user passed as parameters.
        callbacks += copy.deepcopy(self.callbacks or [])
        train_split = None
        if self.early_stopping:
            train_split = partial(
                validation_split, fraction=self.validation_fraction, seed=self._seed
            )
        criterion = torch.nn.MSELoss if self.loss == "mse" else torch.nn.BCELoss
        net_class = AutoencoderNet
        if self.accelerator is not None:
            net_class = AcceleratedAutoencoderNet
        return net_class(
            module=Autoencoder,
            module__n_features=n_features,
            module__n_components=self.n_components,
            module__hidden_layer_sizes=hidden,
            module__activation=self.activation,
            module__code_activation=self._code_activation(),
            module__output_activation=self.output_activation,
            module__linear_residual=self.init == "pca",
            criterion=criterion,
            optimizer__weight_decay=self.alpha,
            lr=self.learning_rate_init,
            max_epochs=self.max_iter,
            batch_size=self.batch_size,
            dataset=RowDataset,
            # No gradients in validation: inference-sized batches give the same
            # (size-weighted) loss with less per-batch overhead.
            iterator_valid__batch_size=max(
                self.batch_size, PREDICT_BATCH_VALUES // n_features
            ),
            train_split=train_split,
            callbacks=callbacks,
            warm_start=True,
            corrupt=self._corrupt,
            penalty=self._penalty,
            **net_options(
                device,
                shuffle=self.shuffle,
                verbose=self.verbose,
                accelerator=self.accelerator,
            ),
        )

    def _set_fitted_attributes(self):
        """Read the training history into scikit-learn style attributes."""
        # Empty if Ctrl-C interrupted the first epoch.
        history = self.net_.history
        self.n_iter_ = len(history)
        self.loss_curve_ = [float(row["train_loss"]) for row in history]
        if self.early_stopping:
            self.validation_scores_ = [-float(row["valid_loss"]) for row in history]
            self.best_validation_score_ = max(self.validation_scores_, default=None)
            best = self.best_validation_score_
            self.best_loss_ = None if best is None else -best
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = min(self.loss_curve_, default=None)
        self.net_.module_.eval()

    def _predict(self, function, X):
        """Apply `function(module, X_batch)` to `X` in inference mode."""
        module = self.net_.module_
        device = next(module.parameters()).device
        return predict_in_batches(module, function, X, device)

    def _net_device(self):
        """The device the network trains on."""
        accelerator = getattr(self.net_, "accelerator", None)
        if accelerator is not None:
            return accelerator.device
        return torch.device(self.net_.device)

    @staticmethod
    def _encode(module, X):
        """Codes of a batch."""
        return module.encoder(X)

    @staticmethod
    def _decode(module, Z):
        """Reconstructions of a batch of codes."""
        return module.decoder(Z)

    @staticmethod
    def _negative_errors(module, X):
        """Per-row negative mean squared reconstruction error of a batch."""
        X_reconstructed, _ = module(X)
        # In place: one batch-sized temporary instead of three.
        return X_reconstructed.sub_(X).square_().mean(dim=1).neg_()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
