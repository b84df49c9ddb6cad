"""A network that reads rows with missing values (NaN): for the imputer."""

# SPDX-License-Identifier: BSD-3-Clause

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from skae._modules.ppca import ProbabilisticPCA

# Seed of the values hidden in validation rows: the same at every epoch, so
# that the validation losses of successive epochs are comparable.
VALIDATION_MASK_SEED = 0

# The predictive log-variances are clipped to this range, in standardised
# units: a draw's standard deviation stays between about 0.007 and 150 times
# its feature's.
LOG_VARIANCE_RANGE = (-10.0, 10.0)


class MaskedAutoencoder(nn.Module):
    """Standardise, fill missing values, and run `inner` on the filled row
    beside its missing-value mask.

    Rows come in with one column per feature: a number or, for a categorical
    feature (``n_categories[j] > 0``), the code of its category (0 to
    ``n_categories[j] - 1``); NaN marks a missing value. Inside, a row is
    laid out in *slots*: one for a numeric feature, one per category for a
    categorical feature (its one-hot encoding, all NaN where it is missing).
    Each slot is standardised with the ``mean`` and ``scale`` buffers (set by
    :meth:`set_scaling`); a missing slot becomes its mean given the row's
    observed slots under ``fill``, a
    :class:`~skae._modules.ppca.ProbabilisticPCA` of `n_factors` factors
    (fitted by :meth:`fit_fill`; with none, or unfitted, 0: the slot's mean),
    and `inner` reads the filled slots followed by their mask (1 where a value
    is missing), so that it can tell a filled value from an observed one.
    Without categorical features, slots are features.

    `inner` is an skae autoencoder module (``encode``, ``decode``, a
    ``forward`` returning ``(output, Z)`` and ``init_linear``) for
    ``2 * n_slots`` columns. The first ``n_slots`` columns of its output are
    the standardised values of the numeric slots and, un-standardised, the
    logits of the categories (so that a linear start predicts the category
    the Gaussian fill makes likeliest). The other ``n_slots`` columns, the
    mask's, are the log-variances, in standardised units, of the numeric
    slots' predictive distributions (see :meth:`draw`), which the imputer
    trains only to draw values.

    ``forward`` is the training and validation pass. In evaluation mode (the
    validation pass) it first hides a fixed, seeded fraction
    `validation_mask_fraction` of the values, the same at every epoch, so
    that the validation loss measures how well held-out values are filled
    in. ``encode`` and ``decode`` never hide anything; ``decode`` returns the
    data's own units, and the code of the likeliest category.
    """

    def __init__(
        self,
        inner: nn.Module,
        n_features: int,
        *,
        n_factors: int = 0,
        validation_mask_fraction: float = 0.0,
        n_categories: Sequence[int] = (),
    ) -> None:
        super().__init__()
        self.inner = inner
        self.n_features = n_features
        self.validation_mask_fraction = validation_mask_fraction
        n_categories = list(n_categories) or [0] * n_features
        if len(n_categories) != n_features:
            raise ValueError(
                f"n_categories has {len(n_categories)} entries for {n_features} "
                "features."
            )
        widths = [max(k, 1) for k in n_categories]
        first_slot = [sum(widths[:j]) for j in range(n_features)]
        self.n_slots = sum(widths)
        self.categorical = tuple(j for j, k in enumerate(n_categories) if k)
        slot_feature = [j for j, width in enumerate(widths) for _ in range(width)]
        slot_code = [c if k else -1 for k in n_categories for c in range(max(k, 1))]
        # The slots of each categorical feature, padded to the most categories
        # with the index of an extra slot, whose logit is -inf.
        widest = max(widths)
        padded = [
            [first_slot[j] + c if c < n_categories[j] else self.n_slots]
            for j in self.categorical
            for c in range(widest)
        ]
        # The layout follows the module across devices but is not part of its
        # state (the imputer rebuilds it from its fitted categories).
        layout = {
            "first_slot": torch.tensor(first_slot, dtype=torch.long),
            "slot_feature": torch.tensor(slot_feature, dtype=torch.long),
            "slot_code": torch.tensor(slot_code, dtype=torch.float32),
            "is_categorical": torch.tensor([k > 0 for k in n_categories]),
            "category_slots": torch.tensor(padded, dtype=torch.long).reshape(
                len(self.categorical), widest
            ),
            "categorical_index": torch.tensor(self.categorical, dtype=torch.long),
        }
        for name, value in layout.items():
            self.register_buffer(name, value, persistent=False)
        self.fill = ProbabilisticPCA(self.n_slots, n_factors)
        self.register_buffer("mean", torch.zeros(self.n_slots))
        self.register_buffer("scale", torch.ones(self.n_slots))

    @property
    def encoder(self) -> nn.Module:
        """The encoder of `inner`: it reads the filled slots and their mask."""
        return self.inner.encoder

    @property
    def decoder(self) -> nn.Module:
        """The decoder of `inner`: standardised values and logits, then the
        log-variances."""
        return self.inner.decoder

    def slots(self, X: torch.Tensor) -> torch.Tensor:
        """Rows in slots: numbers as they are, categories one-hot; NaN where
        missing."""
        if not self.categorical:
            return X
        values = X[:, self.slot_feature]
        one_hot = (values == self.slot_code).to(X.dtype)
        slots = torch.where(self.slot_code >= 0, one_hot, values)
        return slots.masked_fill(torch.isnan(values), float("nan"))

    @torch.no_grad()
    def set_scaling(self, X: torch.Tensor, *, per_feature: bool = True) -> None:
        """Set the scaling from the observed values of rows `X`.

        Each slot is centred on the mean of its observed values (a category's
        frequency). With `per_feature`, each is divided by its own standard
        deviation; without, all by one, the standard deviation of all observed
        values around their slots' means. A slot without an observed value,
        or a constant one, keeps a scale of 1 (and the mean 0 when nothing is
        observed).
        """
        X = self.slots(X)
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
        """The slots of rows `X` in standardised units; missing values stay NaN."""
        return (self.slots(X) - self.mean) / self.scale

    def targets(self, X: torch.Tensor) -> torch.Tensor:
        """What the output is compared with, a column per feature: a number in
        standardised units, or a category's code; NaN where missing."""
        if not self.categorical:
            return self.standardize(X)
        first = self.first_slot
        standardized = (X - self.mean[first]) / self.scale[first]
        return torch.where(self.is_categorical, X, standardized)

    def fit_fill(self, X: torch.Tensor, **options) -> None:
        """Fit the fill's model to the standardised slots of rows `X`;
        `options` go to :meth:`ProbabilisticPCA.fit`."""
        self.fill.fit(self.standardize(X), **options)

    def filled(self, X: torch.Tensor) -> torch.Tensor:
        """Standardised slots of `X` with each missing slot filled (see ``fill``)."""
        return self.fill(self.standardize(X))

    def inputs(self, X: torch.Tensor) -> torch.Tensor:
        """What `inner` reads: the filled slots, then their missing-value mask."""
        filled = self.filled(X)
        missing = torch.isnan(self.slots(X)).to(filled.dtype)
        return torch.cat([filled, missing], dim=1)

    def hide_for_validation(self, X: torch.Tensor) -> torch.Tensor:
        """`X` with a fixed, seeded `validation_mask_fraction` of it set NaN."""
        # Drawn on the CPU, whatever the device: every device (the meta one
        # that checks a loaded file included) then hides the same values.
        generator = torch.Generator().manual_seed(VALIDATION_MASK_SEED)
        draws = torch.rand(X.shape, generator=generator, device="cpu")
        hidden = (draws < self.validation_mask_fraction).to(X.device)
        return X.masked_fill(hidden, float("nan"))

    def forward(self, X: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The training and validation pass.

        Returns the output's values (standardised numbers and logits, a
        column per slot), the codes, where the input had missing values
        (after hiding values for validation in evaluation mode), and the
        output's log-variances, a column per feature (those of categorical
        features unused). The loss compares the values with :meth:`targets`
        of the clean rows: in training, `X` is already corrupted.
        """
        if not self.training:
            X = self.hide_for_validation(X)
        output, Z = self.inner(self.inputs(X))
        log_variance = output[:, self.n_slots :][:, self.first_slot]
        return output[:, : self.n_slots], Z, torch.isnan(X), log_variance

    def logits(self, values: torch.Tensor) -> torch.Tensor:
        """The logits of the categories of each categorical feature, from the
        output's values: shape (n_samples, n_categorical, most categories),
        -inf past a feature's own categories."""
        logits = values * self.scale + self.mean
        padding = torch.full_like(logits[:, :1], -torch.inf)
        return torch.cat([logits, padding], dim=1)[:, self.category_slots]

    def entry_losses(
        self, values: torch.Tensor, target: torch.Tensor, scored: torch.Tensor
    ) -> torch.Tensor:
        """The loss of each entry, a column per feature, 0 where not `scored`:
        the squared error of a number (standardised), the cross-entropy of a
        category. Unscored entries pass no gradient, NaN targets included."""
        if not self.categorical:
            return torch.where(scored, values - target, 0.0).square()
        numeric = values[:, self.first_slot]
        losses = torch.where(scored, numeric - target, 0.0).square()
        index = self.categorical_index
        scored_codes = scored[:, index]
        codes = torch.where(scored_codes, target[:, index], 0.0).long()
        log_p = F.log_softmax(self.logits(values), dim=-1)
        cross_entropy = -log_p.gather(-1, codes[..., None])[..., 0]
        cross_entropy = torch.where(scored_codes, cross_entropy, 0.0)
        return losses.index_copy(1, index, cross_entropy)

    def variance_losses(
        self,
        values: torch.Tensor,
        log_variance: torch.Tensor,
        target: torch.Tensor,
        scored: torch.Tensor,
    ) -> torch.Tensor:
        """The Gaussian negative log-likelihood (less a constant) of each
        `scored` numeric entry under the predictive variance, about the
        output's values taken as fixed: only the log-variances learn from it.
        A column per feature; 0 where not scored and for categories."""
        scored = scored & ~self.is_categorical
        numeric = values[:, self.first_slot].detach()
        squared = torch.where(scored, numeric - target, 0.0).square()
        log_variance = log_variance.clamp(*LOG_VARIANCE_RANGE)
        losses = 0.5 * (log_variance + squared * torch.exp(-log_variance))
        return torch.where(scored, losses, 0.0)

    def encode(self, X: torch.Tensor) -> torch.Tensor:
        """The codes of rows with gaps."""
        return self.inner.encode(self.inputs(X))

    def decode_standardized(self, Z: torch.Tensor) -> torch.Tensor:
        """The output's values for codes: standardised numbers and logits, a
        column per slot."""
        return self.inner.decode(Z)[:, : self.n_slots]

    def decode(self, Z: torch.Tensor) -> torch.Tensor:
        """The reconstruction of codes, a column per feature, in the data's
        own units, and the code of the likeliest category."""
        return self._values(self.decode_standardized(Z))

    def _values(self, values: torch.Tensor) -> torch.Tensor:
        """Numbers in the data's units, and the likeliest categories' codes,
        from the output's values."""
        first = self.first_slot
        X = values[:, first] * self.scale[first] + self.mean[first]
        if not self.categorical:
            return X
        codes = self.logits(values).argmax(dim=-1).to(X.dtype)
        return X.index_copy(1, self.categorical_index, codes)

    def draw(
        self, X: torch.Tensor, generator: torch.Generator, *, n_rounds: int = 1
    ) -> torch.Tensor:
        """`X` with each missing value drawn from the predictive distribution
        given the row's observed values.

        A number is drawn from a Gaussian about the network's value with the
        network's variance; a category from the softmax of its logits. The
        missing values of a row are drawn in `n_rounds` rounds, each of a
        random share of them, and those of a round are observed in the
        following rounds: with a round per missing value, this is a draw from
        the joint distribution by the chain rule; with one round, each value is
        drawn on its own (independently, given the observed ones).
        """
        missing = torch.isnan(X)
        n_missing = missing.sum(dim=1, keepdim=True)
        keys = torch.rand(X.shape, generator=generator, device=X.device)
        rank = keys.masked_fill(~missing, 2.0).argsort(dim=1).argsort(dim=1)
        rounds = rank * n_rounds // n_missing.clamp_min(1)
        for round_ in range(n_rounds):
            drawn = missing & (rounds == round_)
            output, _ = self.inner(self.inputs(X))
            X = torch.where(drawn, self._draw_once(output, generator), X)
        return X

    def _draw_once(self, output: torch.Tensor, generator: torch.Generator):
        """A value for each entry from the predictive distribution of `inner`'s
        `output`, a column per feature."""
        values = output[:, : self.n_slots]
        first = self.first_slot
        log_variance = output[:, self.n_slots :][:, first].clamp(*LOG_VARIANCE_RANGE)
        noise = torch.randn(
            values[:, first].shape,
            generator=generator,
            device=values.device,
            dtype=values.dtype,
        )
        standardized = values[:, first] + noise * torch.exp(0.5 * log_variance)
        X = standardized * self.scale[first] + self.mean[first]
        if not self.categorical:
            return X
        logits = self.logits(values)
        uniform = torch.rand(
            logits.shape, generator=generator, device=X.device, dtype=X.dtype
        )
        # The Gumbel-max trick: the argmax of logits plus Gumbel noise is a
        # draw from their softmax.
        gumbel = -torch.log(-torch.log(uniform.clamp_min(1e-12)))
        codes = (logits + gumbel).argmax(dim=-1).to(X.dtype)
        return X.index_copy(1, self.categorical_index, codes)

    def init_linear(
        self, components: torch.Tensor, mean: torch.Tensor, scores: torch.Tensor
    ) -> None:
        """Start `inner` from PCA of the filled, standardised slots of a sample.

        The components and mean are of the ``n_slots`` filled columns; the
        mask columns get zero weights, so that the start is the linear
        autoencoder of the filled values (with log-variances 0, the slots'
        own variances), and training learns what the mask adds.
        """
        components = torch.cat([components, torch.zeros_like(components)], dim=1)
        mean = torch.cat([mean, torch.zeros_like(mean)])
        self.inner.init_linear(components, mean, scores)
