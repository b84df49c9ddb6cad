"""ONNX export of skae estimators, alone or in scikit-learn pipelines, via skl2onnx.

Importing this module registers a shape calculator and a converter for every
skae estimator with skl2onnx (:func:`skl2onnx.update_registered_converter`,
its documented extension mechanism), so that ``skl2onnx.to_onnx(pipeline,
X[:1])`` converts pipelines that hold them and onnxruntime serves them without
torch; :func:`to_onnx_decoder` converts `inverse_transform`.

The graph is written with ONNX operators from the fitted module's weights,
not traced with ``torch.onnx.export``: it is written in skl2onnx's own graph,
with its opset and the input's dtype (a float64 pipeline computes in float64,
as skae does; the batch size stays dynamic), it needs neither torch's
exporter nor its dependencies, and it holds the inference path only (no
training noise or sampling). The torch modules are walked by type
(``_LAYERS``); a new network family adds a writer for each of its module
types, and a module without one raises ``TypeError``.

onnxruntime has no float64 kernel for ``Erf`` (nor ``Gelu``), ``Conv`` or
``ConvTranspose``: in a float64 graph these run in float32 between casts, so
GELU and convolutional networks agree with skae to about 1e-8 and 1e-7
relative rather than to float64 rounding. Integer inputs are computed in
float32, as skl2onnx's own transformers do. See the :ref:`onnx` page.

:class:`~skae.AutoencoderImputer` converts with ``sample_posterior=False``
only (its draws are random) and with categories that are numbers (the input
holds each category's value, as `transform` takes it; encode text categories
as numbers before the imputer). Its Gaussian fill solves a small linear system
for each row with onnxruntime's ``com.microsoft.Inverse`` operator, so that
graph runs on onnxruntime, not on every ONNX runtime; with
``initial_strategy="mean"`` it needs none.
"""

# SPDX-License-Identifier: BSD-3-Clause

import math

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array, check_is_fitted
from torch import nn

try:
    import skl2onnx
    from onnx import TensorProto, numpy_helper
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
    )
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
    )
    from skl2onnx.common.utils import (
        check_input_and_output_numbers,
        check_input_and_output_types,
    )
    from skl2onnx.common.utils_classifier import get_label_classes
except ImportError as exc:  # the optional extra is not installed
    raise ImportError(
        "skae.onnx needs the optional packages skl2onnx and onnx (and onnxruntime "
        f"to run the models): pip install 'skae[onnx]'. ({exc})"
    ) from exc

from skae._impute import AutoencoderImputer
from skae._modules.conv import Crop, ImageRefinement
from skae._modules.mlp import EncoderClassifier, LinearResidual
from skae._modules.variational import GaussianEncoder
from skae._neural_base import FLOAT_DTYPES
from skae._registry import AUTOENCODERS, ESTIMATORS

__all__ = ["register", "to_onnx_decoder"]

# ONNX's Gelu operator exists from this opset on; older opsets get its formula.
GELU_OPSET = 20

# Options of the classifier's converter, as skl2onnx's own classifiers take.
CLASSIFIER_OPTIONS = {
    "zipmap": [True, False, "columns"],
    "nocl": [False, True],
    "output_class_labels": [False, True],
}


