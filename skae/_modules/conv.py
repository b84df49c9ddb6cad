"""Convolutional networks for images given as flat rows of C*H*W values."""

# SPDX-License-Identifier: BSD-3-Clause

import math
from collections.abc import Sequence

import torch
from torch import nn

from skae._modules.mlp import ACTIVATIONS, EncoderDecoder, LinearResidual

# Every stage halves the height and width: a 3x3 kernel, stride 2, padding 1.
KERNEL, STRIDE, PADDING = 3, 2, 1


def _halved(size: int, n_stages: int) -> int:
    """A side's length after `n_stages` stride-2 convolutions."""
    for _ in range(n_stages):
        size = (size + 2 * PADDING - KERNEL) // STRIDE + 1
    return size


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


def conv_trunk(
    image_shape: Sequence[int], channels: Sequence[int], activation: str
) -> tuple[nn.Sequential, int]:
    """Stride-2 convolutions from flat rows to a flat feature vector.

    Returns the stack and the width of its output.
    """
    n_channels, height, width = image_shape
    layers: list[nn.Module] = [nn.Unflatten(1, (n_channels, height, width))]
    for out_channels in channels:
        layers += [
            nn.Conv2d(n_channels, out_channels, KERNEL, STRIDE, PADDING),
            ACTIVATIONS[activation](),
        ]
        n_channels = out_channels
    layers.append(nn.Flatten())
    side = _halved(height, len(channels)) * _halved(width, len(channels))
    return nn.Sequential(*layers), n_channels * side


def conv_decoder(
    n_components: int,
    image_shape: Sequence[int],
    channels: Sequence[int],
    activation: str,
) -> nn.Sequential:
    """The mirror of :func:`conv_trunk`: codes to flat rows of images.

    Its last layer is a transposed convolution without activation.
    """
    n_channels, height, width = image_shape
    last = channels[-1]
    low_height = _halved(height, len(channels))
    low_width = _halved(width, len(channels))
    layers: list[nn.Module] = [
        nn.Linear(n_components, last * low_height * low_width),
        ACTIVATIONS[activation](),
        nn.Unflatten(1, (last, low_height, low_width)),
    ]
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
    return nn.Sequential(*layers)


class ConvAutoencoder(EncoderDecoder):
    """A convolutional encoder and a mirrored transposed-convolution decoder.

    Rows of ``C*H*W`` values go in and come out, as every scikit-learn
    transformer sees images. Each of the ``channels`` stages halves the
    height and width (3x3 kernels, stride 2); a linear layer maps to and from
    the code. With ``linear_residual``, a linear map runs beside each
    network (:class:`~skae._modules.mlp.LinearResidual`), so that
    ``init_linear`` starts the model from PCA, as for the MLP.
    """

    def __init__(
        self,
        image_shape: Sequence[int],
        n_components: int,
        channels: Sequence[int] = (16, 32),
        activation: str = "gelu",
        code_activation: str = "identity",
        output_activation: str = "identity",
        linear_residual: bool = False,
    ) -> None:
        super().__init__()
        self.code_activation = code_activation
        n_features = math.prod(image_shape)
        trunk, width = conv_trunk(image_shape, channels, activation)
        encoder = nn.Sequential(*trunk, nn.Linear(width, n_components))
        decoder = conv_decoder(n_components, image_shape, channels, activation)
        if not linear_residual:
            self.encoder = nn.Sequential(encoder, ACTIVATIONS[code_activation]())
            self.decoder = nn.Sequential(decoder, ACTIVATIONS[output_activation]())
            return
        self.encoder = LinearResidual(
            nn.Linear(n_features, n_components), encoder, code_activation
        )
        self.decoder = LinearResidual(
            nn.Linear(n_components, n_features), decoder, output_activation
        )
