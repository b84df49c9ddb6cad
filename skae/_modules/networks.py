"""The one registry of network families, and a user's own torch network.

An estimator names its network with one parameter: a family registered here
(``"mlp"``, ``"conv"``, or ``"auto"``, which picks between them), or a
callable of the user's that builds a :class:`torch.nn.Module` with an
``encoder`` and a ``decoder``. :func:`build_network` is the one place that
reads it; the estimators, the variational heads and the imputer's mask input
all build their networks through it.
"""

# SPDX-License-Identifier: BSD-3-Clause

import inspect
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from skae._modules import conv, mlp
from skae._modules.mlp import ACTIVATIONS, EncoderDecoder

# A family is a callable (a function, or the module class itself)
# ``build(n_features, n_components, *, code_activation, output_activation,
# linear_start, **its own parameters)`` that returns an EncoderDecoder. Its
# own parameters are named as the estimator parameters that set them; a new
# family is a module under _modules/ and a line here.
FAMILIES: dict[str, Callable[..., nn.Module]] = {
    "mlp": mlp.MLPAutoencoder,
    "conv": conv.build,
}


def resolve_family(network: Any, image_shape: Any) -> Any:
    """The family ``"auto"`` stands for: ``"conv"`` for images (an
    `image_shape` is given), ``"mlp"`` otherwise; any other value as it is."""
    if isinstance(network, str) and network == "auto":
        return "mlp" if image_shape is None else "conv"
    return network


class ModuleNetwork(EncoderDecoder):
    """A user's network, given as a module with an ``encoder`` and a ``decoder``.

    The two halves are trained as they are, followed by the code's and the
    output's activations (none for ``"identity"``). ``init_linear`` (the PCA
    start) needs each half to have ``start_linear(weight, bias)``, which
    makes it the affine map ``X @ weight.T + bias``.
    """

    def __init__(
        self,
        network: nn.Module,
        code_activation: str = "identity",
        output_activation: str = "identity",
    ) -> None:
        super().__init__()
        self.code_activation = code_activation
        # A network that models neighbouring features itself (as the conv
        # family does) may say so: the imputer then fills gaps with means.
        self.local_structure = bool(getattr(network, "local_structure", False))
        self.encoder = _activated(network.encoder, code_activation)
        self.decoder = _activated(network.decoder, output_activation)


def _activated(half: nn.Module, activation: str) -> nn.Module:
    """`half` followed by `activation` (`half` itself for ``"identity"``)."""
    if activation == "identity":
        return half
    return _Activated(half, ACTIVATIONS[activation]())


class _Activated(nn.Sequential):
    """A user's half and an activation; its linear start is the half's."""

    def start_linear(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        """Start the half linear (the activation follows it)."""
        mlp.start_linear(self[0], weight, bias)


def family_parameters(network: Any) -> set[str]:
    """Names of the estimator parameters a registered family reads."""
    build = FAMILIES[network]
    return {
        name
        for name, parameter in inspect.signature(build).parameters.items()
        if parameter.kind == parameter.KEYWORD_ONLY
    } - {"code_activation", "output_activation", "linear_start"}


def build_network(
    network: Any,
    n_features: int,
    n_components: int,
    *,
    family_params: dict[str, Any],
    network_params: dict[str, Any] | None = None,
    code_activation: str = "identity",
    output_activation: str = "identity",
    linear_start: bool = False,
) -> EncoderDecoder:
    """Build the encoder/decoder pair for rows of `n_features` and codes of
    `n_components`.

    `network` is a registered family's name, which is given the entries of
    `family_params` it reads and then `network_params`; or a callable,
    called as ``network(n_features=..., n_components=..., **network_params)``,
    that returns a module with an ``encoder`` and a ``decoder``.
    """
    network_params = dict(network_params or {})
    network = resolve_family(network, family_params.get("image_shape"))
    if isinstance(network, str):
        if network not in FAMILIES:
            raise ValueError(
                f"network={network!r} is not a network family; the families are "
                f"{sorted(FAMILIES)} (or 'auto'), or pass a callable that builds "
                "a torch module with an encoder and a decoder."
            )
        names = family_parameters(network)
        params = {k: v for k, v in family_params.items() if k in names}
        return FAMILIES[network](
            n_features,
            n_components,
            **{**params, **network_params},
            code_activation=code_activation,
            output_activation=output_activation,
            linear_start=linear_start,
        )
    if isinstance(network, nn.Module) or not callable(network):
        raise TypeError(
            "network must be a family's name or a callable (a torch.nn.Module "
            "subclass, or a function) that builds the network once the number "
            f"of features is known; got {network!r}. Pass the class, and its "
            "arguments as network_params."
        )
    module = network(n_features=n_features, n_components=n_components, **network_params)
    name = getattr(network, "__name__", repr(network))
    if not isinstance(module, nn.Module):
        raise TypeError(f"network {name} returned {module!r}, not a torch.nn.Module.")
    for half in ("encoder", "decoder"):
        if not isinstance(getattr(module, half, None), nn.Module):
            raise TypeError(
                f"The module that network {name} built has no {half} (a "
                "torch.nn.Module attribute): skae trains a network's encoder "
                "and decoder, so give it both."
            )
    return ModuleNetwork(module, code_activation, output_activation)
