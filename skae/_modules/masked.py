"""A network that reads rows with missing values (NaN): for the imputer."""

# SPDX-License-Identifier: BSD-3-Clause

import torch
from torch import nn


class MaskedAutoencoder(nn.Module):
    """Standardise, fill missing values with the mean, and run `inner`.

    `inner` is any skae autoencoder module (``encode``, ``decode`` and a
    ``forward`` returning ``(X_reconstructed, Z)``). Each feature is
    standardised with the ``mean`` and ``scale`` buffers (set by
    :meth:`set_scaling`), and a missing value (NaN) becomes 0, the feature's
    mean, before it reaches `inner`. ``forward`` returns the reconstruction in
    standardised units, in which the imputer's loss weighs every feature alike;
    ``decode`` returns it in the data's own units.
    """

    def __init__(self, inner: nn.Module, n_features: int) -> None:
        super().__init__()
        self.inner = inner
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))

    @torch.no_grad()
    def set_scaling(self, X: torch.Tensor) -> None:
        """Set the scaling from the observed values of `X`, column by column.

        A column without an observed value, or a constant one, keeps a scale
        of 1 (and the mean 0 when nothing is observed).
        """
        mean = torch.nanmean(X, dim=0)
        observed = ~torch.isnan(X)
        n_observed = observed.sum(dim=0).clamp_min(1)
        centred = torch.where(observed, X - mean, torch.zeros_like(X))
        scale = (centred.square().sum(dim=0) / n_observed).sqrt()
        self.mean.copy_(torch.nan_to_num(mean, nan=0.0))
        self.scale.copy_(torch.where(scale > 0, scale, torch.ones_like(scale)))

    def standardize(self, X: torch.Tensor) -> torch.Tensor:
        """`X` in standardised units; missing values stay NaN."""
        return (X - self.mean) / self.scale

    def filled(self, X: torch.Tensor) -> torch.Tensor:
        """Standardised `X` with each missing value set to 0 (the mean)."""
        return torch.nan_to_num(self.standardize(X), nan=0.0)

    def forward(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Reconstruction (standardised units) and codes of rows with gaps."""
        return self.inner(self.filled(X))

    def encode(self, X: torch.Tensor) -> torch.Tensor:
        """The codes of rows with gaps."""
        return self.inner.encode(self.filled(X))

    def decode(self, Z: torch.Tensor) -> torch.Tensor:
        """The reconstruction of codes, in the data's own units."""
        return self.inner.decode(Z) * self.scale + self.mean

    def init_linear(
        self, components: torch.Tensor, mean: torch.Tensor, scores: torch.Tensor
    ) -> None:
        """Start `inner` from PCA of the filled, standardised sample."""
        self.inner.init_linear(components, mean, scores)
