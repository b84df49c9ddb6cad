"""Shared behaviour of the three autoencoders (parametrized over the classes)."""

# SPDX-License-Identifier: BSD-3-Clause

import io
import pickle
import random
import warnings
from unittest import mock

import joblib
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn
import torch
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler
from skorch.callbacks import Callback

import skae
from skae import AutoencoderImputer, AutoencoderTransformer
from skae._engine.data import RowDataset, validation_split
from tests.conftest import FAST_PARAMS

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

PARAMS = {**FAST_PARAMS, "n_components": 2}


def _fit(Estimator, X, **params):
    """Fit an estimator with the fast parameters, overridden by `params`."""
    return Estimator(**{**PARAMS, **params}).fit(X)


def test_pipeline_grid_search_over_n_components(Estimator, X_lowrank):
    """Check that the estimator works in a Pipeline searched by GridSearchCV."""
    y = (X_lowrank[:, 0] > np.median(X_lowrank[:, 0])).astype(int)
    pipe = make_pipeline(MinMaxScaler(), Estimator(**PARAMS), LogisticRegression())
    step = type(pipe[1]).__name__.lower()
    search = GridSearchCV(pipe, {f"{step}__n_components": [1, 3]}, cv=2)
    search.fit(X_lowrank, y)
    assert search.best_params_[f"{step}__n_components"] in (1, 3)
    assert 0.5 <= search.score(X_lowrank, y) <= 1.0


def test_set_output_pandas_names_columns(Estimator, X_lowrank):
    """Check that set_output(transform="pandas") gives prefixed column names."""
    columns = [f"f{i}" for i in range(X_lowrank.shape[1])]
    df = pd.DataFrame(X_lowrank, columns=columns)
    ae = Estimator(**PARAMS).set_output(transform="pandas").fit(df)
    Z = ae.transform(df)
    prefix = Estimator.__name__.lower()
    assert list(Z.columns) == [f"{prefix}0", f"{prefix}1"]
    assert_array_equal(ae.feature_names_in_, columns)
    assert_array_equal(ae.get_feature_names_out(), [f"{prefix}0", f"{prefix}1"])


@pytest.mark.parametrize("method", ["transform", "score_samples", "inverse_transform"])
def test_methods_preserve_dtype(Estimator, X_lowrank, dtype, method):
    """Check that float32 and float64 inputs give outputs of the same dtype."""
    X = X_lowrank.astype(dtype)
    ae = _fit(Estimator, X)
    data = ae.transform(X) if method == "inverse_transform" else X
    assert getattr(ae, method)(data).dtype == dtype


def test_fit_leaves_input_unchanged(Estimator, X_lowrank, dtype):
    """Check that fit and transform never modify the caller's array."""
    X = X_lowrank.astype(dtype)
    X_copy = X.copy()
    ae = _fit(Estimator, X)
    ae.transform(X)
    ae.score(X)
    assert_array_equal(X, X_copy)


def test_fit_same_random_state_is_reproducible(Estimator, X_lowrank):
    """Check that two fits with the same int random_state give identical codes."""
    Z1 = _fit(Estimator, X_lowrank, random_state=3).transform(X_lowrank)
    Z2 = _fit(Estimator, X_lowrank, random_state=3).transform(X_lowrank)
    Z3 = _fit(Estimator, X_lowrank, random_state=4).transform(X_lowrank)
    assert_array_equal(Z1, Z2)
    assert not np.allclose(Z1, Z3)


@pytest.mark.parametrize("random_state", [0, None, np.random.RandomState(0)])
def test_fit_leaves_global_rng_untouched(Estimator, X_lowrank, random_state):
    """Check that fit leaves the torch, numpy and python global RNGs as found."""
    torch_state = torch.random.get_rng_state()
    numpy_state = np.random.get_state()  # noqa: NPY002 (the global state is the point)
    python_state = random.getstate()
    _fit(Estimator, X_lowrank, random_state=random_state, early_stopping=True)
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    assert_array_equal(np.random.get_state()[1], numpy_state[1])  # noqa: NPY002
    assert random.getstate() == python_state


