"""VariationalAutoencoder: a probabilistic code, samples and a likelihood."""

# SPDX-License-Identifier: BSD-3-Clause

from dataclasses import KW_ONLY, dataclass
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils.validation import check_is_fitted

from skae._autoencoder_base import _BaseAutoencoder
from skae._compat import Interval, StrOptions
from skae._engine.callbacks import plain_module
from skae._engine.runtime import make_seed
from skae._modules.variational import (
    VariationalAutoencoderModule,
    upgrade_state_v1,
)

# Codes drawn per row to estimate the ELBO's expectation in `score_samples`.
ELBO_DRAWS = 16


@dataclass(eq=False, repr=False)
class VariationalAutoencoder(_BaseAutoencoder):
    """Variational autoencoder: a probabilistic code, samples and a likelihood.

    The encoder maps each sample to a Gaussian posterior over the code
    q(z | x), the decoder maps a code to a distribution over the data
    p(x | z), and the code has a standard normal prior. Training maximises
    the evidence lower bound (ELBO) of Kingma and Welling [1]_, with the KL
    term weighted by `beta` [2]_. `transform` returns the posterior mean,
    `inverse_transform` the decoder's mean, `sample` draws new data, and
    `score` is the mean ELBO in nats per sample, a lower bound of the
    log-likelihood in the same units as :meth:`PCA.score
    <sklearn.decomposition.PCA.score>`, so that :class:`GridSearchCV
    <sklearn.model_selection.GridSearchCV>` can select `n_components` and
    `beta` by held-out evidence.

    Read more in the :ref:`User Guide <variational>`.

    Parameters
    ----------
    n_components : int, default=2
        Size of the code (latent space), as in :class:`~sklearn.decomposition.PCA`.

    alpha : float, default=0.0
        L2 penalty (weight decay) on the network's weights, passed to the Adam
        optimizer as ``weight_decay``.

    batch_size : int, default=256
        Size of the minibatches. Fewer samples than `batch_size` make a single,
        smaller batch.

    learning_rate_init : float, default=1e-3
        Learning rate of the Adam optimizer.

    max_iter : int, default=200
        Maximum number of epochs (passes over the training data), as in
        :class:`~sklearn.neural_network.MLPRegressor`. Training stops sooner
        when the loss stops improving (see `tol` and `n_iter_no_change`).

    early_stopping : bool or "auto", default="auto"
        Whether to hold out `validation_fraction` of the training data and stop
        when the loss (the negative ELBO) of the averaged weights on it stops
        improving. ``"auto"`` does so in `fit` on data of at least 1,000,000
        values (rows times features). See :ref:`early-stopping`.

    validation_fraction : float, default=0.1
        Proportion of the training data held out for early stopping. Only used
        with early stopping.

    n_iter_no_change : int, default=10
        Number of epochs without an improvement of at least `tol` before
        training stops.

    tol : float, default=1e-2
        Relative improvement of the monitored loss (validation loss with
        `early_stopping`, training loss otherwise) below which an epoch counts
        as no improvement: an epoch improves when its loss is lower than the
        loss of the last improving epoch by more than `tol` times that loss's
        magnitude. With the default, training stops once the loss has fallen
        by less than 1% over `n_iter_no_change` epochs.

    shuffle : bool, default=True
        Whether to shuffle the samples in each epoch.

    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling, the validation split and any
        training noise. Pass an int for reproducible results across calls.
        ``None`` draws a fresh seed from the operating system. Global numpy,
        python and torch RNG states are never changed.
        See :term:`Glossary <random_state>`.

    device : str, default="cpu"
        Torch device to train and infer on: ``"cpu"``, ``"cuda"``,
        ``"cuda:<index>"``, or ``"auto"`` for a GPU when one is available.

    precision : {"float32", "bfloat16"}, default="float32"
        Precision of the network's matrix products, in training and in
        `transform`. ``"bfloat16"`` runs them in bfloat16 under
        :func:`torch.autocast` (weights, gradients, the optimizer and the
        loss stay in float32): on CPUs with bfloat16 units (Intel AMX,
        recent ARM) and on GPUs several times faster, at a small cost in
        precision measured by ``benchmarks/bench_speed.py``. float64 input to
        `transform` is always computed in float64.

    verbose : int, default=0
        0 is silent; 1 or more prints a per-epoch log and a progress bar
        (through skorch).

    callbacks : list of skorch callbacks or None, default=None
        Extra :mod:`skorch.callbacks` (or ``(name, callback)`` tuples) for
        power users, e.g. a learning-rate scheduler or checkpointing. They are
        copied at `fit`, so the objects passed here are left untouched.

    network : {"auto", "mlp", "conv"} or callable, default="auto"
        The network trained. ``"mlp"`` is an MLP encoder of
        `hidden_layer_sizes` and its mirror as the decoder; ``"conv"`` is that
        MLP whose decoded images convolutions correct (`image_shape`,
        `conv_channels`); ``"auto"`` is ``"conv"`` when `image_shape` is set
        and ``"mlp"`` otherwise. A callable (a :class:`torch.nn.Module`
        subclass or a function) is a network of your own: skae calls
        ``network(n_features=..., n_components=..., **network_params)`` once
        it knows the data's width, and trains the ``encoder`` and ``decoder``
        of the module it returns. See :ref:`own-network`.

    network_params : dict or None, default=None
        Keyword arguments for `network`, as `kernel_params` in
        :class:`~sklearn.decomposition.KernelPCA`; search them with a grid of
        dicts (``{"network_params": [{"width": 32}, {"width": 64}]}``). For a
        family, they are added to (or override) the parameters it reads.

    hidden_layer_sizes : int or tuple of int, default=(512, 256)
        Widths of the encoder's hidden layers, from the input inward. The
        decoder mirrors them. ``()`` gives a single linear map each way.

    activation : {"relu", "tanh", "sigmoid", "elu", "gelu", "identity"}, \
            default="gelu"
        Activation after every hidden layer. No hidden layers and a Gaussian
        likelihood make a linear variational autoencoder, whose optimum is
        probabilistic PCA's.

    image_shape : tuple of int or None, default=None
        Shape of each sample as an image, ``(height, width)`` or
        ``(channels, height, width)``, for the convolutional network
        (``network="conv"``, which ``"auto"`` picks when `image_shape` is
        set): the MLP of `hidden_layer_sizes`, whose decoded images
        convolutions then correct (`conv_channels`). Rows stay flat: `X` has
        one image per row, flattened in C-order (as ``images.reshape(n_samples,
        -1)`` gives), so the estimator works after a scaler and in pipelines
        as before. ``None`` uses the MLP alone.

    conv_channels : tuple of int, default=(32,)
        Channels of the convolutional stages that correct the decoded images,
        from the image inward: each stage halves the height and width (3x3
        kernels, stride 2), transposed convolutions mirror them back, and
        their output is added to the decoder's. Only used when `image_shape`
        is set.

    init : {"pca", "random"}, default="pca"
        How the network starts. ``"pca"`` gives the encoder's mean and the
        decoder each a linear map plus a nonlinear correction (the hidden
        layers), sets the linear maps from PCA of the training data (at most
        10,000 randomly chosen rows), with the codes whitened as the prior
        wants, and the corrections to zero: training starts from
        probabilistic PCA's solution and improves on it (for a Bernoulli
        likelihood, from PCA's reconstruction passed through the sigmoid, a
        rougher start). ``"random"`` is a plain MLP with PyTorch's default
        random initialisation.

    average_decay : float, default=0.99
        Training ends on an exponential moving average of the weights over
        about the last ``1 / (1 - average_decay)`` steps, not on the last
        weights (which 0 keeps). See :ref:`weight-averaging`.

    warm_start : bool, default=False
        When True, a further call to `fit` continues training the current
        network instead of starting afresh. See :term:`the Glossary
        <warm_start>`.

    accelerator : accelerate.Accelerator or None, default=None
        Train through Hugging Face accelerate (skorch's
        :class:`~skorch.hf.AccelerateMixin`), e.g. on several GPUs: under
        ``accelerate launch``, each process trains on its own share of every
        step of ``batch_size * num_processes`` rows and the gradients are
        averaged. The accelerator also brings mixed precision and gradient
        accumulation. It places the network, so `device` is ignored. A model
        trained this way pickles; :func:`skae.save` needs
        ``accelerator=None`` (set it with ``set_params``).

    beta : float, default=1.0
        Weight of the KL term of the ELBO. 1 is the variational autoencoder;
        larger values give a beta-VAE, whose codes keep closer to the prior.

    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        The distribution p(x | z) of the data given a code. ``"gaussian"``
        has the decoder's output as its mean and a learned variance shared by
        all features, as in probabilistic PCA: it suits data of any scale.
        ``"bernoulli"`` needs data in [0, 1] (images scaled by MinMaxScaler,
        say) and takes the decoder's output through a sigmoid.

    importance_samples : int, default=1
        Codes drawn per sample in each training step. 1 trains on the ELBO;
        K > 1 on the K-sample importance-weighted bound of Burda et al. [3]_
        (the IWAE objective), tighter than the ELBO, at K decoder passes per
        sample. Needs ``beta=1``.

    Attributes
    ----------
    n_components_ : int
        Size of the code of the fitted network.

    n_features_in_ : int
        Number of features seen during :term:`fit`.

    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during :term:`fit`. Defined only when `X`
        has feature names that are all strings.

    net_ : skorch.NeuralNet
        The fitted skorch net that holds the module, optimizer and history.

    module_ : torch.nn.Module
        The fitted torch module, in eval mode.

    encoder_ : torch.nn.Module
        The fitted encoder; called on a batch it returns the posterior mean.

    decoder_ : torch.nn.Module
        The fitted decoder: the Gaussian's mean, or the Bernoulli's logits.

    n_iter_ : int
        Number of whole epochs trained, over all calls to `fit` and
        `partial_fit` since the network was built. An epoch cut short by
        Ctrl-C is not counted, though its updates are kept.

    loss_curve_ : list of float
        Training loss at the end of each epoch: the negative ELBO per sample
        (with the KL term weighted by `beta`), in nats.

    reconstruction_loss_curve_ : list of float
        The reconstruction part of `loss_curve_`: the mean of -log p(x | z)
        over the epoch's samples, for one code drawn per sample.

    kl_loss_curve_ : list of float
        The KL part of `loss_curve_`, before weighting by `beta`: the mean of
        KL(q(z | x) || p(z)) over the epoch's samples.

    do_early_stopping_ : bool
        Whether the last training call held out rows and stopped early (see
        `early_stopping`).

    validation_scores_ : list of float or None
        Negative validation loss (the beta-weighted ELBO) at each epoch when
        early stopping, else None.

    best_validation_score_ : float or None
        Best of `validation_scores_`, else None.

    best_loss_ : float or None
        Lowest monitored loss: validation loss with `early_stopping`, training
        loss otherwise. None if Ctrl-C interrupted the first epoch.

    reconstruction_error_ : float
        Mean squared error of the training data against the decoder's mean
        at the posterior mean, after fitting.

    See Also
    --------
    sklearn.decomposition.PCA : Linear dimensionality reduction, also a
        probabilistic model (probabilistic PCA) with a `score`.
    AutoencoderTransformer : The plain, deterministic autoencoder.
    DenoisingAutoencoder : Learns to undo noise added to its training input.
    SparseAutoencoder : Penalises the code towards sparsity.

    Notes
    -----
    The loss is the negative ELBO,
    :math:`-E_{q(z|x)}[\\log p(x|z)] + \\beta KL(q(z|x) \\| N(0, I))`,
    estimated with one code per sample drawn by the reparameterisation trick
    [1]_; the KL term is exact. The posterior's mean and log-variance are
    the outputs of the `network`'s encoder built for ``2 * n_components``
    codes (its decoder is built for ``n_components``). The posterior variance
    is parameterised by its logarithm (clamped to a safe range), so that
    training stays finite.
    The KL weight does not warm up: with ``init="pca"`` training starts from
    probabilistic PCA's solution (whitened PCA scores as codes, the noise
    variance from PCA's reconstruction error), where the KL term is already
    balanced against the reconstruction.

    `score_samples` estimates each sample's ELBO with 16 codes drawn from its
    posterior, and :meth:`log_likelihood` the importance-weighted bound of
    Burda et al. [3]_, which approaches the log-likelihood as
    `n_importance` grows. Both draw their codes from the fitted model's own
    seed, the same standard normal draws for every sample, so that a
    sample's score depends on that sample alone (not on the batch or the
    order of rows), every call returns the same numbers and no global RNG is
    touched; `transform` and `inverse_transform` are deterministic.

    Training runs in float32 on `device`; `transform`, `inverse_transform`,
    `score_samples` and `log_likelihood` return the dtype of their input
    (float32 or float64). With an int `random_state`, two fits on the CPU
    give identical results.

    References
    ----------
    .. [1] D. P. Kingma and M. Welling, "Auto-encoding variational Bayes",
       ICLR, 2014.
    .. [2] I. Higgins et al., "beta-VAE: Learning basic visual concepts with a
       constrained variational framework", ICLR, 2017.
    .. [3] Y. Burda, R. Grosse and R. Salakhutdinov, "Importance weighted
       autoencoders", ICLR, 2016.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import minmax_scale
    >>> from skae import VariationalAutoencoder
    >>> X = minmax_scale(load_digits().data).astype("float32")
    >>> vae = VariationalAutoencoder(n_components=8, max_iter=5, random_state=0)
    >>> Z = vae.fit_transform(X)
    >>> Z.shape, Z.dtype
    ((1797, 8), dtype('float32'))
    >>> vae.sample(3, random_state=0).shape
    (3, 64)
    >>> vae.score_samples(X[:4]).shape
    (4,)
    """

    _: KW_ONLY
    beta: float = 1.0
    likelihood: str = "gaussian"
    importance_samples: int = 1

    _parameter_constraints = {
        **_BaseAutoencoder._parameter_constraints,
        "beta": [Interval(Real, 0, None, closed="left")],
        "likelihood": [StrOptions({"gaussian", "bernoulli"})],
        "importance_samples": [Interval(Integral, 1, None, closed="left")],
    }

    _network_params = (*_BaseAutoencoder._network_params, "likelihood")

    def score_samples(self, X):
        """Return the evidence lower bound (ELBO) of each sample, in nats.

        A lower bound of log p(x), estimated with 16 codes drawn from each
        sample's posterior; higher is better, and low values flag samples
        unlike the training data.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            The ELBO of each sample (with the KL term weighted by 1, whatever
            `beta` was used in training), in the dtype of `X`.
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)
        noise = self._noise(ELBO_DRAWS)
        return self._predict(lambda module, X: module.elbo(X, noise.to(X)), X)

    def score(self, X, y=None):
        """Return the mean ELBO of the samples of `X`, in nats.

        A lower bound of the average log-likelihood, in the units of
        :meth:`PCA.score <sklearn.decomposition.PCA.score>`. Higher is better.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        y : Ignored
            Not used, present for API consistency by convention.

        Returns
        -------
        score : float
            Mean of :meth:`score_samples`.
        """
        return float(np.mean(self.score_samples(X)))

    def log_likelihood(self, X, n_importance=100):
        """Return the importance-weighted estimate of each sample's log-likelihood.

        The bound of Burda et al. with `n_importance` codes drawn from each
        sample's posterior: tighter than the ELBO, and closer to log p(x) as
        `n_importance` grows. For reporting; it costs `n_importance` decoder
        passes.

        Parameters
        ----------
        X : {array-like, sparse matrix} of shape (n_samples, n_features)
            Data to score.

        n_importance : int, default=100
            Number of codes drawn per sample.

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
            The estimate of log p(x) of each sample, in nats, in the dtype of
            `X`.
        """
        check_is_fitted(self)
        if not isinstance(n_importance, Integral) or n_importance < 1:
            raise ValueError(
                f"n_importance must be a positive integer; got {n_importance!r}."
            )
        X = self._validate_input(X, reset=False)
        noise = self._noise(n_importance)
        return self._predict(lambda module, X: module.log_likelihood(X, noise.to(X)), X)

    def sample(self, n_samples=1, random_state=None):
        """Draw new samples: codes from the prior, through the decoder's mean.

        The decoder's mean is returned, not a draw from p(x | z): for images
        it is the picture rather than the picture plus pixel noise.

        Parameters
        ----------
        n_samples : int, default=1
            Number of samples to draw.

        random_state : int, RandomState instance or None, default=None
            Seeds the codes drawn. Pass an int for the same samples on every
            call. ``None`` draws fresh entropy from the operating system; the
            global RNGs are never changed.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            The samples, in float32 (the network's precision).
        """
        check_is_fitted(self)
        if not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(
                f"n_samples must be a positive integer; got {n_samples!r}."
            )
        rng = np.random.RandomState(make_seed(random_state))
        Z = rng.standard_normal((n_samples, self.n_components_)).astype(np.float32)
        return self._predict(self._decode, Z)

    def _build_module(self, n_features):
        """A family's encoder of twice the codes (the posterior's mean and
        log-variance) and a family's decoder, in the variational module."""
        n_codes = self.n_components
        module = VariationalAutoencoderModule(
            self._build_network(n_features, 2 * n_codes).encoder,
            self._build_network(n_features, n_codes).decoder,
            n_codes,
            likelihood=self.likelihood,
        )
        module.importance_samples = self.importance_samples
        return module

    def _loss(self, module, output, X, *, training):
        """The negative ELBO per sample, its KL term weighted by `beta` (or
        the negative importance-weighted bound); the ELBO's two terms are
        recorded for the loss curve's parts."""
        reconstruction, kl, bound = output
        loss = (reconstruction + self.beta * kl).mean() if bound is None else None
        return {
            "loss": -bound.mean() if loss is None else loss,
            "reconstruction": reconstruction.mean(),
            "kl": kl.mean(),
        }

    def _check_params(self, n_features):
        """Also refuse a weighted KL term with the importance-weighted bound."""
        super()._check_params(n_features)
        if self.importance_samples > 1 and self.beta != 1:
            raise ValueError(
                f"importance_samples={self.importance_samples} trains on the "
                "importance-weighted bound of log p(x), which has no KL term to "
                f"weight: set beta=1 (got {self.beta}), or importance_samples=1 "
                "for a beta-VAE."
            )

    def _update_training_params(self):
        """Also pass on the codes drawn per sample."""
        super()._update_training_params()
        plain_module(self.net_).importance_samples = self.importance_samples

    @staticmethod
    def _upgrade_module_state(state, format_version):
        """Weights of skae 0.1.0's variational module in today's layout."""
        return upgrade_state_v1(state) if format_version < 2 else state

    def _unit_range_needed(self):
        """A Bernoulli likelihood needs data in [0, 1]."""
        return "likelihood='bernoulli'" if self.likelihood == "bernoulli" else None

    def _init_module(self, X):
        """Start from PCA (see `init`), with the noise variance of that start.

        A Gaussian's variance starts at the reconstruction error of the
        initial network on a sample of `X`: Adam moves its logarithm by
        about `learning_rate_init` a step, too slowly to travel far.
        """
        sample = self._init_sample(X)
        if self.init == "pca":
            self._init_from_pca(sample)
        if self.likelihood != "gaussian":
            return
        module = plain_module(self.net_)
        with torch.no_grad():
            error = (module.decode(module.encode(sample)) - sample).square().mean()
            module.log_noise_variance.copy_(error.clamp_min(1e-6).log())

    def _set_fitted_attributes(self):
        """Also read the loss curve's two parts from the history."""
        super()._set_fitted_attributes()
        history = self.net_.history
        self.reconstruction_loss_curve_ = [
            float(row.get("train_reconstruction", np.nan)) for row in history
        ]
        self.kl_loss_curve_ = [float(row.get("train_kl", np.nan)) for row in history]

    def _noise(self, n_draws):
        """Standard normal draws for `n_draws` codes, from the model's seed.

        The same draws serve every row (see the module's ``elbo``), so scores
        do not depend on batching or on the other rows; no global RNG is used.
        Shared draws would shift every row's estimate alike, so they are
        centred and whitened to the prior's exact mean and covariance (with
        at least twice as many draws as codes): then an expectation that is
        quadratic in the code, as a Gaussian likelihood's is with a linear
        decoder, is estimated exactly.
        """
        n_draws = max(n_draws, 2 * self.n_components_)
        rng = np.random.RandomState(self._seed)
        noise = rng.standard_normal((n_draws, self.n_components_))
        noise -= noise.mean(axis=0)
        cholesky = np.linalg.cholesky(noise.T @ noise / n_draws)
        noise = np.linalg.solve(cholesky, noise.T).T
        return torch.from_numpy(noise)
