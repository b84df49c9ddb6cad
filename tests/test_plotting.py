"""skae.plotting: each display draws the data it was given, for every kind."""

# SPDX-License-Identifier: BSD-3-Clause

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.random_projection import GaussianRandomProjection

from skae import (
    AutoencoderClassifier,
    AutoencoderImputer,
    AutoencoderTransformer,
    DenoisingAutoencoder,
    SparseAutoencoder,
    VariationalAutoencoder,
)
from skae._registry import AUTOENCODERS
from skae.plotting import (
    CodeActivationDisplay,
    LatentSpaceDisplay,
    LatentTraversalDisplay,
    ReconstructionDisplay,
    SampleGridDisplay,
    TrainingHistoryDisplay,
)

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

# The fits are a few epochs long: they are here to be drawn, not to converge.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

PARAMS = {"hidden_layer_sizes": (16,), "max_iter": 3, "random_state": 0}
IMAGE_SHAPE = (8, 8)


@pytest.fixture
def pyplot():
    """matplotlib.pyplot, with every figure closed after the test."""
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


@pytest.fixture(scope="module")
def digits():
    """300 digits in [0, 1] and their labels."""
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


@pytest.fixture(scope="module")
def fitted(digits):
    """Each autoencoder kind and the imputer, fitted on the digits with 4 codes."""
    X, _ = digits
    kinds = [*AUTOENCODERS, AutoencoderImputer]
    return {cls: cls(n_components=4, **PARAMS).fit(X) for cls in kinds}


@pytest.fixture(scope="module")
def vae(digits):
    """A variational autoencoder with early stopping, fitted on the digits."""
    X, _ = digits
    return VariationalAutoencoder(
        n_components=3, early_stopping=True, **{**PARAMS, "max_iter": 4}
    ).fit(X)


def _image_data(images):
    """The arrays held by an array of AxesImage."""
    return np.array([image.get_array().data for image in images.ravel()])