def test_fit_seeds_only_the_generators_it_restores(Estimator, X_lowrank, monkeypatch):
    """Check that fit reseeds no GPU it does not train on.

    ``torch.manual_seed`` reseeds every GPU's generator, which the RNG fork
    around training does not restore.
    """
    seed_all = mock.Mock()
    monkeypatch.setattr(torch.cuda, "manual_seed_all", seed_all)
    _fit(Estimator, X_lowrank, early_stopping=True)
    seed_all.assert_not_called()


def test_fit_decreases_loss(Estimator, X_lowrank):
    """Check that training lowers the loss and records sklearn-style attributes."""
    ae = _fit(Estimator, X_lowrank, max_iter=30)
    assert ae.n_iter_ == len(ae.loss_curve_) <= 30
    assert ae.loss_curve_[-1] < ae.loss_curve_[0]
    assert ae.best_loss_ == min(ae.loss_curve_)
    assert ae.validation_scores_ is None
    X_reconstructed = ae.inverse_transform(ae.transform(X_lowrank))
    error = np.mean((X_reconstructed - X_lowrank) ** 2)
    assert_allclose(ae.reconstruction_error_, error, rtol=1e-5)
    assert not ae.encoder_.training and not ae.decoder_.training


def test_score_is_negative_reconstruction_mse(ReconstructionEstimator, X_lowrank):
    """Check that score and score_samples are the negative reconstruction MSE."""
    ae = _fit(ReconstructionEstimator, X_lowrank)
    X_reconstructed = ae.inverse_transform(ae.transform(X_lowrank))
    errors = ((X_lowrank - X_reconstructed) ** 2).mean(axis=1)
    assert_allclose(ae.score_samples(X_lowrank), -errors, rtol=1e-6)
    assert_allclose(ae.score(X_lowrank), -errors.mean(), rtol=1e-6)


def test_early_stopping_records_validation(Estimator, X_lowrank):
    """Check that early stopping records validation scores and stops on a plateau."""
    ae = _fit(Estimator, X_lowrank, early_stopping=True, max_iter=300, tol=0.5)
    assert ae.n_iter_ < 300
    assert len(ae.validation_scores_) == ae.n_iter_
    assert ae.best_validation_score_ == max(ae.validation_scores_)
    assert ae.best_loss_ == -ae.best_validation_score_


class _WorsenFromEpoch(Callback):
    """Shift every weight before each epoch from `epoch` on: no later epoch
    can beat the validation loss of the epochs before."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_begin(self, net, **kwargs):
        """Shift the weights once the history holds epoch `epoch`."""
        if len(net.history) >= self.epoch:
            with torch.no_grad():
                for parameter in net.module_.parameters():
                    parameter.add_(1.0)


def test_warm_start_with_early_stopping_ends_on_the_best_of_all_fits(
    Estimator, X_lowrank
):
    """Check that a warm-started fit that never improves restores the first
    fit's best weights, which best_loss_ describes (as in MLP), when training
    does not end on an average."""
    ae = _fit(
        Estimator,
        X_lowrank,
        early_stopping=True,
        average_decay=0,
        warm_start=True,
        callbacks=[_WorsenFromEpoch(PARAMS["max_iter"] + 1)],
    )
    Z, best_loss = ae.transform(X_lowrank), ae.best_loss_
    ae.fit(X_lowrank)
    assert ae.n_iter_ == 2 * PARAMS["max_iter"]
    assert max(ae.validation_scores_[PARAMS["max_iter"] :]) < -best_loss
    assert ae.best_loss_ == best_loss
    assert_array_equal(ae.transform(X_lowrank), Z)


def test_auto_early_stopping_follows_the_data_size(Estimator, X_lowrank, monkeypatch):
    """Check that early_stopping="auto" holds out rows on data of at least
    LARGE_DATA_VALUES values, trains on every row below that and in
    partial_fit, and that a warm start keeps the first fit's choice."""
    small = _fit(Estimator, X_lowrank)
    assert small.early_stopping == "auto"
    assert not small.do_early_stopping_ and small.validation_scores_ is None
    monkeypatch.setattr(skae._autoencoder_base, "LARGE_DATA_VALUES", X_lowrank.size)
    large = _fit(Estimator, X_lowrank, warm_start=True)
    assert large.do_early_stopping_
    assert len(large.validation_scores_) == large.n_iter_ == PARAMS["max_iter"]
    large.fit(X_lowrank[:-1])  # fewer values now: the network's held-out rows stay
    assert large.do_early_stopping_
    assert len(large.validation_scores_) == 2 * PARAMS["max_iter"]
    assert not _fit(Estimator, X_lowrank, early_stopping=False).do_early_stopping_
    partial = Estimator(**PARAMS).partial_fit(X_lowrank)
    assert not partial.do_early_stopping_ and partial.validation_scores_ is None