class _Graph:
    """Writes ONNX nodes for torch modules into a skl2onnx container, in one dtype.

    The dtype is float64 when the operator's input is, float32 otherwise; the
    weights are cast to it.
    """

    def __init__(self, scope, operator, container):
        self.scope, self.container = scope, container
        double = isinstance(operator.inputs[0].type, DoubleTensorType)
        self.dtype = np.dtype(np.float64 if double else np.float32)
        self.proto = TensorProto.DOUBLE if double else TensorProto.FLOAT
        self.opset = container.target_opset_onnx
        self.input = operator.inputs[0].full_name
        if not isinstance(operator.inputs[0].type, FloatTensorType | DoubleTensorType):
            self.input = self.node("Cast", [self.input], to=self.proto)

    def constant(self, value, name="weight", dtype=None):
        """Add `value` as an initializer (in the graph's dtype by default)."""
        name = self.scope.get_unique_variable_name(name)
        value = np.asarray(value, dtype=dtype or self.dtype)
        tensor = numpy_helper.from_array(value, name)
        self.container.add_initializer(
            name, tensor.data_type, list(tensor.dims), tensor
        )
        return name

    def float32_node(self, op_type, X, weights=(), **attributes):
        """A node that onnxruntime runs in float32 only (Erf, Conv, ...).

        A float64 graph casts its input to float32 and its output back.
        """
        double = self.dtype == np.float64
        if double:
            X = self.node("Cast", [X], to=TensorProto.FLOAT)
        weights = [self.constant(value, dtype=np.float32) for value in weights]
        Y = self.node(op_type, [X, *weights], **attributes)
        return self.node("Cast", [Y], to=TensorProto.DOUBLE) if double else Y

    def node(self, op_type, inputs, output=None, **attributes):
        """Add a node of one output; return the output's name."""
        output = output or self.scope.get_unique_variable_name(op_type.lower())
        name = self.scope.get_unique_operator_name(op_type)
        self.container.add_node(op_type, inputs, output, name=name, **attributes)
        return output

    def walk(self, module, X):
        """Add the nodes that apply `module` to the tensor named `X`."""
        for cls in type(module).__mro__:
            if cls in _LAYERS:
                return _LAYERS[cls](self, module, X)
        raise TypeError(
            f"skae.onnx cannot convert the torch module {type(module).__name__}: "
            "it writes ONNX for torch's Sequential, Linear, Conv2d, "
            "ConvTranspose2d, Flatten, Unflatten, Identity and the activations "
            "ReLU, Tanh, Sigmoid, ELU and GELU, and for skae's own networks, "
            f"and has no writer for {type(module).__name__}. Build your network's "
            "encoder and decoder from those layers to export it."
        )

    def output(self, X, name):
        """Name the tensor `X` as the operator's output `name`."""
        self.node("Identity", [X], output=name)


def _weights(tensor):
    """A torch parameter as a numpy array."""
    return tensor.detach().cpu().numpy()


def _sequential(graph, module, X):
    """Apply the layers of an ``nn.Sequential`` in turn."""
    for layer in module:
        X = graph.walk(layer, X)
    return X


def _linear(graph, layer, X):
    """``X @ W.T + b`` as one ``Gemm``."""
    inputs = [X, graph.constant(_weights(layer.weight))]
    if layer.bias is not None:
        inputs.append(graph.constant(_weights(layer.bias), "bias"))
    return graph.node("Gemm", inputs, transB=1)


def _elementwise(op_type):
    """An activation that is one ONNX operator of the same name."""
    return lambda graph, layer, X: graph.node(op_type, [X])


def _elu(graph, layer, X):
    """``X if X > 0 else alpha * (exp(X) - 1)``; onnxruntime's Elu is float32 only."""
    if graph.dtype == np.float32:
        return graph.node("Elu", [X], alpha=float(layer.alpha))
    positive = graph.node("Greater", [X, graph.constant(0.0, "zero")])
    exp = graph.node("Sub", [graph.node("Exp", [X]), graph.constant(1.0, "one")])
    negative = graph.node("Mul", [exp, graph.constant(layer.alpha, "alpha")])
    return graph.node("Where", [positive, X, negative])


def _gelu(graph, layer, X):
    """GELU: the ``Gelu`` operator where onnxruntime has one, else its formula."""
    if graph.dtype == np.float32 and graph.opset >= GELU_OPSET:
        return graph.node("Gelu", [X], approximate=layer.approximate)
    if layer.approximate == "tanh":
        cube = graph.node("Mul", [graph.node("Mul", [X, X]), X])
        inner = graph.node("Mul", [cube, graph.constant(0.044715, "c")])
        inner = graph.node("Add", [X, inner])
        scale = graph.constant(math.sqrt(2 / math.pi), "c")
        tail = graph.node("Tanh", [graph.node("Mul", [inner, scale])])
    else:
        scaled = graph.node("Mul", [X, graph.constant(1 / math.sqrt(2), "c")])
        tail = graph.float32_node("Erf", scaled)
    half = graph.node("Mul", [X, graph.constant(0.5, "half")])
    return graph.node("Mul", [half, graph.node("Add", [tail, graph.constant(1.0)])])


