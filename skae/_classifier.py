"""AutoencoderClassifier: semi-supervised classification on a pretrained encoder."""

# SPDX-License-Identifier: BSD-3-Clause

import copy
from dataclasses import KW_ONLY, dataclass
from functools import partial
from numbers import Integral, Real
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.frozen import FrozenEstimator
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch.callbacks import Callback

from skae._compat import Interval, StrOptions, _fit_context
from skae._denoising import DenoisingAutoencoder
from skae._engine.data import RowDataset, training_data
from skae._engine.runtime import seeded
from skae._modules.mlp import ACTIVATIONS, EncoderClassifier
from skae._neural_base import FLOAT_DTYPES, _BaseNeuralEstimator, check_layer_sizes


def _unlabeled_mask(y, unlabeled_label):
    """Mark the rows of `y` equal to `unlabeled_label` (None marks none).

    A string marker never matches numbers and a number never matches an array
    of strings; object arrays are compared element by element.
    """
    if (
        unlabeled_label is None
        or (y.dtype.kind in "US" and not isinstance(unlabeled_label, str))
        or (y.dtype.kind in "biuf" and isinstance(unlabeled_label, str))
    ):
        return np.zeros(y.shape[0], dtype=bool)
    return np.asarray(y == unlabeled_label, dtype=bool)


def _n_codes(autoencoder):
    """The code size of a fitted autoencoder (skae's or another library's)."""
    return getattr(autoencoder, "n_components_", autoencoder.n_components)


def _cross_entropy(module, logits, y, *, training):
    """The classifier's loss: the cross-entropy of the logits."""
    return F.cross_entropy(logits, y)


def _logits(module, X):
    """The class scores of a batch."""
    return module(X)


def _apply_to_logits(function, module, X):
    """`function` (a softmax) of the class scores of a batch."""
    return function(module(X), dim=1)


class _ValidAccuracy(Callback):
    """Record the accuracy on the validation rows as ``valid_acc``.

    It is recorded after each validation batch, so that an epoch whose
    validation loss is recorded (at the epoch's end) has its accuracy too.
    """

    def on_epoch_begin(self, net, **kwargs):
        """Reset the counts."""
        self.n_correct_, self.n_seen_ = 0, 0

    def on_batch_end(self, net, batch=None, training=None, y_pred=None, **kwargs):
        """Count the correct predictions of a validation batch; record the accuracy."""
        if not training:
            y_true = batch[1]
            self.n_correct_ += int((y_pred.argmax(dim=1) == y_true).sum())
            self.n_seen_ += len(y_true)
            net.history.record("valid_acc", self.n_correct_ / self.n_seen_)