def test_partial_fit_refuses_early_stopping(Estimator, X_lowrank):
    """Check that partial_fit, which trains on every row, refuses early stopping."""
    with pytest.raises(ValueError, match="partial_fit does not support early"):
        Estimator(**PARAMS, early_stopping=True).partial_fit(X_lowrank)


@pytest.mark.parametrize(
    "params",
    [
        {"n_components": 3},
        {"hidden_layer_sizes": (4,)},
        {"activation": "tanh"},
        {"init": "random"},
        {"image_shape": (-1, 1)},
    ],
    ids=lambda params: next(iter(params)),
)
def test_continued_training_refuses_a_changed_network(Estimator, X_lowrank, params):
    """Check that warm_start and partial_fit refuse a network parameter changed
    by set_params, naming it, leave the fitted model untouched, and that
    skae.save refuses the estimator until the parameter is set back."""
    from skae import save

    ae = _fit(Estimator, X_lowrank, warm_start=True)
    Z, n_iter = ae.transform(X_lowrank), ae.n_iter_
    before = ae.get_params()
    ae.set_params(**params)
    name = next(iter(params))
    with pytest.raises(
        ValueError, match=f"Changed since the network was built: {name}"
    ):
        ae.fit(X_lowrank)
    with pytest.raises(
        ValueError, match=f"Changed since the network was built: {name}"
    ):
        ae.partial_fit(X_lowrank)
    with pytest.raises(
        ValueError, match=f"Changed since this estimator was fitted: {name}"
    ):
        save(ae, io.BytesIO())
    assert ae.n_iter_ == n_iter
    assert_array_equal(ae.set_params(**{name: before[name]}).transform(X_lowrank), Z)
    save(ae, io.BytesIO())
    ae.set_params(**params, warm_start=False).fit(X_lowrank)  # a new network


@pytest.mark.parametrize("first", [True, False])
def test_continued_training_refuses_a_changed_early_stopping(
    Estimator, first, X_lowrank
):
    """Check that warm_start and partial_fit refuse to continue a training
    whose early_stopping was switched: the net would still do the first's."""
    ae = _fit(Estimator, X_lowrank, early_stopping=first, warm_start=True)
    ae.set_params(early_stopping=not first)
    with pytest.raises(ValueError, match="Changed since the network was built"):
        ae.fit(X_lowrank)
    if first:  # partial_fit refuses early_stopping=True before anything else
        with pytest.raises(ValueError, match="Changed since the network was built"):
            ae.partial_fit(X_lowrank)
    ae.set_params(warm_start=False).fit(X_lowrank)
    assert (ae.validation_scores_ is not None) == (not first)


def test_fit_warns_when_max_iter_is_reached(Estimator, X_lowrank):
    """Check that fit warns, as MLP does, when training has not converged."""
    with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
        Estimator(**PARAMS).fit(X_lowrank)