def _linear_residual(graph, module, X):
    """``activation(linear(X) + mlp(X))``."""
    total = graph.node("Add", [graph.walk(module.linear, X), graph.walk(module.mlp, X)])
    return graph.walk(module.activation, total)


def _image_refinement(graph, module, X):
    """``activation(Y + convolutions(Y))`` with ``Y = decoder(X)``."""
    Y = graph.walk(module.decoder, X)
    total = graph.node("Add", [Y, graph.walk(module.convolutions, Y)])
    return graph.walk(module.activation, total)


def _gaussian_encoder(graph, module, X):
    """The posterior mean: the first ``n_components`` outputs of the encoder."""
    H = graph.walk(module.encoder, X)
    starts = graph.constant([0], "starts", dtype=np.int64)
    ends = graph.constant([module.n_components], "ends", dtype=np.int64)
    axes = graph.constant([1], "axes", dtype=np.int64)
    return graph.node("Slice", [H, starts, ends, axes])


def _conv(graph, layer, X):
    """``Conv2d`` and ``ConvTranspose2d`` with zero padding (float32 only)."""
    if layer.padding_mode != "zeros" or isinstance(layer.padding, str):
        raise TypeError(f"skae.onnx converts zero-padded convolutions, not {layer}.")
    attributes = {
        "kernel_shape": list(layer.kernel_size),
        "strides": list(layer.stride),
        "pads": list(layer.padding) * 2,  # begins, then ends
        "dilations": list(layer.dilation),
        "group": layer.groups,
    }
    op_type = "Conv"
    if isinstance(layer, nn.ConvTranspose2d):
        op_type = "ConvTranspose"
        attributes["output_padding"] = list(layer.output_padding)
    weights = [_weights(layer.weight)]
    if layer.bias is not None:
        weights.append(_weights(layer.bias))
    return graph.float32_node(op_type, X, weights, **attributes)


def _unflatten(graph, layer, X):
    """Rows to images: a ``Reshape`` (0 keeps the batch size)."""
    if layer.dim != 1:
        raise TypeError(f"skae.onnx converts Unflatten(1, ...) only, not {layer}.")
    shape = graph.constant([0, *layer.unflattened_size], "shape", dtype=np.int64)
    return graph.node("Reshape", [X, shape])


def _flatten(graph, layer, X):
    """Images to rows (ONNX's Flatten keeps dimensions before `start_dim`)."""
    if layer.end_dim != -1:
        raise TypeError(f"skae.onnx converts Flatten(end_dim=-1) only, not {layer}.")
    return graph.node("Flatten", [X], axis=layer.start_dim)


def _crop(graph, layer, X):
    """The top-left ``height`` x ``width`` pixels of each image, as rows."""
    starts = graph.constant([0, 0], "starts", dtype=np.int64)
    ends = graph.constant([layer.height, layer.width], "ends", dtype=np.int64)
    axes = graph.constant([2, 3], "axes", dtype=np.int64)
    images = graph.node("Slice", [X, starts, ends, axes])
    return graph.node("Flatten", [images], axis=1)


def _encoder_classifier(graph, module, X):
    """The logits: the head applied to the codes."""
    return graph.walk(module.head, graph.walk(module.encoder, X))


