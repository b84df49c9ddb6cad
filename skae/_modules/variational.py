"""The variational autoencoder's network: a Gaussian encoder and a decoder."""

# SPDX-License-Identifier: BSD-3-Clause

import math

import torch
from torch import nn

from skae._modules.mlp import start_linear

LOG_2PI = math.log(2 * math.pi)

# Log-variances are clamped to this range before exp(): a diverging encoder
# then gives large but finite losses instead of inf and NaN.
LOG_VARIANCE_RANGE = (-30.0, 20.0)


class GaussianEncoder(nn.Module):
    """A family's encoder of ``2 * n_components`` outputs, read as the mean and
    the log-variance of q(z | x)."""

    def __init__(self, encoder: nn.Module, n_components: int) -> None:
        super().__init__()
        self.encoder = encoder
        self.n_components = n_components

    def posterior(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The posterior's mean and (clamped) log-variance for each row."""
        # At least float32 whatever the forward pass's precision: the KL sums
        # over codes.
        H = self.encoder(X)
        H = H.to(torch.promote_types(H.dtype, torch.float32))
        mean, log_variance = H[:, : self.n_components], H[:, self.n_components :]
        return mean, log_variance.clamp(*LOG_VARIANCE_RANGE)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """The posterior mean of each row: the code, as other encoders give."""
        return self.posterior(X)[0]


class VariationalAutoencoderModule(nn.Module):
    """A variational autoencoder: Gaussian q(z | x), N(0, I) prior, and a
    Gaussian (learned isotropic variance) or Bernoulli p(x | z).

    It wraps a network family: ``encoder`` is a family's encoder built for
    ``2 * n_components`` codes (:class:`GaussianEncoder` reads its outputs as
    the posterior's mean and log-variance), ``decoder`` a family's decoder of
    ``n_components`` codes. ``forward`` draws one code per row with the
    reparameterisation trick and returns the two terms of the negative ELBO of
    each row, in nats: ``(-log p(x | z), KL(q(z | x) || p(z)))``.
    :meth:`log_likelihood` gives the importance-weighted estimate of Burda et
    al. (2016).
    """

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        n_components: int,
        likelihood: str = "gaussian",
    ) -> None:
        super().__init__()
        self.likelihood = likelihood
        self.encoder = GaussianEncoder(encoder, n_components)
        self.decoder = decoder
        # log sigma^2 of the isotropic Gaussian noise (unused for Bernoulli).
        self.log_noise_variance = nn.Parameter(torch.zeros(()))

    def forward(
        self, X: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Draw ``importance_samples`` codes per row; return -log p(x | z) of
        the first and the KL of each row, and with more than one code the
        importance-weighted bound of each row (else None)."""
        mean, log_variance = self.encoder.posterior(X)
        std = torch.exp(0.5 * log_variance)
        if self.importance_samples == 1:
            Z = mean + torch.randn_like(mean) * std
            nll = self.reconstruction_nll(self.decoder(Z), X)
            return nll, self.kl_divergence(mean, log_variance), None
        noise = torch.randn((self.importance_samples, *mean.shape), device=X.device)
        log_weights = self.log_weights(X, mean, log_variance, noise)
        bound = torch.logsumexp(log_weights, dim=0) - math.log(len(noise))
        nll = self.reconstruction_nll(self.decoder(mean + noise[0] * std), X)
        return nll, self.kl_divergence(mean, log_variance), bound

    # Codes drawn per row in training: 1 trains on the ELBO, more on the
    # importance-weighted bound (set by the estimator, not a weight).
    importance_samples = 1

    def log_weights(
        self,
        X: torch.Tensor,
        mean: torch.Tensor,
        log_variance: torch.Tensor,
        noise: torch.Tensor,
    ) -> torch.Tensor:
        """``log p(x, z_k) - log q(z_k | x)`` for the codes ``z_k = mean + std *
        noise[k]``, of shape ``(len(noise), n_rows)``; `noise` has a draw per
        code, or per code and row.

        The K codes of all rows go through the decoder as one batch.
        """
        std = torch.exp(0.5 * log_variance)
        Z = mean + noise * std
        log_q = -0.5 * (noise.square() + log_variance + LOG_2PI).sum(dim=-1)
        log_prior = -0.5 * (Z.square() + LOG_2PI).sum(dim=-1)
        decoded = self.decoder(Z.reshape(-1, Z.shape[-1]))
        X_repeated = X.expand(len(noise), *X.shape).reshape(-1, X.shape[-1])
        log_x = -self.reconstruction_nll(decoded, X_repeated).reshape(len(noise), -1)
        return log_x + log_prior - log_q

    def elbo(self, X: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """The ELBO of each row, its expectation over q estimated with the
        codes ``mean + std * noise[j]`` (the KL is exact).

        `noise` holds standard normal draws of shape (n_draws, n_components),
        the same for every row: a row's estimate then depends on that row
        alone, not on the others in its batch.
        """
        mean, log_variance = self.encoder.posterior(X)
        std = torch.exp(0.5 * log_variance)
        nll = sum(
            self.reconstruction_nll(self.decoder(mean + std * draw), X)
            for draw in noise
        )
        return -nll / len(noise) - self.kl_divergence(mean, log_variance)

    def encode(self, X: torch.Tensor) -> torch.Tensor:
        """The posterior mean of each row: a deterministic code."""
        return self.encoder(X)

    def decode(self, Z: torch.Tensor) -> torch.Tensor:
        """The mean of p(x | z): the decoder's output, or its sigmoid."""
        decoded = self.decoder(Z)
        return torch.sigmoid(decoded) if self.likelihood == "bernoulli" else decoded

    def reconstruction_nll(
        self, decoded: torch.Tensor, X: torch.Tensor
    ) -> torch.Tensor:
        """-log p(x | z) of each row, in nats, summed over features."""
        decoded = decoded.to(X.dtype)  # sums over features: not in bfloat16
        if self.likelihood == "bernoulli":
            return nn.functional.binary_cross_entropy_with_logits(
                decoded, X, reduction="none"
            ).sum(dim=-1)
        log_variance = self.log_noise_variance
        squared = (X - decoded).square().sum(dim=-1)
        return 0.5 * (
            X.shape[-1] * (LOG_2PI + log_variance) + squared * torch.exp(-log_variance)
        )

    @staticmethod
    def kl_divergence(mean: torch.Tensor, log_variance: torch.Tensor) -> torch.Tensor:
        """KL(q(z | x) || N(0, I)) of each row, in nats."""
        return 0.5 * (mean.square() + log_variance.exp() - 1 - log_variance).sum(dim=-1)

    def log_likelihood(self, X: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Importance-weighted estimate of log p(x) for each row of `X`.

        ``log(1/K sum_k p(x, z_k) / q(z_k | x))`` with the K codes
        ``z_k = mean + std * noise[k]`` drawn from q (`noise` as in
        :meth:`elbo`); K = 1 is an ELBO estimate, and the bound tightens as K
        grows (Burda et al., 2016).
        """
        mean, log_variance = self.encoder.posterior(X)
        # One draw at a time: K can be thousands.
        stacked = torch.cat(
            [
                self.log_weights(X, mean, log_variance, draw.reshape(1, 1, -1))
                for draw in noise
            ]
        )
        return torch.logsumexp(stacked, dim=0) - math.log(len(noise))

    @torch.no_grad()
    def init_linear(
        self, components: torch.Tensor, mean: torch.Tensor, scores: torch.Tensor
    ) -> None:
        """Start from probabilistic PCA's solution of orthonormal ``components``.

        The codes' means are the whitened PCA scores (unit variance on the
        sample, as the prior wants), the decoder maps them back through the
        components scaled by the scores' spread, and the corrections start at
        zero. The posterior variance starts small next to the prior's. Needs
        halves with ``start_linear`` (a family's, built with
        ``linear_start=True``).
        """
        scale = scores.std(dim=0).clamp_min(1e-8) if len(scores) > 1 else 1.0
        weight = components / torch.as_tensor(scale).reshape(-1, 1)
        log_variance_bias = torch.full_like(weight[:, 0], math.log(1e-2))
        start_linear(
            self.encoder.encoder,
            torch.cat([weight, torch.zeros_like(weight)]),
            torch.cat([-weight @ mean, log_variance_bias]),
        )
        start_linear(self.decoder, components.T * scale, mean)


def upgrade_state_v1(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The state dict of skae 0.1.0's variational module, in today's layout.

    That module had a trunk (an MLP to the last hidden width), two linear
    heads on it for the mean and the log-variance, and, for the PCA start, a
    linear map of the input added to the mean. Today's encoder is a family's
    encoder of twice the codes, whose last layer holds both heads and whose
    linear map holds the old one (zero for the log-variance): the same
    function, so the weights carry over exactly.
    """
    state = dict(state)
    heads = [
        state.pop(f"encoder.{head}.{p}")
        for head in ("mean", "log_variance")
        for p in ("weight", "bias")
    ]
    trunk = {
        key: state.pop(key) for key in list(state) if key.startswith("encoder.trunk.")
    }
    linear = {p: state.pop(f"encoder.linear.{p}", None) for p in ("weight", "bias")}
    n_trunk_layers = len(trunk) // 2
    prefix = "encoder.encoder." + ("mlp." if linear["weight"] is not None else "")
    for key, value in trunk.items():
        state[prefix + key.removeprefix("encoder.trunk.")] = value
    state[f"{prefix}{2 * n_trunk_layers}.weight"] = torch.cat([heads[0], heads[2]])
    state[f"{prefix}{2 * n_trunk_layers}.bias"] = torch.cat([heads[1], heads[3]])
    if linear["weight"] is not None:
        weight, bias = linear["weight"], linear["bias"]
        state["encoder.encoder.linear.weight"] = torch.cat(
            [weight, torch.zeros_like(weight)]
        )
        state["encoder.encoder.linear.bias"] = torch.cat([bias, torch.zeros_like(bias)])
    return state
