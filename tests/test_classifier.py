"""AutoencoderClassifier: semi-supervised classification, and anomaly scores."""

# SPDX-License-Identifier: BSD-3-Clause

import pickle
import re

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits, make_blobs
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from skae import AutoencoderClassifier, AutoencoderTransformer, DenoisingAutoencoder

# A small autoencoder and a head that learns in a few epochs keep the tests fast.
FAST_AUTOENCODER = AutoencoderTransformer(
    n_components=4, hidden_layer_sizes=(8,), max_iter=20, batch_size=32, random_state=0
)
FAST_PARAMS = {
    "learning_rate_init": 1e-2,
    "batch_size": 32,
    "max_iter": 20,
    "random_state": 0,
}

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture
def blobs():
    """240 x 6 float32 samples of 3 well separated classes, 2/3 unlabeled (-1)."""
    X, y = make_blobs(n_samples=240, n_features=6, centers=3, random_state=0)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    y_partial = y.copy()
    y_partial[np.random.RandomState(0).rand(len(y)) < 2 / 3] = -1
    return X, y, y_partial


def _make_classifier(**params):
    """A fast classifier around a fresh copy of the small autoencoder."""
    params = {"autoencoder": clone(FAST_AUTOENCODER), **FAST_PARAMS, **params}
    return AutoencoderClassifier(**params)


def _state(module):
    """A detached copy of a module's weights."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _same_weights(a, b):
    """Whether two state dicts hold identical tensors."""
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_classifier_learns(blobs):
    """Check that a few labels suffice for a high held-out accuracy."""
    X, y, y_partial = blobs
    X_train, X_test, y_train, _, _, y_test = train_test_split(
        X, y_partial, y, test_size=0.25, random_state=0
    )
    clf = _make_classifier().fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.9
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]


def test_classifier_unlabeled_rows_pretrain_only(blobs):
    """Check that rows labeled -1 feed pretraining but are never a class."""
    X, _, y_partial = blobs
    clf = _make_classifier().fit(X, y_partial)
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])
    pretrain_rows = sum(
        clf.autoencoder_.net_.history[0, "batches", :, "train_batch_size"]
    )
    train_rows = sum(clf.net_.history[0, "batches", :, "train_batch_size"])
    assert pretrain_rows == len(X)
    assert train_rows == np.sum(y_partial != -1)
    assert set(clf.predict(X)) <= {0, 1, 2}


def test_classifier_unlabeled_label_none_makes_minus_one_a_class(blobs):
    """Check that unlabeled_label=None keeps -1 as an ordinary class."""
    X, y, _ = blobs
    y = np.where(y == 0, -1, y)
    clf = _make_classifier(unlabeled_label=None).fit(X, y)
    np.testing.assert_array_equal(clf.classes_, [-1, 1, 2])
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize("kind", ["str", "object_minus_one", "str_marker"])
def test_classifier_string_labels(blobs, kind):
    """Check that string labels are learned and predicted, unlabeled rows aside."""
    X, y, y_partial = blobs
    names = np.array(["cat", "dog", "owl"])
    if kind == "str":
        y_fit, n_labeled = names[y], len(y)
    elif kind == "object_minus_one":
        y_fit = names[y].astype(object)
        y_fit[y_partial == -1] = -1
        n_labeled = np.sum(y_partial != -1)
    else:
        y_fit = np.where(y_partial == -1, "unlabeled", names[y])
        n_labeled = np.sum(y_partial != -1)
    params = {"unlabeled_label": "unlabeled"} if kind == "str_marker" else {}
    clf = _make_classifier(**params).fit(X, y_fit)
    np.testing.assert_array_equal(clf.classes_, names)
    assert sum(clf.net_.history[0, "batches", :, "train_batch_size"]) == n_labeled
    assert np.mean(clf.predict(X) == names[y]) > 0.9


@pytest.mark.parametrize("freeze_encoder", [True, False])
def test_classifier_freeze_encoder(blobs, freeze_encoder):
    """Check that a frozen encoder keeps its pretrained weights, else it moves."""
    X, _, y_partial = blobs
    clf = _make_classifier(freeze_encoder=freeze_encoder).fit(X, y_partial)
    pretrained = _state(clf.autoencoder_.encoder_)
    assert _same_weights(_state(clf.encoder_), pretrained) == freeze_encoder
    # The autoencoder's own encoder is a separate copy.
    assert clf.encoder_ is not clf.autoencoder_.encoder_


def test_classifier_frozen_autoencoder_is_reused(blobs):
    """Check that a FrozenEstimator's autoencoder is used as is, not refitted."""
    X, _, y_partial = blobs
    autoencoder = clone(FAST_AUTOENCODER).fit(X)
    weights, n_iter = _state(autoencoder.net_.module_), autoencoder.n_iter_
    params = autoencoder.get_params()
    for freeze_encoder in [True, False]:
        clf = _make_classifier(freeze_encoder=freeze_encoder)
        clf.set_params(autoencoder=FrozenEstimator(autoencoder)).fit(X, y_partial)
        assert clf.autoencoder_ is autoencoder
        assert autoencoder.n_iter_ == n_iter
        assert autoencoder.get_params() == params
        assert _same_weights(_state(autoencoder.net_.module_), weights)
        assert clf.score(X[y_partial != -1], y_partial[y_partial != -1]) > 0.9


