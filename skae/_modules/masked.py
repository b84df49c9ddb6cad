"""A network that reads rows with missing values (NaN): for the imputer."""

# SPDX-License-Identifier: BSD-3-Clause

import torch
from torch import nn

from skae._modules.ppca import ProbabilisticPCA

# Seed of the values hidden in validation rows: the same at every epoch, so
# that the validation losses of successive epochs are comparable.
VALIDATION_MASK_SEED = 0


class MaskedAutoencoder(nn.Module):
    """Standardise, fill missing values, and run `inner` on the filled row
    beside its missing-value mask.

    `inner` is an skae autoencoder module (``encode``, ``decode``, a
    ``forward`` returning ``(X_reconstructed, Z)`` and ``init_linear``) for
    ``2 * n_features`` columns. Each feature is standardised with the ``mean``
    and ``scale`` buffers (set by :meth:`set_scaling`); a missing value (NaN)
    becomes its mean given the row's observed values under ``fill``, a
    :class:`~skae._modules.ppca.ProbabilisticPCA` of `n_factors` factors (fitted
    by :meth:`fit_fill`; with none, or unfitted, 0: the feature's mean), and
    `inner` reads the filled row followed by its mask (1 where a value is
    missing), so that it can tell a filled value from an observed one. The
    first ``n_features`` columns of its reconstruction are the standardised
    values; the others, the mask's, are never used (no loss reaches them).

    ``forward`` is the training and validation pass; it returns the
    reconstruction in standardised units (in which the imputer's loss weighs
    features as the scaling says), the codes, and where the input had missing
    values. In evaluation mode (the
    validation pass) it first hides a fixed, seeded fraction
    `validation_mask_fraction` of the values, the same at every epoch, so that
    the validation loss measures how well held-out values are filled in.
    ``encode`` and ``decode`` never hide anything; ``decode`` returns the
    data's own units."""

    def __init__(
        self,
        inner: nn.Module,
        n_features: int,
        *,
        n_factors: int = 0,
        validation_mask_fraction: float = 0.0,
    ) -> None:
        super().__init__()
        self.inner = inner
        self.n_features = n_features
        self.fill = ProbabilisticPCA(n_features, n_factors)
        self.validation_mask_fraction = validation_mask_fraction
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))

    @property
    def encoder(self) -> nn.Module:
        """The encoder of `inner`: it reads the filled row and its mask."""
        return self.inner.encoder

    @property
    def decoder(self) -> nn.Module:
        """The decoder of `inner`: standardised values, then unused columns."""
        return self.inner.decoder

    @torch.no_grad()
    def set_scaling(self, X: torch.Tensor, *, per_feature: bool = True) -> None:
        """Set the scaling from the observed values of `X`.

        Each column is centred on the mean of its observed values. With
        `per_feature`, each is divided by its own standard deviation; without,
        all by one, the standard deviation of all observed values around their
        columns' means. A column without an observed value, or a constant one,
        keeps a scale of 1 (and the mean 0 when nothing is observed).
        """
        mean = torch.nanmean(X, dim=0)
        observed = ~torch.isnan(X)
        centred = torch.where(observed, X - mean, torch.zeros_like(X))
        if per_feature:
            n_observed = observed.sum(dim=0).clamp_min(1)
            scale = (centred.square().sum(dim=0) / n_observed).sqrt()
        else:
            n_observed = observed.sum().clamp_min(1)
            scale = (centred.square().sum() / n_observed).sqrt().expand_as(mean)
        self.mean.copy_(torch.nan_to_num(mean, nan=0.0))
        self.scale.copy_(torch.where(scale > 0, scale, torch.ones_like(scale)))

    def standardize(self, X: torch.Tensor) -> torch.Tensor:
        """`X` in standardised units; missing values stay NaN."""
        return (X - self.mean) / self.scale

    def fit_fill(self, X: torch.Tensor) -> None:
        """Fit the fill's model to the standardised rows `X` (with NaN)."""
        self.fill.fit(self.standardize(X))

    def filled(self, X: torch.Tensor) -> torch.Tensor:
        """Standardised `X` with each missing value filled (see ``fill``)."""
        return self.fill(self.standardize(X))

    def inputs(self, X: torch.Tensor) -> torch.Tensor:
        """What `inner` reads: the filled row, then its missing-value mask."""
        filled = self.filled(X)
        return torch.cat([filled, torch.isnan(X).to(filled.dtype)], dim=1)

    def hide_for_validation(self, X: torch.Tensor) -> torch.Tensor:
        """`X` with a fixed, seeded `validation_mask_fraction` of it set NaN."""
        # Drawn on the CPU, whatever the device: every device (the meta one
        # that checks a loaded file included) then hides the same values.
        generator = torch.Generator().manual_seed(VALIDATION_MASK_SEED)
        draws = torch.rand(X.shape, generator=generator, device="cpu")
        hidden = (draws < self.validation_mask_fraction).to(X.device)
        return X.masked_fill(hidden, float("nan"))

    def forward(
        self, X: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Standardised reconstruction, codes, and the missing-value mask of
        the input (after hiding values for validation in evaluation mode).
        The loss compares the reconstruction with the standardised clean
        rows: in training, `X` is already corrupted, its hidden values NaN."""
        if not self.training:
            X = self.hide_for_validation(X)
        X_reconstructed, Z = self.inner(self.inputs(X))
        return X_reconstructed[:, : self.n_features], Z, torch.isnan(X)

    def encode(self, X: torch.Tensor) -> torch.Tensor:
        """The codes of rows with gaps."""
        return self.inner.encode(self.inputs(X))

    def decode_standardized(self, Z: torch.Tensor) -> torch.Tensor:
        """The reconstruction of codes, in standardised units."""
        return self.inner.decode(Z)[:, : self.n_features]

    def decode(self, Z: torch.Tensor) -> torch.Tensor:
        """The reconstruction of codes, in the data's own units."""
        return self.decode_standardized(Z) * self.scale + self.mean

    def init_linear(
        self, components: torch.Tensor, mean: torch.Tensor, scores: torch.Tensor
    ) -> None:
        """Start `inner` from PCA of the filled, standardised sample.

        The components and mean are of the ``n_features`` filled columns; the
        mask columns get zero weights, so that the start is the linear
        autoencoder of the filled values, and training learns what the mask
        adds.
        """
        components = torch.cat([components, torch.zeros_like(components)], dim=1)
        mean = torch.cat([mean, torch.zeros_like(mean)])
        self.inner.init_linear(components, mean, scores)