@dataclass(eq=False, repr=False)
class AutoencoderClassifier(ClassifierMixin, _BaseNeuralEstimator):
    """Classifier on an autoencoder pretrained with unlabeled data.

    `fit` first trains an autoencoder on all the rows of `X`, labeled or not,
    then trains a copy of its encoder followed by a small MLP head on the
    labeled rows, with the cross-entropy loss. The encoder is either frozen
    (only the head learns) or fine-tuned with a smaller learning rate than the
    head. Rows labeled ``-1`` are unlabeled, following the semi-supervised
    convention of :class:`~sklearn.semi_supervised.SelfTrainingClassifier`
    (see `unlabeled_label`).
    When labels are scarce, features learned from the unlabeled rows usually
    beat a network trained from scratch on the labeled rows alone.

    Read more in the :ref:`User Guide <classifier>`.

    Parameters
    ----------
    autoencoder : estimator object, default=None
        The autoencoder to pretrain, for instance a
        :class:`DenoisingAutoencoder`: any skae autoencoder, or an estimator
        that exposes a fitted ``encoder_`` (a :class:`torch.nn.Module`) and
        ``n_components``. It is cloned and fitted on all rows of `X`; the
        object passed is never changed. When its `random_state` is None, the
        clone gets a seed drawn from `random_state`. ``None`` means
        ``DenoisingAutoencoder(n_components=32, random_state=..., device=device)``.

        To reuse an autoencoder fitted beforehand, wrap it in
        :class:`~sklearn.frozen.FrozenEstimator`: it is then used as is, with
        no further training (see Notes).

    alpha : float, default=0.0
        L2 penalty (weight decay) on the weights being trained, passed to the
        Adam optimizer as ``weight_decay``.

    batch_size : int, default=256
        Size of the minibatches of labeled rows. Fewer labeled rows than
        `batch_size` make a single, smaller batch, so that with a few hundred
        labels each epoch is one step: pass a smaller size (64, say) for
        more steps per epoch.

    learning_rate_init : float, default=1e-3
        Learning rate of the Adam optimizer for the head.

    max_iter : int, default=200
        Maximum number of epochs (passes over the labeled rows) of the
        classifier's training, as in
        :class:`~sklearn.neural_network.MLPClassifier`. The autoencoder's own
        `max_iter` controls pretraining. Training stops sooner when the loss
        stops improving (see `tol` and `n_iter_no_change`).

    early_stopping : bool, default=False
        Whether to hold out `validation_fraction` of the labeled rows
        (stratified when every class can be represented) and stop when their
        cross-entropy stops improving, restoring the best weights seen. The
        loss, unlike the accuracy, still moves on a validation set of a few
        dozen rows.

    validation_fraction : float, default=0.1
        Proportion of the labeled rows held out for early stopping. Only used
        if `early_stopping` is True.

    n_iter_no_change : int, default=10
        Number of epochs without an improvement of at least `tol` before
        training stops.

    tol : float, default=1e-2
        Relative improvement of the monitored loss (validation cross-entropy
        with `early_stopping`, training cross-entropy otherwise) below which
        an epoch counts as no improvement.

    shuffle : bool, default=True
        Whether to shuffle the labeled rows in each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds the head's initialisation, shuffling and the validation split,
        and the autoencoder when its own `random_state` is None. Pass an int
        for reproducible results across calls. ``None`` draws a fresh seed
        from the operating system. Global numpy, python and torch RNG states
        are never changed. See :term:`Glossary <random_state>`.

    device : str, default="cpu"
        Torch device to train and infer on: ``"cpu"``, ``"cuda"``,
        ``"cuda:<index>"``, or ``"auto"`` for a GPU when one is available.
        The default autoencoder is pretrained on it too; one passed as
        `autoencoder` keeps its own `device`.

    precision : {"float32", "bfloat16"}, default="float32"
        Precision of the network's matrix products, in training and in
        `transform`. ``"bfloat16"`` runs them in bfloat16 under
        :func:`torch.autocast` (weights, gradients, the optimizer and the
        loss stay in float32): on CPUs with bfloat16 units (Intel AMX,
        recent ARM) and on GPUs several times faster, at a small cost in
        precision measured by ``benchmarks/bench_speed.py``. float64 input to
        `transform` is always computed in float64.

    verbose : int, default=0
        0 is silent; 1 or more prints a per-epoch log (through skorch).

    callbacks : list of skorch callbacks or None, default=None
        Extra :mod:`skorch.callbacks` (or ``(name, callback)`` tuples) for
        power users, e.g. a learning-rate scheduler or checkpointing. They are
        copied at `fit`, so the objects passed here are left untouched.

    unlabeled_label : int, str or None, default=-1
        Label that marks the unlabeled rows of `y`. These rows are used for
        pretraining only and are never a class. ``None`` means that every row
        is labeled, for labels in which -1 is a class (such as ``{-1, 1}``).
        A string marker (such as ``"unlabeled"``) suits string labels.

    head_hidden_layer_sizes : int or tuple of int, default=(64,)
        Widths of the hidden layers of the classification head, which maps
        the codes to class scores. ``()`` gives a linear head (multinomial
        logistic regression on the codes).

    activation : {"relu", "tanh", "sigmoid", "elu", "gelu", "identity"}, \
            default="relu"
        Activation after every hidden layer of the head.

    freeze_encoder : bool, default=False
        Whether to keep the pretrained encoder fixed and train the head only.
        When False, the encoder is fine-tuned with the learning rate
        ``learning_rate_init * encoder_learning_rate_ratio``.

    encoder_learning_rate_ratio : float, default=0.1
        Ratio of the encoder's learning rate to the head's when fine-tuning,
        so that the head can fit while the pretrained features change only
        slowly. Ignored when `freeze_encoder` is True.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels seen in the labeled rows (never `unlabeled_label`).

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    autoencoder_ : estimator object
        The pretrained autoencoder: the fitted clone of `autoencoder`, or the
        estimator inside a :class:`~sklearn.frozen.FrozenEstimator`. Its
        weights are those of pretraining; the classifier trains a copy of
        its encoder. Its `score_samples` is an anomaly score.

    net_ : skorch.NeuralNet
        The fitted skorch net that holds the encoder and head, the optimizer
        and the history.

    encoder_ : torch.nn.Module
        The classifier's encoder (fine-tuned unless `freeze_encoder`), in
        eval mode.

    n_iter_ : int
        Number of whole epochs the classifier was trained. An epoch cut short
        by Ctrl-C is not counted, though its updates are kept.

    loss_curve_ : list of float
        Training cross-entropy at the end of each epoch.

    validation_scores_ : list of float or None
        Accuracy on the held-out labeled rows at each epoch when
        `early_stopping` is True, else None.

    best_validation_score_ : float or None
        Validation accuracy of the epoch whose weights were kept (the one of
        lowest validation loss) when `early_stopping` is True, else None.

    best_loss_ : float or None
        Lowest monitored loss: validation cross-entropy with
        `early_stopping`, training cross-entropy otherwise. None if Ctrl-C
        interrupted the first epoch.

    See Also
    --------
    DenoisingAutoencoder : The default autoencoder for pretraining.
    sklearn.neural_network.MLPClassifier : A network trained on labeled rows.
    sklearn.semi_supervised.SelfTrainingClassifier : Semi-supervised
        classification by pseudo-labelling.

    Notes
    -----
    Pretraining minimises the autoencoder's reconstruction loss on all rows;
    the classifier then minimises the cross-entropy of the labeled rows with
    Adam, the encoder's parameters in their own group [1]_.

    Unlabeled rows: in a numeric `y`, -1 marks an unlabeled row. For string
    labels, either pass an object array in which unlabeled rows hold the
    integer -1, as for :class:`~sklearn.semi_supervised.SelfTrainingClassifier`,
    or set `unlabeled_label` to a string; an array of strings has no
    unlabeled rows under the default -1.

    Reusing a fitted autoencoder: ``autoencoder=FrozenEstimator(ae)`` skips
    pretraining, so one autoencoder serves several classifiers (frozen and
    fine-tuned, or different label budgets). ``ae`` itself is not changed:
    the classifier copies its encoder. :func:`~sklearn.base.clone` keeps the
    same frozen object, so in cross-validation every fold sees an encoder
    fitted on all the data it was given, including test folds.

    Training runs in float32 on `device`; `predict_proba` returns the dtype
    of its input (float32 or float64). With int `random_state`, two fits on
    the CPU give identical results.

    References
    ----------
    .. [1] D. Erhan, Y. Bengio, A. Courville, P.-A. Manzagol, P. Vincent and
       S. Bengio, "Why does unsupervised pre-training help deep learning?",
       JMLR 11, 2010.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.frozen import FrozenEstimator
    >>> from sklearn.preprocessing import minmax_scale
    >>> from skae import AutoencoderClassifier, DenoisingAutoencoder
    >>> X, y = load_digits(return_X_y=True)
    >>> X = minmax_scale(X).astype("float32")
    >>> y[200:] = -1  # only the first 200 rows are labeled
    >>> dae = DenoisingAutoencoder(
    ...     n_components=16, hidden_layer_sizes=(32,), max_iter=5, random_state=0
    ... )
    >>> clf = AutoencoderClassifier(dae, max_iter=5, random_state=0).fit(X, y)
    >>> clf.classes_
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> clf.predict(X[:3]).shape, clf.predict_proba(X[:3]).shape
    ((3,), (3, 10))

    Reuse the pretrained autoencoder, here with a frozen encoder:

    >>> frozen = AutoencoderClassifier(
    ...     FrozenEstimator(clf.autoencoder_), freeze_encoder=True, max_iter=5
    ... ).fit(X, y)
    >>> frozen.autoencoder_ is clf.autoencoder_
    True
    """

    autoencoder: Any = None
    _: KW_ONLY
    unlabeled_label: Any = -1
    head_hidden_layer_sizes: Any = (64,)
    activation: str = "relu"
    freeze_encoder: bool = False
    encoder_learning_rate_ratio: float = 0.1

    _parameter_constraints = {
        **_BaseNeuralEstimator._parameter_constraints,
        "autoencoder": [BaseEstimator, None],
        "unlabeled_label": [Integral, str, None],
        "head_hidden_layer_sizes": [
            "array-like",
            Interval(Integral, 1, None, closed="left"),
        ],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "freeze_encoder": ["boolean"],
        "encoder_learning_rate_ratio": [Interval(Real, 0, None, closed="left")],
    }

    # What the net_ is built from, besides autoencoder_ and classes_: saving
    # refuses an estimator in which one of these changed after fit.
    _network_params = (
        *_BaseNeuralEstimator._network_params,
        "head_hidden_layer_sizes",
        "activation",
        "freeze_encoder",
    )

    # The autoencoder is a nested estimator whose parameters still need to be
    # validated when it is fitted, as in SelfTrainingClassifier.
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Pretrain the autoencoder on all rows, then the classifier on labeled ones.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Training data, labeled and unlabeled rows alike.

        y : array-like of shape (n_samples,)
            Target labels, with `unlabeled_label` (-1) for unlabeled rows.

        Returns
        -------
        self : object
            Fitted estimator.
        """
        with self._unchanged_on_error():
            X, y = validate_data(
                self, X, y, accept_sparse=("csr", "csc"), dtype=FLOAT_DTYPES
            )
            unlabeled = _unlabeled_mask(y, self.unlabeled_label)
            labeled = np.flatnonzero(~unlabeled)
            y_encoded = self._encode_labels(y[labeled], has_unlabeled=unlabeled.any())
            # Checked before pretraining, which may take long.
            check_layer_sizes(self.head_hidden_layer_sizes, "head_hidden_layer_sizes")
            device = self._start()
            self.autoencoder_ = self._pretrain(X, self._seed)
            self.net_ = self._new_net(X.shape[1], device)
            y_full = np.zeros(X.shape[0], dtype=np.int64)
            y_full[labeled] = y_encoded
            dataset = RowDataset(training_data(X, device), y_full, indices=labeled)
            self._train(dataset, epochs=self.max_iter)
        return self

    def predict(self, X):
        """Predict the class of each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Predicted labels, from `classes_`.
        """
        X = self._validate_fitted_input(X)
        logits = self._predict(_logits, X)
        return self.classes_[np.argmax(logits, axis=1)]

    def predict_proba(self, X):
        """Return the probability of each class for each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Class probabilities (softmax of the head's output), in the order
            of `classes_` and the dtype of `X`.
        """
        X = self._validate_fitted_input(X)
        return self._predict(partial(_apply_to_logits, torch.softmax), X)

    def predict_log_proba(self, X):
        """Return the log-probability of each class for each sample.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Samples to classify.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Logarithm of :meth:`predict_proba`, computed stably, in the order
            of `classes_` and the dtype of `X`.
        """
        X = self._validate_fitted_input(X)
        return self._predict(partial(_apply_to_logits, torch.log_softmax), X)

    @property
    def encoder_(self):
        """The classifier's encoder (a :class:`torch.nn.Module`)."""
        return self.net_.module_.encoder

    def _encode_labels(self, y, *, has_unlabeled):
        """Check the labeled part of `y`, set `classes_`; return codes 0..k-1."""
        if y.shape[0] == 0:
            raise ValueError(
                f"y has no labeled samples: every label is {self.unlabeled_label!r}, "
                "which marks unlabeled rows (unlabeled_label). Label samples of at "
                "least 2 classes."
            )
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        if len(encoder.classes_) < 2:
            hint = ""
            if has_unlabeled:
                hint = (
                    f" Rows labeled {self.unlabeled_label!r} are unlabeled; if that "
                    "is a class, set unlabeled_label=None."
                )
            raise ValueError(
                "AutoencoderClassifier needs labeled samples of at least 2 "
                f"classes; got 1 class: {encoder.classes_[0]!r}.{hint}"
            )
        self.classes_ = encoder.classes_
        return encoder.transform(y).astype(np.int64)

    def _pretrain(self, X, seed):
        """Return the fitted autoencoder: a fitted clone, or the frozen one."""
        if isinstance(self.autoencoder, FrozenEstimator):
            autoencoder = self.autoencoder.estimator
            check_is_fitted(autoencoder)
        else:
            if self.autoencoder is None:
                autoencoder = DenoisingAutoencoder(n_components=32, device=self.device)
            else:
                autoencoder = clone(self.autoencoder)
            if autoencoder.get_params().get("random_state", 0) is None:
                autoencoder.set_params(random_state=seed)
            autoencoder.fit(X)
        if not isinstance(getattr(autoencoder, "encoder_", None), torch.nn.Module):
            raise ValueError(
                "autoencoder must be a skae autoencoder (an estimator with a fitted "
                f"torch module encoder_), but got {type(autoencoder).__name__}."
            )
        if autoencoder.n_features_in_ != X.shape[1]:
            raise ValueError(
                f"X has {X.shape[1]} features, but the frozen autoencoder was "
                f"fitted on {autoencoder.n_features_in_}."
            )
        return autoencoder

    def _new_net(self, n_features, device):
        """The uninitialised net of a new classifier for data of `n_features`.

        It builds its module when initialised, from `autoencoder_`, `classes_`
        and the seed, so that :func:`skae.load` can build the same net from
        the fitted attributes it read (and check its shapes first).
        """
        callbacks = [("valid_acc", _ValidAccuracy())] if self.early_stopping else []
        return self._make_net(
            partial(self._build_module, device),
            loss=_cross_entropy,
            n_features=n_features,
            device=device,
            callbacks=callbacks,
            **self._optimizer_groups(),
        )

    def _build_module(self, device):
        """A copy of the pretrained encoder followed by a freshly drawn head."""
        hidden = check_layer_sizes(
            self.head_hidden_layer_sizes, "head_hidden_layer_sizes"
        )
        encoder = copy.deepcopy(self.autoencoder_.encoder_).float()
        # No gradient means Adam skips these weights, weight decay included.
        encoder.requires_grad_(not self.freeze_encoder)
        with seeded(self._seed + 1, device):
            return EncoderClassifier(
                encoder,
                n_components=_n_codes(self.autoencoder_),
                n_classes=len(self.classes_),
                hidden_layer_sizes=hidden,
                activation=self.activation,
            )

    def _optimizer_groups(self):
        """The fine-tuned encoder's learning rate, as a skorch parameter group."""
        if self.freeze_encoder:
            return {}
        encoder_lr = self.learning_rate_init * self.encoder_learning_rate_ratio
        return {"optimizer__param_groups": [("encoder.*", {"lr": encoder_lr})]}

    def _validation_score(self, row):
        """The validation accuracy of an epoch."""
        return float(row["valid_acc"])

    def _validate_fitted_input(self, X):
        """Check that the model is fitted and `X` has its features."""
        check_is_fitted(self)
        return validate_data(
            self, X, accept_sparse=("csr", "csc"), dtype=FLOAT_DTYPES, reset=False
        )

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags
