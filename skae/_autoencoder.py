"""AutoencoderTransformer: the plain autoencoder, a nonlinear PCA."""

# SPDX-License-Identifier: BSD-3-Clause

from skae._autoencoder_base import _BaseReconstructionAutoencoder


class AutoencoderTransformer(_BaseReconstructionAutoencoder):
    """Autoencoder dimensionality reduction: a nonlinear PCA.

    An encoder network maps each sample to a code of `n_components` values
    and a mirrored decoder maps it back; both are trained to minimise the
    reconstruction error. `transform` returns the codes, `inverse_transform`
    the reconstructions, and `score` the negative reconstruction error, so the
    estimator drops in wherever :class:`~sklearn.decomposition.PCA` stands.

    Read more in the :ref:`User Guide <autoencoder>`.

    Parameters
    ----------
    n_components : int, default=2
        Size of the code (latent space), as in :class:`~sklearn.decomposition.PCA`.
        Must not exceed the number of features: a wider code could copy its
        input.

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
        when the reconstruction loss of the averaged weights on it stops
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
        Activation after every hidden layer. ``"identity"`` with no hidden
        layers and ``loss="mse"`` makes a linear autoencoder, whose optimum
        spans the same subspace as PCA.

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
        How the network starts. ``"pca"`` gives the encoder and the decoder
        each a linear map plus a nonlinear correction (the hidden layers),
        sets the linear maps from PCA of the training data (at most 10,000
        randomly chosen rows) and the corrections to zero: training starts
        from the PCA solution and improves on it (with
        ``output_activation="sigmoid"``, from PCA's reconstruction passed
        through the sigmoid, a rougher start). ``"random"`` is a plain MLP
        with PyTorch's default random initialisation.

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

    output_activation : {"identity", "sigmoid"}, default="identity"
        Activation of the decoder's last layer. ``"sigmoid"`` bounds the
        reconstruction to [0, 1], which suits data scaled by MinMaxScaler and
        is required by ``loss="bce"``.

    loss : {"mse", "bce"}, default="mse"
        Reconstruction loss: mean squared error, or binary cross-entropy for
        data in [0, 1] (with ``output_activation="sigmoid"``).

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
        The fitted encoder, in eval mode.

    decoder_ : torch.nn.Module
        The fitted decoder, in eval mode.

    n_iter_ : int
        Number of whole epochs trained, over all calls to `fit` and
        `partial_fit` since the network was built. An epoch cut short by
        Ctrl-C is not counted, though its updates are kept.

    loss_curve_ : list of float
        Training loss at the end of each epoch (including any penalty).

    do_early_stopping_ : bool
        Whether the last training call held out rows and stopped early (see
        `early_stopping`).

    validation_scores_ : list of float or None
        Negative validation reconstruction error at each epoch when
        early stopping, else None.

    best_validation_score_ : float or None
        Best of `validation_scores_`, else None.

    best_loss_ : float or None
        Lowest monitored loss: validation loss with `early_stopping`, training
        loss otherwise. None if Ctrl-C interrupted the first epoch.

    reconstruction_error_ : float
        Mean squared reconstruction error on the training data after fitting.

    See Also
    --------
    sklearn.decomposition.PCA : Linear dimensionality reduction.
    DenoisingAutoencoder : Learns to undo noise added to its training input.
    SparseAutoencoder : Penalises the code towards sparsity.

    Notes
    -----
    The training objective is the mean squared (or binary cross-entropy)
    reconstruction error, minimised with Adam on minibatches. With
    ``activation="identity"``, ``hidden_layer_sizes=()`` and ``loss="mse"``
    the optimum spans the PCA subspace [1]_; hidden layers make the map
    nonlinear.

    Training runs in float32 on `device`; `transform`, `inverse_transform` and
    `score_samples` return the dtype of their input (float32 or float64). With
    an int `random_state`, two fits on the CPU give identical results.

    References
    ----------
    .. [1] G. E. Hinton and R. R. Salakhutdinov, "Reducing the dimensionality
       of data with neural networks", Science 313(5786), 2006.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import minmax_scale
    >>> from skae import AutoencoderTransformer
    >>> X = minmax_scale(load_digits().data).astype("float32")
    >>> ae = AutoencoderTransformer(n_components=8, max_iter=5, random_state=0)
    >>> Z = ae.fit_transform(X)
    >>> Z.shape, Z.dtype
    ((1797, 8), dtype('float32'))
    >>> ae.inverse_transform(Z).shape
    (1797, 64)
    >>> ae.get_feature_names_out()[:2]
    array(['autoencodertransformer0', 'autoencodertransformer1'], dtype=object)
    """

    def _check_params(self, n_features):
        """Also refuse a code wider than the input, which could copy it."""
        super()._check_params(n_features)
        if self.n_components > n_features:
            raise ValueError(
                f"n_components={self.n_components} must be <= n_features="
                f"{n_features} for AutoencoderTransformer: a code wider than the "
                "input can learn to copy it. Lower n_components, or use "
                "SparseAutoencoder or DenoisingAutoencoder for over-complete codes."
            )