def test_plotting_import_does_not_import_matplotlib():
    """Check that importing skae.plotting leaves matplotlib unimported."""
    code = "import sys, skae.plotting; print('matplotlib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_plotting_without_matplotlib_says_how_to_install(monkeypatch, fitted, digits):
    """Check that a display without matplotlib raises an ImportError naming
    the extra to install."""
    for name in [name for name in sys.modules if name.startswith("matplotlib")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    X, _ = digits
    with pytest.raises(ImportError, match=r"pip install skae\[plot\]"):
        ReconstructionDisplay.from_estimator(fitted[AutoencoderTransformer], X)
    with pytest.raises(ImportError, match=r"TrainingHistoryDisplay\.plot requires"):
        TrainingHistoryDisplay([1.0, 0.5]).plot()


@pytest.mark.parametrize("Estimator", AUTOENCODERS, ids=lambda cls: cls.__name__)
def test_reconstruction_display_images_hold_originals_and_reconstructions(
    pyplot, fitted, digits, Estimator
):
    """Check that each column holds a chosen row above its reconstruction."""
    X, _ = digits
    estimator = fitted[Estimator]
    indices = [5, 0, 17]
    display = ReconstructionDisplay.from_estimator(
        estimator, X, indices=indices, image_shape=IMAGE_SHAPE
    )
    assert display.images_.shape == (2, 3)
    assert display.row_labels_ == ["original", "reconstructed"]
    X_reconstructed = estimator.inverse_transform(estimator.transform(X[indices]))
    assert_allclose(_image_data(display.images_[0]).reshape(3, -1), X[indices])
    assert_allclose(
        _image_data(display.images_[1]).reshape(3, -1), X_reconstructed, rtol=1e-6
    )
    assert [label.get_text() for label in display.ax_.get_yticklabels()] == [
        "original",
        "reconstructed",
    ]
    assert display.figure_ is display.ax_.figure


def test_reconstruction_display_noisy_inputs_and_errors(pyplot, fitted, digits):
    """Check the rows of a denoiser: clean, noisy input, denoised and its error."""
    X, _ = digits
    dae = fitted[DenoisingAutoencoder]
    rng = np.random.RandomState(0)
    X_noisy = np.clip(X + 0.3 * rng.normal(size=X.shape), 0, 1)
    display = ReconstructionDisplay.from_estimator(
        dae,
        X,
        X_noisy=X_noisy,
        n_samples=4,
        random_state=0,
        image_shape=IMAGE_SHAPE,
        show_error=True,
    )
    assert display.row_labels_ == [
        "clean",
        "noisy input",
        "denoised",
        "|error|\ndenoised",
    ]
    rows = display.indices
    X_denoised = dae.inverse_transform(dae.transform(X_noisy[rows]))
    clean, noisy, denoised, error = (
        _image_data(row).reshape(4, -1) for row in display.images_
    )
    assert_allclose(clean, X[rows])
    assert_allclose(noisy, X_noisy[rows])
    assert_allclose(denoised, X_denoised, rtol=1e-6)
    assert_allclose(error, np.abs(X_denoised - X[rows]), rtol=1e-6, atol=1e-12)
    # The error row's grey scale starts at zero, with the images' contrast.
    assert display.images_[3, 0].get_clim() == (0, X[rows].max() - X[rows].min())


def test_reconstruction_display_random_rows_are_reproducible(pyplot, fitted, digits):
    """Check that random rows are distinct, sorted and set by random_state."""
    X, _ = digits
    ae = fitted[AutoencoderTransformer]
    first, second = (
        ReconstructionDisplay.from_estimator(ae, X, n_samples=5, random_state=3)
        for _ in range(2)
    )
    assert_array_equal(first.indices, second.indices)
    assert len(set(first.indices)) == 5
    assert_array_equal(first.indices, np.sort(first.indices))
    everything = ReconstructionDisplay.from_reconstructions(
        X[:3], X[:3], n_samples=10, image_shape=IMAGE_SHAPE
    )
    assert_array_equal(everything.indices, [0, 1, 2])


def test_reconstruction_display_tabular_pandas(pyplot, digits):
    """Check the per-feature comparison of a DataFrame: one line per sample and
    version, the column names on the axis, and a legend of both."""
    X, _ = digits
    columns = [f"pixel{i}" for i in range(20)]
    df = pd.DataFrame(X[:, 20:40], columns=columns)
    ae = AutoencoderTransformer(n_components=3, **PARAMS).fit(df)
    display = ReconstructionDisplay.from_estimator(ae, df, indices=[2, 7])
    assert display.images_ is None
    assert display.lines_.shape == (2, 2)
    X_reconstructed = ae.inverse_transform(ae.transform(df.iloc[[2, 7]]))
    for i, row in enumerate([2, 7]):
        assert_allclose(display.lines_[i, 0].get_ydata(), df.iloc[row])
        assert_allclose(display.lines_[i, 1].get_ydata(), X_reconstructed[i])
        assert_array_equal(display.lines_[i, 0].get_xdata(), np.arange(20))
        # The versions of a sample share its colour.
        assert display.lines_[i, 0].get_color() == display.lines_[i, 1].get_color()
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == columns
    legend = [text.get_text() for text in display.legend_.get_texts()]
    assert legend == ["original", "reconstructed", "row 2", "row 7"]


def test_reconstruction_display_from_reconstructions_of_several_models(pyplot, digits):
    """Check a dict of reconstructions: a row per model, in order, into an
    Axes the caller gave."""
    X, _ = digits
    pca = PCA(n_components=4).fit(X)
    reconstructions = {
        "PCA": pca.inverse_transform(pca.transform(X)),
        "zeros": np.zeros_like(X),
    }
    _, ax = pyplot.subplots()
    display = ReconstructionDisplay.from_reconstructions(
        X, reconstructions, indices=[1, 3], image_shape=IMAGE_SHAPE, ax=ax
    )
    assert display.ax_ is ax
    assert display.row_labels_ == ["original", "PCA", "zeros"]
    assert_allclose(
        _image_data(display.images_[1]).reshape(2, -1), reconstructions["PCA"][[1, 3]]
    )
    assert not _image_data(display.images_[2]).any()


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"image_shape": (8, 7)}, "image_shape=.* does not fit rows of 64"),
        ({"image_shape": (64,)}, "image_shape"),
        ({"indices": [0, 300]}, r"indices must be in \[-300, 300\)"),
        ({"indices": [0.5]}, "indices must be integers"),
        ({"n_samples": 0}, "n_samples must be a positive integer"),
    ],
)
def test_reconstruction_display_invalid_arguments(
    pyplot, fitted, digits, kwargs, match
):
    """Check that invalid rows and image shapes are refused with a ValueError."""
    X, _ = digits
    with pytest.raises(ValueError, match=match):
        ReconstructionDisplay.from_estimator(
            fitted[AutoencoderTransformer], X, **kwargs
        )


def test_reconstruction_display_unfitted_estimator(pyplot, digits):
    """Check that an unfitted estimator raises NotFittedError."""
    X, _ = digits
    with pytest.raises(NotFittedError):
        ReconstructionDisplay.from_estimator(AutoencoderTransformer(), X)


