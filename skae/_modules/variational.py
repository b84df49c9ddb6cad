"""The variational autoencoder's network: a Gaussian encoder and a decoder."""

# SPDX-License-Identifier: BSD-3-Clause

import math
from collections.abc import Sequence

import torch
from torch import nn

from skae._modules.conv import ImageRefinement, refine_images
from skae._modules.mlp import LinearResidual, make_mlp

LOG_2PI = math.log(2 * math.pi)

# Log-variances are clamped to this range before exp(): a diverging encoder
# then gives large but finite losses instead of inf and NaN.
LOG_VARIANCE_RANGE = (-30.0, 20.0)


class GaussianEncoder(nn.Module):
    """A trunk (an MLP) with two heads: the mean and log-variance of q(z | x).

    ``width`` is the trunk's output width. With ``linear_residual``, a linear
    map of the input is added to the mean, so that
    :meth:`VariationalAutoencoderModule.init_linear` can start the codes from
    (whitened) PCA scores.
    """

    def __init__(
        self,
        trunk: nn.Module,
        width: int,
        n_features: int,
        n_components: int,
        linear_residual: bool = False,
    ) -> None:
        super().__init__()
        self.trunk = trunk
        self.mean = nn.Linear(width, n_components)
        self.log_variance = nn.Linear(width, n_components)
        self.linear = nn.Linear(n_features, n_components) if linear_residual else None

    def posterior(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The posterior's mean and (clamped) log-variance for each row."""
        H = self.trunk(X)
        mean = self.mean(H)
        if self.linear is not None:
            mean = mean + self.linear(X)
        return mean, self.log_variance(H).clamp(*LOG_VARIANCE_RANGE)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        """The posterior mean of each row: the code, as other encoders give."""
        return self.posterior(X)[0]


class VariationalAutoencoderModule(nn.Module):
    """A variational autoencoder: Gaussian q(z | x), N(0, I) prior, and a
    Gaussian (learned isotropic variance) or Bernoulli p(x | z).

    ``forward`` draws one code per row with the reparameterisation trick and
    returns the two terms of the negative ELBO of each row, in nats:
    ``(-log p(x | z), KL(q(z | x) || p(z)))``. While training, their sums
    over the epoch's rows are kept in ``epoch_terms`` (sums, count), for the
    loss curve's parts. :meth:`log_likelihood` gives the importance-weighted
    estimate of Burda et al. (2016).
    """

    def __init__(
        self,
        n_features: int,
        n_components: int,
        hidden_layer_sizes: Sequence[int] = (),
        activation: str = "relu",
        likelihood: str = "gaussian",
        linear_residual: bool = False,
        image_shape: Sequence[int] | None = None,
        channels: Sequence[int] = (32,),
    ) -> None:
        super().__init__()
        self.likelihood = likelihood
        hidden = list(hidden_layer_sizes)
        trunk = make_mlp([n_features, *hidden], activation, activation)
        width = hidden[-1] if hidden else n_features
        decoder = make_mlp(
            [n_components, *hidden[::-1], n_features], activation, "identity"
        )
        self.encoder = GaussianEncoder(
            trunk, width, n_features, n_components, linear_residual
        )
        self.decoder = decoder
        if linear_residual:
            self.decoder = LinearResidual(
                nn.Linear(n_components, n_features), decoder, "identity"
            )
        if image_shape is not None:
            # Convolutions correct the decoded images, as in ConvAutoencoder.
            self.decoder = refine_images(
                self.decoder, image_shape, channels, activation
            )
        # log sigma^2 of the isotropic Gaussian noise (unused for Bernoulli).
        self.log_noise_variance = nn.Parameter(torch.zeros(()))
        self.epoch_terms: torch.Tensor | None = None

    def forward(self, X: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw a code per row; return -log p(x | z) and the KL of each row."""
        mean, log_variance = self.encoder.posterior(X)
        Z = mean + torch.randn_like(mean) * torch.exp(0.5 * log_variance)
        nll = self.reconstruction_nll(self.decoder(Z), X)
        kl = self.kl_divergence(mean, log_variance)
        if self.training:
            # Summed on the device: reading them each batch would make the
            # host wait for it.
            count = torch.tensor(float(len(X)), device=X.device)
            terms = torch.stack([nll.detach().sum(), kl.detach().sum(), count])
            if self.epoch_terms is None:
                self.epoch_terms = torch.zeros_like(terms)
            self.epoch_terms += terms
        return nll, kl

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
        std = torch.exp(0.5 * log_variance)
        log_weights = []
        for draw in noise:
            Z = mean + draw * std
            log_q = -0.5 * (draw.square() + log_variance + LOG_2PI).sum(dim=-1)
            log_prior = -0.5 * (Z.square() + LOG_2PI).sum(dim=-1)
            log_x = -self.reconstruction_nll(self.decoder(Z), X)
            log_weights.append(log_x + log_prior - log_q)
        stacked = torch.stack(log_weights)
        return torch.logsumexp(stacked, dim=0) - math.log(len(noise))

    @torch.no_grad()
    def init_linear(
        self, components: torch.Tensor, mean: torch.Tensor, scores: torch.Tensor
    ) -> None:
        """Start from probabilistic PCA's solution of orthonormal ``components``.

        The codes' means are the whitened PCA scores (unit variance on the
        sample, as the prior wants), the decoder maps them back through the
        components scaled by the scores' spread, and the corrections start at
        zero. The posterior variance starts small next to the prior's.
        Needs ``linear_residual=True``.
        """
        encoder, decoder = self.encoder, self.decoder
        if isinstance(decoder, ImageRefinement):
            decoder.zero_correction()
            decoder = decoder.decoder
        if encoder.linear is None or not isinstance(decoder, LinearResidual):
            raise TypeError("init_linear needs linear_residual=True.")
        scale = scores.std(dim=0).clamp_min(1e-8) if len(scores) > 1 else 1.0
        weight = components / torch.as_tensor(scale).reshape(-1, 1)
        encoder.linear.weight.copy_(weight)
        encoder.linear.bias.copy_(-weight @ mean)
        for head in (encoder.mean, encoder.log_variance):
            head.weight.zero_()
        encoder.mean.bias.zero_()
        encoder.log_variance.bias.fill_(math.log(1e-2))
        decoder.linear.weight.copy_(components.T * scale)
        decoder.linear.bias.copy_(mean)
        decoder.zero_correction()