def test_partial_fit_continues_training(Estimator, X_lowrank):
    """Check that partial_fit runs one epoch per call and keeps the weights."""
    ae = Estimator(**PARAMS)
    ae.partial_fit(X_lowrank)
    weights = [p.detach().clone() for p in ae.encoder_.parameters()]
    ae.partial_fit(X_lowrank)
    assert ae.n_iter_ == 2
    changed = [
        not torch.equal(w, p)
        for w, p in zip(weights, ae.encoder_.parameters(), strict=True)
    ]
    assert any(changed)


def test_warm_start_continues_from_fitted_weights(Estimator, X_lowrank):
    """Check that warm_start=True resumes training instead of restarting: two
    fits of 5 epochs are one fit of 10 (ending on the last weights: each
    training call ends on its own average of the weights otherwise)."""
    ae = _fit(Estimator, X_lowrank, warm_start=True, average_decay=0)
    ae.fit(X_lowrank)
    assert ae.n_iter_ == 2 * PARAMS["max_iter"]
    assert ae.loss_curve_[PARAMS["max_iter"]] < ae.loss_curve_[0]
    whole = _fit(Estimator, X_lowrank, max_iter=2 * PARAMS["max_iter"], average_decay=0)
    assert ae.loss_curve_ == whole.loss_curve_
    assert_array_equal(ae.transform(X_lowrank), whole.transform(X_lowrank))


@pytest.mark.parametrize("n_samples, n_features", [(1, 5), (7, 5), (40, 1)])
def test_fit_small_shapes(Estimator, n_samples, n_features):
    """Check that one sample, one feature and fewer samples than a batch work."""
    X = np.random.RandomState(0).uniform(size=(n_samples, n_features))
    ae = _fit(Estimator, X, n_components=1, batch_size=32)
    assert ae.transform(X).shape == (n_samples, 1)
    assert ae.inverse_transform(ae.transform(X)).shape == X.shape


@pytest.mark.parametrize("fmt", ["csr", "csc"])
def test_sparse_input_matches_dense(Estimator, X_lowrank, fmt):
    """Check that sparse input gives the same model and codes as dense input."""
    X = np.where(X_lowrank > 0.5, X_lowrank, 0.0)
    Z_dense = _fit(Estimator, X).transform(X)
    X_sparse = sp.csr_matrix(X).asformat(fmt)
    ae = _fit(Estimator, X_sparse)
    assert_allclose(ae.transform(X_sparse), Z_dense, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dump, load", [(pickle.dumps, pickle.loads), ("joblib", None)])
def test_persistence_round_trip(Estimator, X_lowrank, tmp_path, dump, load):
    """Check that pickle and joblib round trips give identical outputs."""
    ae = _fit(Estimator, X_lowrank)
    if dump == "joblib":
        joblib.dump(ae, tmp_path / "ae.joblib")
        restored = joblib.load(tmp_path / "ae.joblib")
    else:
        restored = load(dump(ae))
    assert_array_equal(restored.transform(X_lowrank), ae.transform(X_lowrank))
    assert restored.score(X_lowrank) == ae.score(X_lowrank)


def test_clone_is_unfitted_with_same_params(Estimator, X_lowrank):
    """Check that clone gives an unfitted copy with the same parameters."""
    ae = _fit(Estimator, X_lowrank)
    copy = clone(ae)
    assert copy.get_params() == ae.get_params()
    with pytest.raises(NotFittedError):
        copy.transform(X_lowrank)


def test_callbacks_parameter_is_not_mutated(Estimator, X_lowrank):
    """Check that user callbacks are copied, not changed, by fit."""

    class CountEpochs(Callback):
        def initialize(self):
            self.n_epochs = 0
            return self

        def on_epoch_end(self, net, **kwargs):
            self.n_epochs += 1

    callback = CountEpochs()
    ae = _fit(Estimator, X_lowrank, callbacks=[("count", callback)])
    assert not hasattr(callback, "n_epochs")
    assert dict(ae.net_.callbacks_)["count"].n_epochs == PARAMS["max_iter"]


def test_verbose_prints_epoch_log(Estimator, X_lowrank, capsys):
    """Check that verbose=1 prints skorch's per-epoch log, and 0 prints nothing."""
    _fit(Estimator, X_lowrank, max_iter=2)
    assert capsys.readouterr().out == ""
    _fit(Estimator, X_lowrank, max_iter=2, verbose=1)
    assert "train_loss" in capsys.readouterr().out


def test_device_auto_resolves(Estimator, X_lowrank):
    """Check that device="auto" picks CUDA when there is one and CPU otherwise."""
    ae = _fit(Estimator, X_lowrank, device="auto")
    assert ae.net_.device == ("cuda" if torch.cuda.is_available() else "cpu")


# ----------------------------------------------------------------------------
# Errors: each names the problem and the fix.


@pytest.mark.parametrize(
    "value, match", [(np.nan, "Input X contains NaN"), (np.inf, "infinity")]
)
def test_fit_rejects_non_finite(Estimator, X_lowrank, value, match):
    """Check that NaN and inf raise sklearn's ValueError suggesting an imputer."""
    X = X_lowrank.copy()
    X[3, 2] = value
    with pytest.raises(ValueError, match=match):
        Estimator(**PARAMS).fit(X)


def test_fit_rejects_strings(Estimator):
    """Check that text input raises a ValueError suggesting an encoder."""
    X = np.array([["a", "b"], ["c", "d"]], dtype=object)
    with pytest.raises(ValueError, match=r"needs numeric input.*OneHotEncoder"):
        Estimator(**PARAMS).fit(X)


def test_fit_rejects_empty_input(Estimator):
    """Check that an empty array raises a ValueError."""
    with pytest.raises(ValueError, match="0 sample"):
        Estimator(**PARAMS).fit(np.empty((0, 3)))


def test_transform_rejects_wrong_number_of_features(Estimator, X_lowrank):
    """Check that transform names the expected number of features."""
    ae = _fit(Estimator, X_lowrank)
    with pytest.raises(ValueError, match=r"X has 4 features.*expecting 10"):
        ae.transform(X_lowrank[:, :4])


@pytest.mark.parametrize("method", ["transform", "score_samples", "partial_fit"])
@pytest.mark.parametrize(
    "value, match", [(np.nan, "Input X contains NaN"), (np.inf, "infinity")]
)
def test_fitted_methods_reject_non_finite(Estimator, X_lowrank, method, value, match):
    """Check that NaN and inf after fit raise the same errors as in fit."""
    ae = _fit(Estimator, X_lowrank)
    for dtype in (np.float64, np.float32):
        X = X_lowrank.astype(dtype)
        X[3, 2] = value
        with pytest.raises(ValueError, match=match):
            getattr(ae, method)(X)


def test_transform_checks_plain_arrays_itself(X_lowrank):
    """Check that a plain float array skips validate_data, with the same codes."""
    ae = _fit(AutoencoderTransformer, X_lowrank)
    read_only = X_lowrank.copy()
    read_only.flags.writeable = False  # not plain: goes through validate_data
    expected = ae.transform(read_only)
    with mock.patch("skae._autoencoder_base.validate_data", side_effect=AssertionError):
        assert_array_equal(ae.transform(X_lowrank), expected)
        assert_array_equal(ae.transform(np.asfortranarray(X_lowrank)), expected)


def test_transform_skips_the_finite_check_when_told_to(X_lowrank):
    """Check that scikit-learn's assume_finite skips the NaN check of a plain
    array, as validate_data skips its own, and NaN gives NaN codes."""
    ae = _fit(AutoencoderTransformer, X_lowrank)
    X = X_lowrank.copy()
    X[3, 2] = np.nan
    with (
        sklearn.config_context(assume_finite=True),
        mock.patch("skae._autoencoder_base.validate_data", side_effect=AssertionError),
    ):
        codes = ae.transform(X)
    assert np.isnan(codes[3]).all()
    assert np.isfinite(np.delete(codes, 3, axis=0)).all()


def test_transform_accepts_finite_data_whose_sum_overflows(X_lowrank):
    """Check that finite values summing to inf are not mistaken for inf."""
    ae = _fit(AutoencoderTransformer, X_lowrank)
    X = np.full((3, 10), np.finfo(np.float32).max, dtype=np.float32)
    assert ae.transform(X).shape == (3, 2)


@pytest.mark.parametrize("scale", [1e20, 3e38])
def test_fit_refuses_values_too_large_for_float32(Estimator, X_lowrank, scale):
    """Check that values near float32's maximum get a clear error before any
    work (they crashed the PCA start's SVD), and leave the estimator unfitted."""
    ae = Estimator(**PARAMS)
    with pytest.raises(ValueError, match=r"as large as .* Scale the data"):
        ae.fit(X_lowrank * scale)
    assert not hasattr(ae, "n_features_in_")
    assert not hasattr(ae, "net_")


def test_inverse_transform_rejects_wrong_width(Estimator, X_lowrank):
    """Check that inverse_transform names n_components when given other widths."""
    ae = _fit(Estimator, X_lowrank)
    with pytest.raises(ValueError, match=r"expects 2 \(n_components_\)"):
        ae.inverse_transform(X_lowrank)


def test_bce_rejects_data_outside_unit_interval(ReconstructionEstimator, X_lowrank):
    """Check that loss='bce' on data outside [0, 1] suggests MinMaxScaler."""
    ae = ReconstructionEstimator(**PARAMS, loss="bce", output_activation="sigmoid")
    with pytest.raises(ValueError, match=r"needs data in \[0, 1\].*MinMaxScaler"):
        ae.fit(X_lowrank * 2 - 0.5)
    ae.fit(X_lowrank)
    with pytest.raises(ValueError, match=r"needs data in \[0, 1\].*MinMaxScaler"):
        ae.transform(X_lowrank * 2 - 0.5)


def test_bce_requires_sigmoid_output(ReconstructionEstimator, X_lowrank):
    """Check that loss='bce' without a sigmoid output raises a clear error."""
    with pytest.raises(ValueError, match="output_activation='sigmoid'"):
        ReconstructionEstimator(**PARAMS, loss="bce").fit(X_lowrank)


def test_bce_trains_on_unit_interval_data(ReconstructionEstimator, X_lowrank):
    """Check that loss='bce' with sigmoid outputs trains on data in [0, 1]."""
    ae = _fit(
        ReconstructionEstimator, X_lowrank, loss="bce", output_activation="sigmoid"
    )
    X_reconstructed = ae.inverse_transform(ae.transform(X_lowrank))
    assert X_reconstructed.min() >= 0 and X_reconstructed.max() <= 1


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_components": 0}, "'n_components' parameter"),
        ({"activation": "swish"}, "'activation' parameter"),
        ({"loss": "l1"}, "'loss' parameter"),
        ({"device": 3}, "'device' parameter"),
        ({"hidden_layer_sizes": (8, 0)}, "hidden_layer_sizes must be positive"),
        ({"device": "tpu-9"}, "not a device torch knows"),
    ],
)
def test_fit_rejects_invalid_params(ReconstructionEstimator, X_lowrank, params, match):
    """Check that invalid parameter values raise a ValueError naming them."""
    with pytest.raises(ValueError, match=match):
        ReconstructionEstimator(**{**PARAMS, **params}).fit(X_lowrank)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without GPU")