def test_classifier_leaves_autoencoder_param_unfitted(blobs):
    """Check that fit trains a clone and never the autoencoder passed."""
    X, _, y_partial = blobs
    autoencoder = clone(FAST_AUTOENCODER).set_params(random_state=None)
    clf = _make_classifier().set_params(autoencoder=autoencoder).fit(X, y_partial)
    assert not hasattr(autoencoder, "net_")
    assert autoencoder.random_state is None
    # A None random_state is drawn from the classifier's, for reproducibility.
    assert isinstance(clf.autoencoder_.random_state, int)


def test_classifier_default_autoencoder():
    """Check that autoencoder=None pretrains a DenoisingAutoencoder of 32 codes."""
    X, y = make_blobs(n_samples=40, n_features=4, random_state=0)
    clf = AutoencoderClassifier(max_iter=2, random_state=0).fit(X, y)
    assert isinstance(clf.autoencoder_, DenoisingAutoencoder)
    assert clf.autoencoder_.n_components == 32
    assert clf.get_params()["autoencoder"] is None


def test_classifier_reproducible_and_global_rng_untouched(blobs):
    """Check that the same random_state gives identical fits and spares global RNGs."""
    X, _, y_partial = blobs
    torch_state = torch.get_rng_state()
    # The legacy global numpy RNG is exactly what must stay untouched.
    numpy_state = np.random.get_state()[1].copy()  # noqa: NPY002
    clf_1 = _make_classifier(random_state=3).fit(X, y_partial)
    clf_2 = _make_classifier(random_state=3).fit(X, y_partial)
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)  # noqa: NPY002
    np.testing.assert_array_equal(clf_1.predict_proba(X), clf_2.predict_proba(X))
    clf_3 = _make_classifier(random_state=4).fit(X, y_partial)
    assert not np.array_equal(clf_1.predict_proba(X), clf_3.predict_proba(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_classifier_predict_proba_dtype(blobs, dtype):
    """Check that probabilities keep the input dtype, sum to 1 and match predict."""
    X, _, y_partial = blobs
    clf = _make_classifier().fit(X.astype(dtype), y_partial)
    proba = clf.predict_proba(X.astype(dtype))
    assert proba.dtype == dtype
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(
        np.exp(clf.predict_log_proba(X.astype(dtype))), proba, rtol=1e-4
    )
    np.testing.assert_array_equal(
        clf.classes_[proba.argmax(axis=1)], clf.predict(X.astype(dtype))
    )


def test_classifier_pickle_round_trip(blobs):
    """Check that a pickled classifier predicts exactly as the original."""
    X, _, y_partial = blobs
    clf = _make_classifier().fit(X, y_partial)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    np.testing.assert_array_equal(restored.classes_, clf.classes_)


def test_classifier_early_stopping(blobs):
    """Check that early stopping records validation accuracies and keeps the best."""
    X, y, _ = blobs
    # Weight decay keeps the loss of separable classes from falling towards
    # zero by a constant factor each epoch, which a relative tol never stops.
    clf = _make_classifier(
        early_stopping=True, max_iter=50, n_iter_no_change=3, tol=0.05, alpha=1e-4
    )
    clf.fit(X, y)
    assert len(clf.validation_scores_) == clf.n_iter_ < 50
    assert all(0 <= score <= 1 for score in clf.validation_scores_)
    # The weights kept are those of the best epoch: no epoch improved on its
    # validation loss by more than the relative `tol`.
    valid_loss = list(clf.net_.history[:, "valid_loss"])
    assert clf.best_loss_ in valid_loss
    assert min(valid_loss) >= clf.best_loss_ * (1 - clf.tol)
    best = valid_loss.index(clf.best_loss_)
    assert clf.best_validation_score_ == clf.validation_scores_[best]


@pytest.mark.parametrize("early_stopping", [False, True])
def test_classifier_keyboard_interrupt_in_the_first_epoch(
    blobs, early_stopping, monkeypatch
):
    """Check that Ctrl-C before the classifier's first epoch ends leaves it usable."""
    from skae._engine.net import Net
    from skae._modules.mlp import EncoderClassifier

    X, y, _ = blobs
    train_step_single = Net.train_step_single

    def interrupt(self, batch, **fit_params):
        # The classifier's net, not the autoencoder's.
        if isinstance(self.module_, EncoderClassifier):
            raise KeyboardInterrupt
        return train_step_single(self, batch, **fit_params)

    monkeypatch.setattr(Net, "train_step_single", interrupt)
    clf = _make_classifier(early_stopping=early_stopping)
    # The classifier has no warm_start to continue with.
    with pytest.warns(UserWarning, match=r"after 0 of .* Save it with") as record:
        clf.fit(X, y)
    (stopped,) = [w for w in record if "Training was stopped" in str(w.message)]
    assert stopped.filename == __file__
    assert clf.n_iter_ == 0
    assert clf.loss_curve_ == []
    assert clf.best_loss_ is None
    assert clf.best_validation_score_ is None
    assert clf.predict(X).shape == y.shape


def test_classifier_error_before_early_stopping_began_stays_visible(blobs, monkeypatch):
    """Check that an error before early stopping's on_train_begin is not hidden
    by the fitted attributes read after it."""
    from skae._engine.callbacks import DivergenceCheck
    from skae._modules.mlp import EncoderClassifier

    def fail(self, net, **kwargs):
        if isinstance(net.module_, EncoderClassifier):
            raise RuntimeError("disk full")

    monkeypatch.setattr(DivergenceCheck, "on_train_begin", fail, raising=False)
    X, y, _ = blobs
    with pytest.raises(RuntimeError, match="disk full"):
        _make_classifier(early_stopping=True).fit(X, y)


def test_classifier_keyboard_interrupt_after_the_epoch_losses(blobs, monkeypatch):
    """Check that Ctrl-C right after an epoch's losses are recorded leaves the
    classifier with that epoch's accuracy and the best weights."""
    from skae._engine.callbacks import DivergenceCheck
    from skae._modules.mlp import EncoderClassifier

    X, y, _ = blobs
    reference = _make_classifier(early_stopping=True, max_iter=2).fit(X, y)
    check = DivergenceCheck.on_epoch_end

    def interrupt_at_second_epoch(self, net, **kwargs):
        check(self, net, **kwargs)
        # The classifier's net, not the autoencoder's.
        if isinstance(net.module_, EncoderClassifier) and len(net.history) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(DivergenceCheck, "on_epoch_end", interrupt_at_second_epoch)
    clf = _make_classifier(early_stopping=True, max_iter=10).fit(X, y)
    assert clf.n_iter_ == 2
    assert clf.validation_scores_ == reference.validation_scores_
    assert clf.best_loss_ == reference.best_loss_
    np.testing.assert_array_equal(clf.predict_proba(X), reference.predict_proba(X))


@pytest.mark.parametrize(
    "y_change, message",
    [
        (lambda y: np.full_like(y, -1), "no labeled samples"),
        (lambda y: np.where(y == 0, 0, -1), "at least 2 classes.*unlabeled_label=None"),
        (lambda y: y + 0.5, "Unknown label type"),
    ],
)
def test_classifier_invalid_labels(blobs, y_change, message):
    """Check that unusable labels raise a clear ValueError before any training."""
    X, y, _ = blobs
    with pytest.raises(ValueError, match=message):
        _make_classifier().fit(X, y_change(y))


def test_classifier_invalid_autoencoder(blobs):
    """Check that unusable autoencoders raise clear errors."""
    X, y, _ = blobs
    with pytest.raises(ValueError, match="must be a skae autoencoder"):
        _make_classifier().set_params(autoencoder=PCA(n_components=2)).fit(X, y)
    with pytest.raises(NotFittedError):
        clf = _make_classifier()
        clf.set_params(autoencoder=FrozenEstimator(clone(FAST_AUTOENCODER)))
        clf.fit(X, y)
    autoencoder = clone(FAST_AUTOENCODER).fit(X[:, :5])
    message = re.escape("X has 6 features, but the frozen autoencoder was fitted on 5")
    with pytest.raises(ValueError, match=message):
        _make_classifier(autoencoder=FrozenEstimator(autoencoder)).fit(X, y)
    with pytest.raises(ValueError, match="head_hidden_layer_sizes must be positive"):
        _make_classifier(head_hidden_layer_sizes=(4, 0)).fit(X, y)


@pytest.mark.cuda
def test_classifier_cuda_matches_labels(blobs):
    """Check that training on the GPU learns and predicts on the CPU's terms."""
    X, y, y_partial = blobs
    autoencoder = clone(FAST_AUTOENCODER).set_params(device="cuda")
    clf = _make_classifier(autoencoder=autoencoder, device="cuda").fit(X, y_partial)
    assert torch.device(clf.net_.device).type == "cuda"
    proba = clf.predict_proba(X)
    assert proba.dtype == np.float32 and isinstance(proba, np.ndarray)
    assert clf.score(X, y) > 0.9


def test_autoencoder_score_samples_flags_left_out_class():
    """Check that reconstruction error separates a digit left out of training."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    normal = y != 0
    X_train, X_test = train_test_split(X[normal], test_size=0.25, random_state=0)
    autoencoder = AutoencoderTransformer(
        n_components=8,
        hidden_layer_sizes=(32,),
        max_iter=30,
        batch_size=64,
        random_state=0,
    ).fit(X_train)
    scores = np.concatenate(
        [autoencoder.score_samples(X_test), autoencoder.score_samples(X[~normal])]
    )
    is_outlier = np.r_[np.zeros(len(X_test)), np.ones(np.sum(~normal))]
    # score_samples is higher for normal samples, so its negative flags outliers.
    assert roc_auc_score(is_outlier, -scores) > 0.8