# ONNX writers of torch module types: ``function(graph, module, X)`` adds the
# nodes that apply `module` to the tensor named `X` and returns the output's
# name. A module type is looked up along its class hierarchy. A new network
# family adds its module types here.
_LAYERS = {
    nn.Sequential: _sequential,
    nn.Linear: _linear,
    nn.Identity: lambda graph, module, X: X,
    nn.ReLU: _elementwise("Relu"),
    nn.Tanh: _elementwise("Tanh"),
    nn.Sigmoid: _elementwise("Sigmoid"),
    nn.ELU: _elu,
    nn.GELU: _gelu,
    nn.Conv2d: _conv,
    nn.ConvTranspose2d: _conv,
    nn.Unflatten: _unflatten,
    nn.Flatten: _flatten,
    Crop: _crop,
    LinearResidual: _linear_residual,
    ImageRefinement: _image_refinement,
    GaussianEncoder: _gaussian_encoder,
    EncoderClassifier: _encoder_classifier,
}


class _Decoder(TransformerMixin, BaseEstimator):
    """A fitted autoencoder's `inverse_transform` as a `transform`, to convert it."""

    def __init__(self, autoencoder):
        self.autoencoder = autoencoder

    def transform(self, X):
        """Decode the codes `X`."""
        return self.autoencoder.inverse_transform(X)


def _shape(width):
    """A shape calculator: ``[N, width(model)]`` in the input's float dtype."""

    def calculate(operator):
        check_input_and_output_numbers(
            operator, input_count_range=1, output_count_range=1
        )
        check_input_and_output_types(
            operator,
            good_input_types=[FloatTensorType, DoubleTensorType, Int64TensorType],
        )
        double = isinstance(operator.inputs[0].type, DoubleTensorType)
        tensor_type = DoubleTensorType if double else FloatTensorType
        n_rows = operator.inputs[0].get_first_dimension()
        operator.outputs[0].type = tensor_type([n_rows, width(operator.raw_operator)])

    return calculate


def _convert_transform(scope, operator, container):
    """An autoencoder's `transform`: its encoder."""
    graph = _Graph(scope, operator, container)
    Z = graph.walk(operator.raw_operator.encoder_, graph.input)
    graph.output(Z, operator.outputs[0].full_name)


def _convert_decoder(scope, operator, container):
    """An autoencoder's `inverse_transform`: its decoder, and the mean of p(x | z)."""
    graph = _Graph(scope, operator, container)
    module = operator.raw_operator.autoencoder.module_
    X = graph.walk(module.decoder, graph.input)
    if getattr(module, "likelihood", None) == "bernoulli":  # the decoder's logits
        X = graph.node("Sigmoid", [X])
    graph.output(X, operator.outputs[0].full_name)


def _convert_classifier(scope, operator, container):
    """A classifier's `predict` (label) and `predict_proba` (probabilities)."""
    classifier = operator.raw_operator
    graph = _Graph(scope, operator, container)
    logits = graph.walk(classifier.module_, graph.input)
    graph.node("Softmax", [logits], output=operator.outputs[1].full_name, axis=1)
    classes = np.asarray(get_label_classes(scope, classifier))  # 0..k-1 with nocl
    if classes.dtype.kind in "fb":  # skl2onnx's convention for numeric labels
        classes = classes.astype(np.int64)
    name = scope.get_unique_variable_name("classes")
    if classes.dtype.kind in "iu":
        container.add_initializer(
            name, TensorProto.INT64, [len(classes)], classes.astype(np.int64)
        )
    else:
        values = [str(label).encode("utf-8") for label in classes]
        container.add_initializer(name, TensorProto.STRING, [len(classes)], values)
    index = graph.node("ArgMax", [logits], axis=1, keepdims=0)
    graph.node("Gather", [name, index], output=operator.outputs[0].full_name)


def _imputer_width(imputer):
    """The number of columns `transform` returns: the features kept, then
    the indicator's."""
    kept = imputer.keep_empty_features | ~imputer.empty_features_
    indicator = imputer.indicator_features_
    return int(kept.sum()) + (0 if indicator is None else len(indicator))