@pytest.mark.parametrize("Estimator", AUTOENCODERS, ids=lambda cls: cls.__name__)
def test_latent_space_display_projects_codes_on_pca(pyplot, fitted, digits, Estimator):
    """Check that codes of 4 values are drawn at their 2 principal components,
    coloured by class, with a legend of the classes."""
    X, y = digits
    estimator = fitted[Estimator]
    display = LatentSpaceDisplay.from_estimator(estimator, X, y)
    Z = estimator.transform(X)
    expected = PCA(n_components=2, svd_solver="full").fit_transform(Z)
    assert_allclose(display.scatter_.get_offsets(), expected, rtol=1e-5, atol=1e-6)
    assert_array_equal(display.scatter_.get_array(), y)
    legend = [text.get_text() for text in display.legend_.get_texts()]
    assert legend == [str(c) for c in range(10)]
    assert display.colorbar_ is None
    assert display.ax_.get_xlabel().startswith("PC1 of the codes (")


def test_latent_space_display_two_codes_as_they_are(pyplot, digits):
    """Check that codes of 2 values are drawn as they are, axes named after
    the codes, with string labels in the legend."""
    X, y = digits
    ae = AutoencoderTransformer(n_components=2, **PARAMS).fit(X)
    labels = np.array(["even", "odd"])[y % 2]
    display = LatentSpaceDisplay.from_estimator(ae, X, labels, projection="auto")
    assert_allclose(display.scatter_.get_offsets(), ae.transform(X))
    assert display.ax_.get_xlabel() == "autoencodertransformer0"
    assert [t.get_text() for t in display.legend_.get_texts()] == ["even", "odd"]
    # The colour of each point is its class's, as in the legend.
    handles = display.legend_.legend_handles
    display.figure_.canvas.draw()
    faces = display.scatter_.get_facecolors()
    assert_allclose(
        faces[labels == "odd"][0], matplotlib.colors.to_rgba(handles[1].get_color())
    )


def test_latent_space_display_continuous_target_and_projection(pyplot, digits):
    """Check a continuous target (a colorbar) and a projection estimator."""
    X, _ = digits
    Z = PCA(n_components=5).fit_transform(X)
    target = Z[:, 0] ** 2
    projection = GaussianRandomProjection(n_components=2, random_state=0)
    display = LatentSpaceDisplay.from_codes(Z, target, projection=projection)
    assert_allclose(display.scatter_.get_offsets(), projection.fit_transform(Z))
    assert_allclose(display.scatter_.get_array(), target)
    assert display.colorbar_ is not None and display.legend_ is None
    unlabelled = LatentSpaceDisplay.from_codes(Z[:, :2], projection=None)
    assert_allclose(unlabelled.scatter_.get_offsets(), Z[:, :2])


@pytest.mark.parametrize(
    "projection, n_codes, match",
    [
        (None, 3, "projection=None plots codes of 2 values"),
        ("pca", 1, "needs codes of 2 values or more"),
        ("tsne", 3, "projection must be"),
        (PCA(n_components=3), 4, "must return 2 columns"),
    ],
)
def test_latent_space_display_invalid_projection(pyplot, projection, n_codes, match):
    """Check that an unusable projection is refused with a ValueError."""
    Z = np.random.RandomState(0).normal(size=(20, n_codes))
    with pytest.raises(ValueError, match=match):
        LatentSpaceDisplay.from_codes(Z, projection=projection)


@pytest.mark.parametrize(
    "Estimator", [*AUTOENCODERS, AutoencoderImputer], ids=lambda cls: cls.__name__
)
def test_training_history_display_draws_loss_curve(pyplot, fitted, Estimator):
    """Check that the training loss of each epoch is drawn, the best epoch
    marked, and no validation loss without early stopping."""
    estimator = fitted[Estimator]
    display = TrainingHistoryDisplay.from_estimator(estimator, loss_terms=False)
    line = display.lines_["training"]
    assert_array_equal(line.get_xdata(), np.arange(1, estimator.n_iter_ + 1))
    assert_allclose(line.get_ydata(), estimator.loss_curve_)
    assert set(display.lines_) == {"training"}
    best = int(np.argmin(estimator.loss_curve_)) + 1
    assert_array_equal(display.best_epoch_line_.get_xdata(), [best, best])


