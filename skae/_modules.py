"""Torch modules: the encoder/decoder pair. Nothing here knows of scikit-learn."""

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


class Autoencoder(nn.Module):
    """An MLP encoder and a mirrored MLP decoder.

    ``forward`` returns ``(X_reconstructed, Z)`` so that a loss can use both the
    reconstruction and the code (for a sparsity penalty, say).
    """

    def __init__(
        self,
        n_features: int,
        n_components: int,
        hidden_layer_sizes: Sequence[int] = (),
        activation: str = "relu",
        code_activation: str = "identity",
        output_activation: str = "identity",
    ) -> None:
        super().__init__()
        hidden = list(hidden_layer_sizes)
        self.encoder = make_mlp(
            [n_features, *hidden, n_components], activation, code_activation
        )
        self.decoder = make_mlp(
            [n_components, *hidden[::-1], n_features], activation, output_activation
        )

    def forward(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode then decode ``X``; return the reconstruction and the code."""
        Z = self.encoder(X)
        return self.decoder(Z), Z


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