def test_fit_rejects_cuda_without_gpu(Estimator, X_lowrank):
    """Check that device='cuda' without a GPU suggests 'cpu' or 'auto'."""
    with pytest.raises(ValueError, match=r"no CUDA GPU.*device='auto'"):
        _fit(Estimator, X_lowrank, device="cuda")


def test_fit_reports_divergence(Estimator, X_lowrank):
    """Check that a non-finite loss stops training with advice on scaling."""
    with pytest.raises(ValueError, match=r"diverged.*StandardScaler.*learning_rate"):
        _fit(Estimator, X_lowrank, learning_rate_init=1e15)


def test_fit_without_warnings_when_converged(Estimator, X_lowrank):
    """Check that no ConvergenceWarning is raised when the loss plateaus."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        _fit(Estimator, X_lowrank, max_iter=500, tol=0.5, n_iter_no_change=2)


@pytest.mark.parametrize("file_dtype", [np.float32, np.uint8])
def test_memmap_fit_matches_in_memory_fit(Estimator, tmp_path, file_dtype):
    """Check that a memmap (read in batches, pages released) fits like an array."""
    rng = np.random.RandomState(0)
    X = (rng.uniform(size=(300, 12)) * (255 if file_dtype == np.uint8 else 1)).astype(
        file_dtype
    )
    mapped = np.lib.format.open_memmap(
        tmp_path / "X.npy", mode="w+", dtype=file_dtype, shape=X.shape
    )
    mapped[:] = X
    mapped.flush()
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    in_memory = _fit(Estimator, X.astype(np.float64) if file_dtype == np.uint8 else X)
    from_file = _fit(Estimator, mapped)
    expected = in_memory.transform(X)
    assert_allclose(from_file.transform(mapped), expected, rtol=1e-6, atol=1e-7)
    assert from_file.transform(mapped).dtype == expected.dtype


def test_pca_init_starts_at_pca(Estimator, X_lowrank):
    """Check that init='pca' starts from PCA's reconstruction (lr ~ 0: no step)."""
    ae = _fit(Estimator, X_lowrank, n_components=3, learning_rate_init=1e-12)
    pca = PCA(n_components=3).fit(X_lowrank)
    assert_allclose(
        ae.inverse_transform(ae.transform(X_lowrank)),
        pca.inverse_transform(pca.transform(X_lowrank)),
        atol=1e-5,
    )