def test_training_history_display_variational_terms_and_validation(pyplot, vae):
    """Check the validation loss, the best epoch under early stopping, and the
    reconstruction and KL parts of a variational autoencoder's loss."""
    display = TrainingHistoryDisplay.from_estimator(vae, name="vae")
    assert set(display.lines_) == {"training", "validation", "reconstruction", "kl"}
    assert_allclose(
        display.lines_["validation"].get_ydata(), -np.asarray(vae.validation_scores_)
    )
    assert_allclose(
        display.lines_["reconstruction"].get_ydata(), vae.reconstruction_loss_curve_
    )
    assert_allclose(display.lines_["kl"].get_ydata(), vae.kl_loss_curve_)
    best = int(np.argmax(vae.validation_scores_)) + 1
    assert display.best_epoch == best
    assert_allclose(
        display.lines_["validation"].get_ydata()[best - 1], vae.best_loss_, rtol=1e-6
    )
    labels = [text.get_text() for text in display.legend_.get_texts()]
    assert labels[0] == "training loss (vae)"
    assert labels[-1] == f"best epoch: {best} (vae)"


def test_training_history_display_classifier(pyplot, digits):
    """Check that the classifier's cross-entropy and validation loss are drawn."""
    X, y = digits
    clf = AutoencoderClassifier(
        AutoencoderTransformer(n_components=4, **PARAMS),
        head_hidden_layer_sizes=(),
        max_iter=4,
        early_stopping=True,
        random_state=0,
    ).fit(X, y)
    display = TrainingHistoryDisplay.from_estimator(clf)
    assert_allclose(display.lines_["training"].get_ydata(), clf.loss_curve_)
    validation = display.lines_["validation"].get_ydata()
    assert validation.shape == (clf.n_iter_,)
    assert_allclose(validation.min(), clf.best_loss_)


def test_training_history_display_refuses_empty_history(pyplot):
    """Check that unfitted or historyless estimators are refused."""
    with pytest.raises(NotFittedError):
        TrainingHistoryDisplay.from_estimator(AutoencoderTransformer())
    with pytest.raises(ValueError, match="no training history"):
        TrainingHistoryDisplay.from_estimator(PCA(2).fit(np.eye(3)))


def test_code_activation_display_histogram_and_near_zero_fraction(pyplot, digits):
    """Check the drawn histogram and the near-zero fraction of sparse codes."""
    X, _ = digits
    sae = SparseAutoencoder(
        n_components=32, sparsity_weight=1.0, **{**PARAMS, "max_iter": 10}
    ).fit(X)
    display = CodeActivationDisplay.from_estimator(sae, X, bins=20)
    Z = sae.transform(X)
    scale = np.abs(Z).max()
    density, edges = np.histogram(Z / scale, bins=20, range=(-1, 1), density=True)
    values, drawn_edges, _ = display.stairs_.get_data()
    assert_allclose(values, density)
    assert_allclose(drawn_edges, edges)
    expected = np.mean(np.abs(Z) < 1e-3 * scale)
    assert display.near_zero_fraction == pytest.approx(expected)
    assert expected > 0.1  # ReLU codes under a strong L1 penalty
    assert display.legend_.get_texts()[0].get_text() == (
        f"SparseAutoencoder ({expected:.0%} near zero)"
    )
    assert display.ax_.get_yscale() == "log"


def test_code_activation_display_from_codes_shares_axes(pyplot):
    """Check unnormalised codes and two displays on one Axes."""
    Z = np.array([[0.0, 1.0], [2.0, 0.0], [0.0, 3.0]])
    first = CodeActivationDisplay.from_codes(
        Z, bins=3, normalize=False, name="a", log_scale=False
    )
    values, edges, _ = first.stairs_.get_data()
    assert_allclose(edges, [0, 1, 2, 3])
    assert_allclose(values, np.histogram(Z, bins=3, density=True)[0])
    assert first.near_zero_fraction == pytest.approx(0.5)
    second = CodeActivationDisplay.from_codes(-Z, name="b", ax=first.ax_)
    assert second.ax_ is first.ax_
    labels = [text.get_text() for text in second.legend_.get_texts()]
    assert labels == ["a (50% near zero)", "b (50% near zero)"]
    with pytest.raises(ValueError, match="bins must be a positive integer"):
        CodeActivationDisplay.from_codes(Z, bins=0)


def test_sample_grid_display_draws_samples(pyplot, vae):
    """Check that the grid holds the model's samples, row by row."""
    display = SampleGridDisplay.from_estimator(
        vae, image_shape=IMAGE_SHAPE, n_samples=10, n_cols=4, random_state=0
    )
    samples = vae.sample(10, random_state=0)
    assert display.images_.shape == (10,)
    assert_allclose(_image_data(display.images_).reshape(10, -1), samples)
    # The fifth sample starts the second row: below the first, aligned with it.
    first, fifth = display.images_[0].get_extent(), display.images_[4].get_extent()
    assert fifth[0] == first[0] and fifth[3] > first[2] - 1e-9