def _check_imputer(imputer):
    """Refuse what the imputer's graph cannot do: draws, and categories that
    are not numbers."""
    if imputer.sample_posterior:
        raise TypeError(
            "skae.onnx converts the deterministic AutoencoderImputer, not one "
            "with sample_posterior=True, whose transform draws missing values "
            "at random. Convert a copy with sample_posterior=False fitted alike."
        )
    for categories in getattr(imputer, "categories_", None) or []:
        if categories.dtype.kind not in "biuf":
            raise TypeError(
                "skae.onnx converts an AutoencoderImputer whose categorical "
                "features hold numbers, but one has the categories "
                f"{categories[:5].tolist()}: encode them as numbers before the "
                "imputer (e.g. OrdinalEncoder(encoded_missing_value=np.nan) in a "
                "ColumnTransformer) and fit it on those."
            )


def _imputer_fill(graph, fill, standardized, missing):
    """The fill of the missing slots: their conditional mean under the
    probabilistic PCA `fill` (onnxruntime's ``com.microsoft.Inverse`` solves
    each row's system), or its mean without factors."""
    mean = graph.constant(_weights(fill.mean), "fill_mean")
    if fill.n_factors == 0:
        return graph.node("Where", [missing, mean, standardized])
    components = _weights(fill.components)
    n_slots, n_factors = components.shape
    zero = graph.constant(0.0, "zero")
    observed = graph.node("Cast", [graph.node("Not", [missing])], to=graph.proto)
    outer = components[:, :, None] * components[:, None, :]
    gram = graph.node(
        "MatMul", [observed, graph.constant(outer.reshape(n_slots, -1), "outer")]
    )
    shape = graph.constant([-1, n_factors, n_factors], "shape", dtype=np.int64)
    gram = graph.node("Reshape", [gram, shape])
    ridge = float(fill.noise) * np.eye(n_factors)
    gram = graph.node("Add", [gram, graph.constant(ridge, "ridge")])
    inverse = graph.scope.get_unique_variable_name("inverse")
    graph.container.add_node(
        "Inverse",
        [gram],
        inverse,
        op_domain="com.microsoft",
        op_version=1,
        name=graph.scope.get_unique_operator_name("Inverse"),
    )
    centred = graph.node("Sub", [standardized, mean])
    centred = graph.node("Where", [missing, zero, centred])
    projected = graph.node("MatMul", [centred, graph.constant(components, "loadings")])
    axis = graph.constant([2], "axis", dtype=np.int64)
    projected = graph.node("Unsqueeze", [projected, axis])
    factors = graph.node("Squeeze", [graph.node("MatMul", [inverse, projected]), axis])
    predicted = graph.node(
        "MatMul", [factors, graph.constant(components.T, "loadings_t")]
    )
    predicted = graph.node("Add", [predicted, mean])
    return graph.node("Where", [missing, predicted, standardized])