def test_pca_init_improves_on_pca(X_lowrank):
    """Check that training from the PCA start ends below PCA's error.

    (Only the plain kind minimises the clean reconstruction error alone.)
    """
    ae = _fit(AutoencoderTransformer, X_lowrank, max_iter=20)
    pca = PCA(n_components=PARAMS["n_components"]).fit(X_lowrank)
    pca_error = np.mean(
        (pca.inverse_transform(pca.transform(X_lowrank)) - X_lowrank) ** 2
    )
    assert ae.reconstruction_error_ < pca_error


def test_random_init_is_a_plain_mlp(ReconstructionEstimator, X_lowrank):
    """Check that init='random' trains the plain MLP, without the linear maps."""
    ae = _fit(ReconstructionEstimator, X_lowrank, init="random", max_iter=30)
    assert isinstance(ae.encoder_, torch.nn.Sequential)
    assert ae.loss_curve_[-1] < 0.5 * ae.loss_curve_[0]


@pytest.mark.parametrize("shape", [(300, 20), (15, 40)], ids=["tall", "wide"])
def test_principal_axes_match_the_svd(shape):
    """Check that the PCA start's axes (from the Gram matrix for tall data)
    are the SVD's leading right singular vectors, up to sign."""
    from skae._autoencoder_base import principal_axes

    rng = np.random.RandomState(0)
    X = torch.from_numpy(rng.normal(size=shape) * np.linspace(3, 0.1, shape[1]))
    centered = (X - X.mean(dim=0)).float()
    axes = principal_axes(centered)
    _, _, Vt = torch.linalg.svd(centered, full_matrices=False)
    k = min(shape) // 2
    cosines = (axes[:k] * Vt[:k]).sum(dim=1).abs()
    assert_allclose(cosines.numpy(), 1, atol=1e-4)


class _WeightsAfterEachBatch(Callback):
    """Record the module's weights after every training batch."""

    def on_train_begin(self, net, **kwargs):
        self.weights = []

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            params = net.module_.parameters()
            self.weights.append([p.detach().clone() for p in params])


def _recorded(estimator):
    """The weights recorded after each batch of the last training call."""
    return dict(estimator.net_.callbacks_)["record"].weights


