"""Docstring guards: numpydoc validation, and no drift between the autoencoders."""

# SPDX-License-Identifier: BSD-3-Clause

import importlib
import importlib.util
import inspect

import pytest
from sklearn.utils._testing import assert_docstring_consistency

import skae
from skae import ContractiveAutoencoder, DenoisingAutoencoder, SparseAutoencoder
from skae._registry import AUTOENCODERS
from tests.conftest import RECONSTRUCTION_ESTIMATORS

numpydoc_validation = pytest.importorskip("numpydoc.validate")

# Public submodules whose functions and classes are documented on their own
# (skae.datasets.load_mnist, ...). Those not written yet are skipped.
PUBLIC_SUBMODULES = [
    "skae.callbacks",
    "skae.datasets",
    "skae.model_selection",
    "skae.plotting",
    "skae.onnx",
]

# Parameters that only one kind has, so they cannot be compared across kinds.
KIND_PARAMETERS = ["noise", "noise_level", "clip", "sparsity", "sparsity_weight"]
KIND_PARAMETERS += ["sparsity_target", "beta", "likelihood", "contraction_weight"]
KIND_PARAMETERS += ["importance_samples"]
KIND_ATTRIBUTES = ["reconstruction_loss_curve_", "kl_loss_curve_"]

# Shared entries the variational kind words its own way (its codes are
# distributions, its loss a negative ELBO); the other kinds share them word
# for word.
VARIATIONAL_WORDING = ["activation", "init", "early_stopping", "loss_curve_"]
VARIATIONAL_WORDING += ["validation_scores_", "reconstruction_error_", "encoder_"]
VARIATIONAL_WORDING += ["decoder_", "loss", "output_activation"]

# numpydoc error codes ignored everywhere, as in scikit-learn's
# sklearn/tests/test_docstrings.py:
# - GL01: the summary may start on the line of the opening quotes;
# - GL02: a blank line may close a short docstring (properties);
# - RT02: a Returns entry may name what it returns ("self : object").
IGNORED_ERRORS = {"GL01", "GL02", "RT02"}

# Codes ignored for methods only, as in scikit-learn: the class docstring holds
# the extended summary, the See Also section and the examples. Unlike
# scikit-learn, public functions must have all three, like classes.
IGNORED_METHOD_ERRORS = {"ES01", "SA01", "EX01"}

# Codes ignored for properties (encoder_, decoder_): numpydoc cannot read a
# property's signature (GL08) and a property has no parameters (PR02).
IGNORED_PROPERTY_ERRORS = {"GL08", "PR02"}


def _public_objects():
    """Yield ``(import path, kind)`` of every public class, method and function.

    `kind` is "class", "function", "method" or "property".
    """
    modules = {"skae": skae.__all__}
    for name in PUBLIC_SUBMODULES:
        if importlib.util.find_spec(name) is None:
            continue
        module = importlib.import_module(name)
        modules[name] = getattr(module, "__all__", None) or [
            attr
            for attr, obj in vars(module).items()
            if not attr.startswith("_")
            and (inspect.isclass(obj) or inspect.isfunction(obj))
            and obj.__module__ == name
        ]
    for module_name, names in modules.items():
        module = importlib.import_module(module_name)
        for name in names:
            obj = getattr(module, name)
            path = f"{module_name}.{name}"
            if inspect.isfunction(obj):
                yield path, "function"
            elif inspect.isclass(obj):
                yield path, "class"
                for method in sorted(dir(obj)):
                    if method.startswith("_") or _from_skorch(obj, method):
                        continue
                    if isinstance(inspect.getattr_static(obj, method), property):
                        yield f"{path}.{method}", "property"
                    elif callable(getattr(obj, method)):
                        yield f"{path}.{method}", "method"


def _from_skorch(cls, name):
    """Whether `cls` inherits its attribute `name` from skorch, whose
    docstrings are skorch's (not in numpydoc's format)."""
    for klass in cls.__mro__:
        if name in vars(klass):
            return klass.__module__.startswith("skorch")
    return False