def _convert_imputer(scope, operator, container):
    """An imputer's `transform`: standardise, fill, run the network on the
    filled slots and their mask, and put its values in the missing entries."""
    imputer = operator.raw_operator
    _check_imputer(imputer)
    module = imputer.module_
    graph = _Graph(scope, operator, container)
    X = graph.input
    missing = graph.node("IsNaN", [X])
    if not np.isnan(imputer.missing_values):
        placeholder = graph.constant(imputer.missing_values, "placeholder")
        missing = graph.node("Or", [missing, graph.node("Equal", [X, placeholder])])
        X = graph.node("Where", [missing, graph.constant(np.nan, "nan"), X])
    categorical = [int(j) for j in module.categorical]
    first_slot = _weights(module.first_slot)
    slots = X
    if categorical:
        # Each slot of a category compares the feature with that category.
        values = np.full(module.n_slots, np.nan)
        for j, categories in zip(categorical, _categories(imputer), strict=True):
            values[first_slot[j] : first_slot[j] + len(categories)] = categories
        feature = _weights(module.slot_feature)
        feature = graph.constant(feature, "slot_feature", dtype=np.int64)
        slots = graph.node("Gather", [X, feature], axis=1)
        one_hot = graph.node("Equal", [slots, graph.constant(values, "categories")])
        one_hot = graph.node("Cast", [one_hot], to=graph.proto)
        is_category = graph.constant(~np.isnan(values), "is_category", dtype=bool)
        one_hot = graph.node("Where", [is_category, one_hot, slots])
        nan = graph.constant(np.nan, "nan")
        slots = graph.node("Where", [graph.node("IsNaN", [slots]), nan, one_hot])
    mean = _weights(module.mean)
    scale = _weights(module.scale)
    standardized = graph.node("Sub", [slots, graph.constant(mean, "mean")])
    standardized = graph.node("Div", [standardized, graph.constant(scale, "scale")])
    slot_missing = graph.node("IsNaN", [slots])
    filled = _imputer_fill(graph, module.fill, standardized, slot_missing)
    mask = graph.node("Cast", [slot_missing], to=graph.proto)
    inputs = graph.node("Concat", [filled, mask], axis=1)
    output = graph.walk(module.decoder, graph.walk(module.encoder, inputs))
    ends = graph.constant([module.n_slots], "ends", dtype=np.int64)
    starts = graph.constant([0], "starts", dtype=np.int64)
    axes = graph.constant([1], "axes", dtype=np.int64)
    output = graph.node("Slice", [output, starts, ends, axes])
    output = graph.node("Mul", [output, graph.constant(scale, "scale")])
    output = graph.node("Add", [output, graph.constant(mean, "mean")])
    index = graph.constant(first_slot, "first_slot", dtype=np.int64)
    predicted = graph.node("Gather", [output, index], axis=1)
    if categorical:
        # The likeliest category of each categorical feature, in its place.
        chosen = []
        for j, categories in zip(categorical, _categories(imputer), strict=True):
            start = graph.constant([first_slot[j]], "start", dtype=np.int64)
            end = graph.constant([first_slot[j] + len(categories)], "end", np.int64)
            logits = graph.node("Slice", [output, start, end, axes])
            code = graph.node("ArgMax", [logits], axis=1, keepdims=1)
            chosen.append(graph.node("Gather", [graph.constant(categories), code]))
        chosen = graph.node("Concat", chosen, axis=1) if len(chosen) > 1 else chosen[0]
        position = np.zeros(imputer.n_features_in_, dtype=np.int64)
        position[categorical] = np.arange(len(categorical))
        position = graph.constant(position, "position", dtype=np.int64)
        chosen = graph.node("Gather", [chosen, position], axis=1)
        is_categorical = graph.constant(_weights(module.is_categorical), dtype=bool)
        predicted = graph.node("Where", [is_categorical, chosen, predicted])
    X_imputed = graph.node("Where", [missing, predicted, X])
    empty = imputer.empty_features_
    if imputer.keep_empty_features:
        zero = graph.constant(0.0, "zero")
        empty = graph.constant(empty, "empty", dtype=bool)
        X_imputed = graph.node("Where", [empty, zero, X_imputed])
    elif empty.any():
        kept = graph.constant(np.flatnonzero(~empty), "kept", dtype=np.int64)
        X_imputed = graph.node("Gather", [X_imputed, kept], axis=1)
    if imputer.indicator_features_ is not None:
        indicator = graph.constant(imputer.indicator_features_, "indicator", np.int64)
        indicator = graph.node("Gather", [missing, indicator], axis=1)
        indicator = graph.node("Cast", [indicator], to=graph.proto)
        X_imputed = graph.node("Concat", [X_imputed, indicator], axis=1)
    graph.output(X_imputed, operator.outputs[0].full_name)


def _categories(imputer):
    """The categories of each categorical feature that has some (a feature
    empty at fit has none)."""
    return [categories for categories in imputer.categories_ if len(categories)]


