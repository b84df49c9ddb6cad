"""Convolutional networks for images given as flat rows of C*H*W values."""

# SPDX-License-Identifier: BSD-3-Clause

import math
from collections.abc import Sequence
from numbers import Integral

import torch
from torch import nn

from skae._modules.mlp import (
    ACTIVATIONS,
    EncoderDecoder,
    MLPAutoencoder,
    start_linear,
    zero_last_layer,
)

# Every stage halves the height and width: a 3x3 kernel, stride 2, padding 1.
KERNEL, STRIDE, PADDING = 3, 2, 1


class Crop(nn.Module):
    """Cut images to ``height`` x ``width`` and flatten them to rows.

    Transposed convolutions double a side, so an odd side comes back one
    pixel too long.
    """

    def __init__(self, height: int, width: int) -> None:
        super().__init__()
        self.height, self.width = height, width

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """The top-left ``height`` x ``width`` pixels of each image, flattened."""
        return images[:, :, : self.height, : self.width].flatten(1)


def hourglass(
    image_shape: Sequence[int], channels: Sequence[int], activation: str
) -> nn.Sequential:
    """Flat rows of images to flat rows of images of the same shape.

    Each of the ``channels`` stages is a stride-2 convolution that halves the
    height and width; transposed convolutions mirror them back to the input's
    channels, and the last layer has no activation. The kernels are stored
    channels-last, the layout in which oneDNN convolves these few-channel
    images fastest on a CPU (what it buys is measured by the speed part of
    ``benchmarks/bench_conv.py``).
    """
    n_channels, height, width = image_shape
    layers: list[nn.Module] = [nn.Unflatten(1, (n_channels, height, width))]
    last = n_channels
    for out_channels in channels:
        layers += [
            nn.Conv2d(last, out_channels, KERNEL, STRIDE, PADDING),
            ACTIVATIONS[activation](),
        ]
        last = out_channels
    outputs = [*channels[::-1][1:], n_channels]
    for i, out_channels in enumerate(outputs):
        layers.append(
            nn.ConvTranspose2d(
                last, out_channels, KERNEL, STRIDE, PADDING, output_padding=1
            )
        )
        if i < len(outputs) - 1:
            layers.append(ACTIVATIONS[activation]())
        last = out_channels
    layers.append(Crop(height, width))
    return nn.Sequential(*layers).to(memory_format=torch.channels_last)


class ImageRefinement(nn.Module):
    """``activation(Y + convolutions(Y))`` with ``Y = decoder(Z)``.

    The convolutions (:func:`hourglass`) see the decoder's output as images
    and add a correction to it; :meth:`zero_correction` makes the correction
    zero, so that the model is then the decoder's alone.
    """

    def __init__(
        self, decoder: nn.Module, convolutions: nn.Sequential, activation: str
    ) -> None:
        super().__init__()
        self.decoder = decoder
        self.convolutions = convolutions
        self.activation = ACTIVATIONS[activation]()

    def forward(self, Z: torch.Tensor) -> torch.Tensor:
        """The decoder's images, corrected, then activated."""
        Y = self.decoder(Z)
        return self.activation(Y + self.convolutions(Y))

    def zero_correction(self) -> None:
        """Zero the last layer of the convolutions."""
        zero_last_layer(self.convolutions)

    def start_linear(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        """Become the affine map of the decoder's linear start, uncorrected."""
        start_linear(self.decoder, weight, bias)
        self.zero_correction()


def refine_images(
    decoder: nn.Module,
    image_shape: Sequence[int],
    channels: Sequence[int],
    activation: str,
    output_activation: str = "identity",
) -> ImageRefinement:
    """`decoder` followed by convolutions over its output images."""
    return ImageRefinement(
        decoder, hourglass(image_shape, channels, activation), output_activation
    )


def check_image_shape(
    image_shape: Sequence[int], n_features: int
) -> tuple[int, int, int]:
    """Return `image_shape` as the ``(channels, height, width)`` of rows of
    `n_features` values.

    One side may be -1, inferred from `n_features` as in ``numpy.reshape``.
    Rows may hold a whole number of such images, stacked as channels (an
    image and its missing-value mask, say). Refuse a shape that is not 2 or 3
    positive ints, or that does not fit `n_features`, with an error naming
    both.
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
    known = abs(math.prod(shape))
    if -1 in shape and n_features % known == 0:
        shape = tuple(n_features // known if side == -1 else side for side in shape)
    elif n_features % known == 0:
        n_images = n_features // known
        shape = (n_images * shape[0], *shape[1:])
    if math.prod(shape) != n_features:
        raise ValueError(
            f"image_shape={tuple(image_shape)!r} does not fit the {n_features} "
            "features of X: pass rows of images flattened in C-order "
            "(images.reshape(n_samples, -1)), or fix image_shape."
        )
    return shape


class ConvAutoencoder(EncoderDecoder):
    """An MLP autoencoder whose reconstructions convolutions then correct.

    Rows of ``C*H*W`` values go in and come out, as every scikit-learn
    transformer sees images. The encoder is the MLP's (measured at equal
    training time, it gave lower errors than a convolutional encoder); the
    decoder is the MLP's decoder followed by :class:`ImageRefinement`, an
    :func:`hourglass` of stride-2 convolutions (``channels``) over the decoded
    images whose correction is added to them. Convolutions restore the local
    structure (edges, textures) that a linear or MLP decoder blurs, at a small
    cost in computation. With ``linear_start``, :meth:`init_linear` starts
    the model from PCA, both corrections at zero.
    """

    # The network models neighbouring features itself: the imputer's "auto"
    # fill of missing inputs is then the features' means.
    local_structure = True

    def __init__(
        self,
        image_shape: Sequence[int],
        n_components: int,
        hidden_layer_sizes: Sequence[int] = (),
        channels: Sequence[int] = (32,),
        activation: str = "gelu",
        code_activation: str = "identity",
        output_activation: str = "identity",
        linear_start: bool = False,
    ) -> None:
        super().__init__()
        self.code_activation = code_activation
        mlp = MLPAutoencoder(
            math.prod(image_shape),
            n_components,
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            code_activation=code_activation,
            linear_start=linear_start,
        )
        self.encoder = mlp.encoder
        self.decoder = refine_images(
            mlp.decoder, image_shape, channels, activation, output_activation
        )


def build(
    n_features: int,
    n_components: int,
    *,
    image_shape: Sequence[int] | None,
    conv_channels: Sequence[int] = (32,),
    hidden_layer_sizes: Sequence[int] = (),
    activation: str = "gelu",
    code_activation: str = "identity",
    output_activation: str = "identity",
    linear_start: bool = False,
) -> ConvAutoencoder:
    """The ``"conv"`` family: an MLP whose decoded images convolutions correct.

    `image_shape` is checked against `n_features` (see
    :func:`check_image_shape`).
    """
    if image_shape is None:
        raise ValueError(
            "network='conv' needs image_shape, the (height, width) or "
            "(channels, height, width) of each row's image."
        )
    return ConvAutoencoder(
        check_image_shape(image_shape, n_features),
        n_components,
        hidden_layer_sizes,
        conv_channels,
        activation,
        code_activation,
        output_activation,
        linear_start,
    )