def _filter_errors(errors, kind):
    """Drop the numpydoc errors that the project's dialect allows."""
    ignored = set(IGNORED_ERRORS)
    if kind in {"method", "property"}:
        ignored |= IGNORED_METHOD_ERRORS
    if kind == "property":
        ignored |= IGNORED_PROPERTY_ERRORS
    return [(code, message) for code, message in errors if code not in ignored]


@pytest.mark.parametrize(
    "path, kind", [pytest.param(*item, id=item[0]) for item in _public_objects()]
)
def test_docstring_numpydoc_valid(path, kind):
    """Check that each public docstring passes numpydoc's validation."""
    result = numpydoc_validation.validate(path)
    errors = _filter_errors(result["errors"], kind)
    if errors:
        listed = "\n".join(f"  {code}: {message}" for code, message in errors)
        raise AssertionError(f"{path} ({result['file']}):\n{listed}")


def test_docstring_public_objects_found():
    """Check that the validation covers the estimators, methods and loaders."""
    paths = {path for path, _ in _public_objects()}
    for estimator in AUTOENCODERS:
        name = f"skae.{estimator.__name__}"
        assert {name, f"{name}.fit", f"{name}.encoder_"} <= paths
    assert {"skae.datasets.load_mnist", "skae.datasets.load_fashion_mnist"} <= paths
    checkpoint = "skae.callbacks.Checkpoint"
    assert {checkpoint, f"{checkpoint}.on_epoch_end"} <= paths
    assert f"{checkpoint}.on_batch_end" not in paths  # skorch's


# A shared entry missing from one class (a renamed parameter, say) would
# otherwise be skipped with a mere warning.
@pytest.mark.filterwarnings("error::UserWarning")
@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            {
                # Everything the kinds share, word for word.
                "include_params": True,
                "exclude_params": [
                    "n_components",
                    *KIND_PARAMETERS,
                    *VARIATIONAL_WORDING,
                ],
                "include_attrs": True,
                "exclude_attrs": [*KIND_ATTRIBUTES, *VARIATIONAL_WORDING],
            },
            id="shared-parameters-and-attributes",
        ),
        pytest.param(
            {
                # AutoencoderTransformer adds a sentence: it refuses codes wider
                # than the input. The definition itself must not drift.
                "include_params": ["n_components"],
                "descr_regex_pattern": (
                    r"^Size of the code \(latent space\), as in "
                    r":class:`~sklearn\.decomposition\.PCA`\."
                ),
            },
            id="n_components",
        ),
    ],
)
def test_docstring_autoencoders_consistent(case):
    """Check that the autoencoders document what they share identically."""
    assert_docstring_consistency(AUTOENCODERS, **case)


@pytest.mark.filterwarnings("error::UserWarning")
def test_docstring_reconstruction_kinds_consistent():
    """Check that the kinds with a reconstruction loss also word alike what
    the variational kind words its own way."""
    assert_docstring_consistency(
        RECONSTRUCTION_ESTIMATORS,
        include_params=VARIATIONAL_WORDING,
        include_attrs=VARIATIONAL_WORDING,
    )


@pytest.mark.filterwarnings("error::UserWarning")
def test_docstring_over_complete_kinds_consistent():
    """Check that the kinds allowing wide codes describe n_components identically."""
    assert_docstring_consistency(
        [DenoisingAutoencoder, SparseAutoencoder, ContractiveAutoencoder],
        include_params=["n_components"],
    )


@pytest.mark.filterwarnings("error::UserWarning")
def test_docstring_fitted_feature_attributes_consistent():
    """Check that all estimators describe n_features_in_ and feature_names_in_ alike."""
    estimators = [
        getattr(skae, name)
        for name in skae.__all__
        if inspect.isclass(getattr(skae, name))
    ]
    assert_docstring_consistency(
        estimators, include_attrs=["n_features_in_", "feature_names_in_"]
    )