@pytest.mark.parametrize("Estimator", [AutoencoderTransformer, AutoencoderImputer])
def test_average_decay_ends_on_the_moving_average(Estimator, X_lowrank):
    """Check that the fitted weights are the exponential moving average of
    the weights after each training batch, and the training history that of
    the same fit ending on its last weights (average_decay=0)."""
    params = {**PARAMS, "average_decay": 0.9}
    averaged = Estimator(**params, callbacks=[("record", _WeightsAfterEachBatch())])
    averaged.fit(X_lowrank)
    last = Estimator(**{**params, "average_decay": 0}).fit(X_lowrank)
    assert averaged.loss_curve_ == last.loss_curve_
    history = _recorded(averaged)
    expected = history[0]
    for t, weights in enumerate(history[1:], start=1):
        decay = min(0.9, (1 + t) / (10 + t))  # warming up over the first steps
        expected = [
            a + (1 - decay) * (w - a) for a, w in zip(expected, weights, strict=True)
        ]
    fitted = [p.detach() for p in averaged.module_.parameters()]
    for got, want in zip(fitted, expected, strict=True):
        torch.testing.assert_close(got, want)
    for got, final in zip(last.module_.parameters(), history[-1], strict=True):
        assert torch.equal(got.detach(), final)
    assert not all(
        torch.equal(a, b)
        for a, b in zip(fitted, last.module_.parameters(), strict=True)
    )
    pickle.loads(pickle.dumps(averaged))  # nothing of the run is kept


def test_average_decay_keeps_the_fast_epoch_path(X_lowrank):
    """Check that averaging, which updates from an optimizer step hook, does
    not make the net notify callbacks of every batch."""
    ae = _fit(AutoencoderTransformer, X_lowrank)
    assert ae.average_decay > 0
    assert not ae.net_._acts_on("on_batch_begin", "on_batch_end")


@pytest.mark.parametrize("average_decay", [0.9, 0])
def test_early_stopping_validates_the_weights_training_ends_on(
    average_decay, X_lowrank
):
    """Check that under early stopping the validation loss is that of the
    average of the weights, which training ends on; without averaging, that
    of the current weights, and the best epoch's are kept."""
    ae = _fit(
        AutoencoderTransformer,
        X_lowrank,
        early_stopping=True,
        average_decay=average_decay,
        max_iter=8,
        callbacks=[_WorsenFromEpoch(6)],
    )
    _, valid = validation_split(
        RowDataset(X_lowrank), fraction=ae.validation_fraction, seed=ae._seed
    )
    X_valid = X_lowrank[valid.indices]
    losses = [row["valid_loss"] for row in ae.net_.history]
    ends_on = losses[-1]
    if not average_decay:
        ends_on = min(losses)
        assert ends_on < losses[-1]  # else this checks nothing
    error = np.mean((ae.inverse_transform(ae.transform(X_valid)) - X_valid) ** 2)
    assert_allclose(error, ends_on, rtol=1e-5)


def test_average_decay_applies_to_each_warm_started_call(X_lowrank):
    """Check that each training call averages its own batches, with the
    average_decay set at that call: 0 ends the second call on its last
    weights."""
    ae = AutoencoderTransformer(
        **PARAMS, warm_start=True, callbacks=[("record", _WeightsAfterEachBatch())]
    )
    ae.fit(X_lowrank)
    after_first = [p.detach().clone() for p in ae.module_.parameters()]
    assert not all(
        torch.equal(a, b) for a, b in zip(after_first, _recorded(ae)[-1], strict=True)
    )
    ae.set_params(average_decay=0).fit(X_lowrank)
    for got, final in zip(ae.module_.parameters(), _recorded(ae)[-1], strict=True):
        assert torch.equal(got.detach(), final)


@pytest.mark.parametrize("decay", [-0.1, 1, 1.5, "high"])
def test_average_decay_outside_0_1_is_refused(decay, X_lowrank):
    """Check the error for an average_decay that is not in [0, 1)."""
    ae = AutoencoderTransformer(**PARAMS, average_decay=decay)
    with pytest.raises(ValueError, match="average_decay"):
        ae.fit(X_lowrank)
