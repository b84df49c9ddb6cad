"""MLP networks: an encoder/decoder pair, and an encoder with a classification head."""

# SPDX-License-Identifier: BSD-3-Clause

from collections.abc import Sequence
from itertools import pairwise

import torch
from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "identity": nn.Identity,
}


def make_mlp(
    sizes: Sequence[int], activation: str, last_activation: str
) -> nn.Sequential:
    """Stack linear layers of the given ``sizes``.

    ``activation`` follows every hidden layer and ``last_activation`` the last
    one; ``"identity"`` adds no layer at all.
    """
    layers: list[nn.Module] = []
    n_layers = len(sizes) - 1
    for i, (n_in, n_out) in enumerate(pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        name = activation if i < n_layers - 1 else last_activation
        if name != "identity":
            layers.append(ACTIVATIONS[name]())
    return nn.Sequential(*layers)


@torch.no_grad()
def zero_last_layer(module: nn.Module) -> None:
    """Zero the weights and bias of the last layer of `module` that has weights,
    so that its output is zero: a correction that starts with no effect."""
    last = [layer for layer in module.modules() if hasattr(layer, "weight")][-1]
    last.weight.zero_()
    last.bias.zero_()


class LinearResidual(nn.Module):
    """``activation(linear(X) + mlp(X))``: a linear map and a nonlinear correction.

    With the last layer of ``mlp`` at zero, this is exactly the (activated)
    linear map, which :meth:`start_linear` sets.
    """

    def __init__(self, linear: nn.Linear, mlp: nn.Sequential, activation: str) -> None:
        super().__init__()
        self.linear = linear
        self.mlp = mlp
        self.activation = ACTIVATIONS[activation]()

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """The activated sum of the linear map and the correction."""
        return self.activation(self.linear(X) + self.mlp(X))

    def zero_correction(self) -> None:
        """Zero the correction's last layer with weights: the map is then linear."""
        zero_last_layer(self.mlp)

    @torch.no_grad()
    def start_linear(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        """Become ``activation(X @ weight.T + bias)``: the linear start of a half."""
        self.linear.weight.copy_(weight)
        self.linear.bias.copy_(bias)
        self.zero_correction()


class EncoderDecoder(nn.Module):
    """What every skae autoencoder module does with its ``encoder`` and
    ``decoder`` (set by a subclass, one per network family).

    ``forward`` returns ``(X_reconstructed, Z)`` so that a loss can use both the
    reconstruction and the code (for a sparsity penalty, say); ``encode`` and
    ``decode`` are the two halves. When both halves have ``start_linear(weight,
    bias)`` (a half that can become an affine map, as :class:`LinearResidual`
    can), :meth:`init_linear` starts the model from a linear solution such as
    PCA's.
    """

    code_activation = "identity"

    def forward(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode then decode ``X``; return the reconstruction and the code."""
        Z = self.encoder(X)
        return self.decoder(Z), Z

    def encode(self, X: torch.Tensor) -> torch.Tensor:
        """The codes of ``X``."""
        return self.encoder(X)

    def decode(self, Z: torch.Tensor) -> torch.Tensor:
        """The reconstructions of codes ``Z``."""
        return self.decoder(Z)

    @torch.no_grad()
    def init_linear(
        self, components: torch.Tensor, mean: torch.Tensor, scores: torch.Tensor
    ) -> None:
        """Start from the linear autoencoder of orthonormal ``components``.

        The code is ``(X - mean) @ components.T + shift`` and the
        reconstruction ``(Z - shift) @ components + mean``; the nonlinear
        corrections start at zero, so before training the model is exactly
        this linear autoencoder (up to the output activation). ``scores`` are
        the centred PCA scores of a sample: a ReLU code would clip half of
        each, so ``shift`` moves them to start non-negative on the sample;
        other codes are not shifted.
        """
        shift = torch.zeros_like(components[:, 0])
        if self.code_activation == "relu":
            shift = -scores.amin(dim=0)
        start_linear(self.encoder, components, shift - components @ mean)
        start_linear(self.decoder, components.T, mean - components.T @ shift)


def start_linear(half: nn.Module, weight: torch.Tensor, bias: torch.Tensor) -> None:
    """Make the encoder or decoder `half` the affine map ``X @ weight.T + bias``.

    Raise ``TypeError`` naming the half's class when it cannot (it has no
    ``start_linear`` method), so that ``init="pca"`` says what is missing.
    """
    if not callable(getattr(half, "start_linear", None)):
        raise TypeError(
            f"init='pca' starts the network from PCA through each half's "
            f"start_linear(weight, bias), which {type(half).__name__} does not "
            "have (a network family's halves get it with linear_start=True). "
            "Set init='random', or give the module that method."
        )
    half.start_linear(weight, bias)


class MLPAutoencoder(EncoderDecoder):
    """An MLP encoder and a mirrored MLP decoder.

    With ``linear_start``, the encoder and the decoder are each a linear map
    plus an MLP correction (:class:`LinearResidual`), for ``init_linear``.
    The class itself is the ``"mlp"`` family of ``networks.FAMILIES``.
    """

    def __init__(
        self,
        n_features: int,
        n_components: int,
        *,
        hidden_layer_sizes: Sequence[int] = (),
        activation: str = "relu",
        code_activation: str = "identity",
        output_activation: str = "identity",
        linear_start: bool = False,
    ) -> None:
        super().__init__()
        self.code_activation = code_activation
        hidden = list(hidden_layer_sizes)
        encoder_sizes = [n_features, *hidden, n_components]
        decoder_sizes = [n_components, *hidden[::-1], n_features]
        if not linear_start:
            self.encoder = make_mlp(encoder_sizes, activation, code_activation)
            self.decoder = make_mlp(decoder_sizes, activation, output_activation)
            return
        self.encoder = LinearResidual(
            nn.Linear(n_features, n_components),
            make_mlp(encoder_sizes, activation, "identity"),
            code_activation,
        )
        self.decoder = LinearResidual(
            nn.Linear(n_components, n_features),
            make_mlp(decoder_sizes, activation, "identity"),
            output_activation,
        )


class EncoderClassifier(nn.Module):
    """An encoder followed by an MLP classification head.

    ``forward`` returns unnormalised class scores (logits), as
    :class:`torch.nn.CrossEntropyLoss` expects. The encoder is used as given
    (typically a copy of a fitted autoencoder's encoder); only the head is
    initialised here.
    """

    def __init__(
        self,
        encoder: nn.Module,
        n_components: int,
        n_classes: int,
        hidden_layer_sizes: Sequence[int] = (),
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = make_mlp(
            [n_components, *hidden_layer_sizes, n_classes], activation, "identity"
        )

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """Encode ``X`` and return the head's logits."""
        return self.head(self.encoder(X))