def register():
    """Register skae's shape calculators and converters with skl2onnx.

    Importing :mod:`skae.onnx` calls it, so that ``skl2onnx.to_onnx`` converts
    skae estimators, alone or in pipelines. Calling it again is harmless.
    The classifier takes skl2onnx's classifier options: ``zipmap`` (True,
    False or ``"columns"``) and ``output_class_labels``.

    See Also
    --------
    to_onnx_decoder : Convert an autoencoder's `inverse_transform`.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> import skl2onnx
    >>> import skae.onnx
    >>> from skae import AutoencoderTransformer
    >>> X = np.random.RandomState(0).rand(100, 6).astype(np.float32)
    >>> ae = AutoencoderTransformer(2, hidden_layer_sizes=(8,), max_iter=1).fit(X)
    >>> model = skl2onnx.to_onnx(ae, X[:1])
    >>> session = onnxruntime.InferenceSession(model.SerializeToString())
    >>> Z = session.run(None, {"X": X})[0]
    >>> Z.shape, Z.dtype
    ((100, 2), dtype('float32'))
    """
    width = _shape(lambda autoencoder: autoencoder.n_components_)
    for cls in ESTIMATORS:
        alias = f"Skae{cls.__name__}"
        if cls in AUTOENCODERS:
            skl2onnx.update_registered_converter(cls, alias, width, _convert_transform)
        elif cls is AutoencoderImputer:
            skl2onnx.update_registered_converter(
                cls, alias, _shape(_imputer_width), _convert_imputer
            )
        elif hasattr(cls, "predict_proba"):
            skl2onnx.update_registered_converter(
                cls,
                alias,
                calculate_linear_classifier_output_shapes,
                _convert_classifier,
                options=CLASSIFIER_OPTIONS,
            )
    skl2onnx.update_registered_converter(
        _Decoder,
        "SkaeDecoder",
        _shape(lambda decoder: decoder.autoencoder.n_features_in_),
        _convert_decoder,
    )


def to_onnx_decoder(autoencoder, X=None, *, target_opset=None):
    """Convert a fitted autoencoder's `inverse_transform` to an ONNX model.

    The model maps codes (input ``"X"``, of shape ``(n_samples,
    n_components_)``) to reconstructions (output ``"variable"``, of shape
    ``(n_samples, n_features_in_)``), as the autoencoder's `inverse_transform`
    does: the decoder, and for a variational autoencoder the mean of
    p(x | z). The batch size is dynamic.

    Parameters
    ----------
    autoencoder : estimator object
        A fitted skae autoencoder (not the classifier).

    X : array-like of shape (n_samples, n_components), default=None
        Sample codes, whose dtype (float32 or float64) sets the model's, as
        in ``skl2onnx.to_onnx(model, X)``. None gives a float32 model.

    target_opset : int or None, default=None
        ONNX opset to write, as in ``skl2onnx.to_onnx``; None for the
        latest that skl2onnx supports.

    Returns
    -------
    onx : onnx.ModelProto
        The ONNX model.

    See Also
    --------
    register : What lets ``skl2onnx.to_onnx`` convert `transform`.

    Examples
    --------
    >>> import numpy as np
    >>> import onnxruntime
    >>> from skae import AutoencoderTransformer
    >>> from skae.onnx import to_onnx_decoder
    >>> X = np.random.RandomState(0).rand(100, 6).astype(np.float32)
    >>> ae = AutoencoderTransformer(2, hidden_layer_sizes=(8,), max_iter=1).fit(X)
    >>> Z = ae.transform(X)
    >>> model = to_onnx_decoder(ae, Z[:1])
    >>> session = onnxruntime.InferenceSession(model.SerializeToString())
    >>> session.run(None, {"X": Z})[0].shape
    (100, 6)
    """
    if not isinstance(autoencoder, AUTOENCODERS):
        raise TypeError(
            "to_onnx_decoder converts a skae autoencoder, but got "
            f"{type(autoencoder).__name__}."
        )
    check_is_fitted(autoencoder)
    width = autoencoder.n_components_
    X = np.zeros((1, width), np.float32) if X is None else X
    X = check_array(X, dtype=FLOAT_DTYPES)
    if X.shape[1] != width:
        raise ValueError(
            f"X has {X.shape[1]} features, but the decoder takes {width} "
            "(n_components_): pass codes, such as the output of transform."
        )
    return skl2onnx.to_onnx(_Decoder(autoencoder), X[:1], target_opset=target_opset)


register()