def test_sample_grid_display_needs_a_generative_model(pyplot, fitted):
    """Check that a model without a sample method is refused."""
    with pytest.raises(ValueError, match="needs a generative model"):
        SampleGridDisplay.from_estimator(
            fitted[AutoencoderTransformer], image_shape=IMAGE_SHAPE
        )


def test_latent_traversal_display_prior(pyplot, vae):
    """Check that each row moves one code from the prior's mean (zero)."""
    display = LatentTraversalDisplay.from_estimator(
        vae, image_shape=IMAGE_SHAPE, components=[2, 0], n_steps=3, span=1.5
    )
    assert_allclose(display.offsets, [-1.5, 0, 1.5])
    codes = np.zeros((2, 3, 3))
    codes[0, :, 2] = codes[1, :, 0] = [-1.5, 0, 1.5]
    expected = vae.inverse_transform(codes.reshape(-1, 3))
    assert_allclose(_image_data(display.images_).reshape(6, -1), expected, rtol=1e-6)
    labels = [text.get_text() for text in display.ax_.get_yticklabels()]
    assert labels == ["code 2", "code 0"]


@pytest.mark.parametrize("Estimator", AUTOENCODERS, ids=lambda cls: cls.__name__)
def test_latent_traversal_display_around_data(pyplot, fitted, digits, Estimator):
    """Check that, given data, each code moves by its standard deviation from
    the mean code, for every kind."""
    X, _ = digits
    estimator = fitted[Estimator]
    display = LatentTraversalDisplay.from_estimator(
        estimator, X, image_shape=IMAGE_SHAPE, n_steps=2, span=1.0
    )
    Z = estimator.transform(X).astype(float)
    assert display.images_.shape == (4, 2)
    code = Z.mean(axis=0)
    code[1] += Z[:, 1].std()
    expected = estimator.inverse_transform(code[None])
    assert_allclose(
        display.images_[1, 1].get_array().data.ravel(), expected[0], rtol=1e-5
    )


def test_latent_traversal_display_invalid_arguments(pyplot, fitted, vae):
    """Check that components out of range, and X=None without a prior, are refused."""
    with pytest.raises(ValueError, match=r"components must be integers in \[0, 3\)"):
        LatentTraversalDisplay.from_estimator(
            vae, image_shape=IMAGE_SHAPE, components=[3]
        )
    with pytest.raises(ValueError, match="needs a generative model"):
        LatentTraversalDisplay.from_estimator(
            fitted[AutoencoderTransformer], image_shape=IMAGE_SHAPE
        )


@pytest.mark.parametrize(
    "make_display",
    [
        lambda ae, X, ax: ReconstructionDisplay.from_estimator(ae, X, ax=ax),
        lambda ae, X, ax: LatentSpaceDisplay.from_estimator(ae, X, ax=ax),
        lambda ae, X, ax: TrainingHistoryDisplay.from_estimator(ae, ax=ax),
        lambda ae, X, ax: CodeActivationDisplay.from_estimator(ae, X, ax=ax),
    ],
    ids=["reconstruction", "latent_space", "history", "activations"],
)
def test_display_plot_returns_itself_on_the_given_axes(
    pyplot, fitted, digits, make_display
):
    """Check that displays draw on the caller's Axes and that plot returns the
    display, redrawing it on a new Axes."""
    X, _ = digits
    _, (ax, other) = pyplot.subplots(1, 2)
    display = make_display(fitted[AutoencoderTransformer], X, ax)
    assert display.ax_ is ax and display.figure_ is ax.figure
    assert display.plot(ax=other) is display
    assert display.ax_ is other


@pytest.mark.cuda
def test_displays_of_a_model_on_gpu(pyplot, digits):
    """Check that a model trained on a GPU is plotted from CPU arrays."""
    X, y = digits
    vae = VariationalAutoencoder(n_components=2, device="cuda", **PARAMS).fit(X)
    reconstruction = ReconstructionDisplay.from_estimator(
        vae, X, indices=[0], image_shape=IMAGE_SHAPE
    )
    assert_allclose(
        _image_data(reconstruction.images_[1]).reshape(1, -1),
        vae.inverse_transform(vae.transform(X[:1])),
    )
    LatentSpaceDisplay.from_estimator(vae, X, y)
    TrainingHistoryDisplay.from_estimator(vae)
    CodeActivationDisplay.from_estimator(vae, X)
    SampleGridDisplay.from_estimator(vae, image_shape=IMAGE_SHAPE, n_samples=4)
    LatentTraversalDisplay.from_estimator(vae, image_shape=IMAGE_SHAPE)
