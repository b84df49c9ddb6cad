"""Speed of skae's fit and transform against a raw torch loop, MLPRegressor and PCA.

For each case the same network (skae's own ``Autoencoder`` module) is trained
with the same optimizer (Adam), learning rate, batch size, shuffling and number
of epochs, by:

- ``skae``: ``AutoencoderTransformer.fit`` (the whole call: validation, net
  construction, training, the final reconstruction error);
- ``torch``: a hand-written loop over float32 tensors prepared outside the timed
  region, shuffling with ``torch.randperm`` and slicing batches, with the same
  Adam as skae (its fused kernel where torch has one);
- ``torch_default``: the same loop with torch's default Adam, which on CPU
  updates the parameter tensors one by one: the loop most users would write;
- ``mlp``: ``MLPRegressor(X, X)`` with the mirrored hidden layers, adam, the
  same batch size and ``max_iter=epochs`` (``tol=0``, so it runs every epoch).

``skae_bf16`` and ``torch_bf16`` are the same two with the matrix products in
bfloat16: skae's ``precision="bfloat16"`` and the loop under
``torch.autocast`` (the loss in float32). ``torch_compile`` is the loop with
its forward pass and loss under ``torch.compile`` (where a compiler works):
what compiling would buy skae.

Beside every fit the benchmark measures the CPU's own matrix rate: ``torch.mm``
timed on each layer's products at the batch size (for a linear layer of ``in``
x ``out`` units, the forward product and the two of its backward pass; a
convolution as the matrix product of the same multiply-adds), summed so that
each layer weighs by its share of the multiply-adds, in float32 and in
bfloat16. A fit's FLOP/s are 6 x the multiply-adds of the network's linear and
convolutional layers per sample, times the samples and epochs, over its
seconds; the tables give them as a share of that matrix rate.

``fit_valid`` repeats the skae / torch comparison with 10% of the rows held out
and scored after every epoch (``early_stopping=True``). ``transform`` times
encoding 10,000 rows (digits' 1,797 cycled through) with skae, with the raw
module under ``torch.inference_mode`` (numpy array in, numpy codes out, as
``transform`` works) and with ``PCA.transform``.

The methods are timed in one process, interleaved (the order rotates at every
repeat), so that a machine shared with other jobs slows them alike; the tables
report medians over repeats and the median of the per-repeat ratios (the
short digits case repeats three times as often). A cold first fit is timed in
fresh interpreters (imports done before the clock starts), for skae and for
the torch loop alike. Thread counts are left to torch's defaults for every
method.

Each case runs once per thread count of ``--threads`` (1 and 2). With
``--baseline DIR`` (a checkout of another skae, e.g. the last release), the
conv case also times that version's fit and this one's, alternately, each in
a fresh interpreter (a warm second fit), so that the ratio is measured on the
same machine at the same time, both alike.

Usage::

    python benchmarks/bench_speed.py                   # CPU, writes results/speed.json
    python benchmarks/bench_speed.py --device cuda     # GPU (MLP and PCA stay on CPU)
    python benchmarks/bench_speed.py --table FILE.json # print the markdown table
    # re-time one case in the committed file; add the bfloat16 quality check
    python benchmarks/bench_speed.py --cases fashion-mnist-784 --merge \
        --out docs/results/speed.json
    python benchmarks/bench_speed.py --quality 1 2 --out docs/results/speed.json
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import copy
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPRegressor

from skae import AutoencoderTransformer

try:
    from benchmarks.provenance import record_header
except ModuleNotFoundError:
    # Run as a file (python benchmarks/bench_speed.py), with benchmarks/ on
    # sys.path instead of the repository root that holds the package.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.provenance import record_header

RESULTS = Path(__file__).parent / "results"
COLD_RUNNER = (
    "import importlib.util, sys; "
    f"spec = importlib.util.spec_from_file_location('bench_speed', {__file__!r}); "
    "module = importlib.util.module_from_spec(spec); "
    "spec.loader.exec_module(module); "
    "module.run_cold(*sys.argv[1:])"
)
SEED = 0
N_TRANSFORM = 10_000

CASES = {
    "fashion-mnist-784": {
        "data": "fashion-mnist",
        "n_samples": 20_000,
        "hidden_layer_sizes": (256, 128),
        "n_components": 32,
        "batch_size": 256,
        # Enough epochs for throughput to dominate the one-off work of a fit
        # (validation, the final reconstruction_error_ pass: a third of an
        # epoch), as it does in real fits of tens to hundreds of epochs.
        "epochs": 10,
    },
    "fashion-mnist-conv": {
        "data": "fashion-mnist",
        "n_samples": 5_000,
        # The defaults with image_shape, as a user calls them: the MLP of
        # (512, 256) whose decoded images convolutions correct, the PCA start.
        "image_shape": (28, 28),
        "n_components": 32,
        "batch_size": 256,
        "epochs": 2,
    },
    "digits-64": {
        "data": "digits",
        "n_samples": 1_797,
        "hidden_layer_sizes": (32, 16),
        "n_components": 8,
        "batch_size": 128,
        "epochs": 20,
        # A fit takes 0.2 s, so that a burst of load on a shared machine can
        # halve one repeat's ratio: three times the repeats steady the median.
        "repeat_factor": 3,
    },
}


def make_data(case):
    """Return float32 data in [0, 1] for `case` and a note of its source.

    Fashion-MNIST comes from the local IDX files (``apt-get install
    dataset-fashion-mnist``); without them, uniform noise of the same shape
    stands in, which times the same.
    """
    n_samples = case["n_samples"]
    if case["data"] == "digits":
        from sklearn.datasets import load_digits

        X = load_digits().data[:n_samples] / 16.0
        return X.astype(np.float32), "sklearn digits"
    try:
        from skae.datasets import load_fashion_mnist

        X, _ = load_fashion_mnist(return_X_y=True)
        return np.ascontiguousarray(X[:n_samples], dtype=np.float32), "fashion-mnist"
    except (ImportError, OSError) as exc:
        print(f"Fashion-MNIST unavailable ({exc}); timing uniform noise instead.")
        rng = np.random.RandomState(SEED)
        return rng.rand(n_samples, 784).astype(np.float32), "uniform noise"


# The bfloat16 quality check (issue #30): the Fashion-MNIST headline's model
# (the defaults at k=32, its epoch budget) fitted in float32 and in bfloat16
# on the official 60,000 training images and scored on the 10,000 test images.
QUALITY = {"n_components": 32, "max_iter": 35}


def score_precision(*, device, threads):
    """Test MSE and fit time of the headline's model in float32 and bfloat16."""
    from skae.datasets import load_fashion_mnist

    torch.set_num_threads(threads)
    X, _ = load_fashion_mnist(subset="train", return_X_y=True)
    X_test, _ = load_fashion_mnist(subset="test", return_X_y=True)
    record = {"threads": threads, **QUALITY, "shape": list(X.shape)}
    for precision in ("float32", "bfloat16"):
        estimator = AutoencoderTransformer(
            **QUALITY, precision=precision, device=device, random_state=SEED
        )
        seconds, _ = _timed(estimator.fit, X)
        X_rec = estimator.inverse_transform(estimator.transform(X_test))
        record[precision] = {
            "test_mse": float(np.mean((X_rec - X_test) ** 2)),
            "fit_seconds": seconds,
            "n_iter": estimator.n_iter_,
        }
    record["mse_bfloat16_vs_float32"] = (
        record["bfloat16"]["test_mse"] / record["float32"]["test_mse"]
    )
    record["fit_bfloat16_vs_float32"] = (
        record["float32"]["fit_seconds"] / record["bfloat16"]["fit_seconds"]
    )
    return record


def make_estimator(case, *, device, seed, early_stopping=False, **params):
    """The skae estimator for `case`: all epochs, no early stop on a plateau."""
    if "image_shape" in case:
        return AutoencoderTransformer(
            case["n_components"],
            image_shape=case["image_shape"],
            max_iter=case["epochs"],
            tol=0.0,
            n_iter_no_change=case["epochs"] + 1,
            early_stopping=early_stopping,
            random_state=seed,
            device=device,
            **params,
        )
    return AutoencoderTransformer(
        case["n_components"],
        hidden_layer_sizes=case["hidden_layer_sizes"],
        activation="relu",
        # The plain MLP, as the reference loop trains: init="pca" adds a
        # one-off SVD of at most 10,000 rows, which is not the data path.
        init="random",
        batch_size=case["batch_size"],
        learning_rate_init=1e-3,
        max_iter=case["epochs"],
        tol=0.0,
        n_iter_no_change=case["epochs"] + 1,
        early_stopping=early_stopping,
        validation_fraction=0.1,
        random_state=seed,
        device=device,
        **params,
    )


def make_mlp(case, *, seed):
    """MLPRegressor with the autoencoder's mirrored layers, run for all epochs."""
    hidden = case["hidden_layer_sizes"]
    return MLPRegressor(
        hidden_layer_sizes=(*hidden, case["n_components"], *hidden[::-1]),
        solver="adam",
        batch_size=case["batch_size"],
        learning_rate_init=1e-3,
        max_iter=case["epochs"],
        tol=0.0,
        n_iter_no_change=case["epochs"] + 1,
        shuffle=True,
        random_state=seed,
    )


def _synchronize(device):
    """Wait for queued GPU work, so that timings cover it."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def skae_module(case, X_train, *, device, seed):
    """A freshly initialised copy of the torch module skae trains for `case`.

    It is taken from a fitted estimator's public ``module_``, so that the
    reference loop trains exactly skae's network, and its weights are drawn
    anew from torch's seeded RNG.
    """
    fitted = make_estimator(case, device=device, seed=seed)
    fitted.set_params(max_iter=1).fit(X_train[:2].cpu().numpy())
    module = copy.deepcopy(fitted.module_).train()
    torch.manual_seed(seed)
    for layer in module.modules():
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
    return module


def fit_torch(
    case, X_train, X_valid, *, device, seed, fused=True, bf16=False, compiled=False
):
    """The reference: train skae's module with a hand-written torch loop.

    With `fused`, Adam is configured as skae configures it; without, torch's
    default is used. With `bf16`, the forward pass runs under bfloat16
    autocast and the loss in float32. With `compiled`, the forward pass and
    the loss go through ``torch.compile`` (its default inductor backend,
    shapes marked dynamic so that the last, smaller batch reuses the kernels),
    and with them the backward pass; Adam's fused step stays as it is.
    """
    module = skae_module(case, X_train, device=device, seed=seed)
    # skae uses Adam's fused kernel where torch has one: on CPUs and GPUs.
    fused = fused and torch.device(device).type in ("cpu", "cuda")
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3, fused=fused)
    criterion = torch.nn.MSELoss()

    def batch_loss(batch):
        with torch.autocast(torch.device(device).type, torch.bfloat16, bf16):
            X_reconstructed, _ = module(batch)
        return criterion(X_reconstructed.float(), batch)

    if compiled:
        batch_loss = torch.compile(batch_loss, dynamic=True)
    batch_size = case["batch_size"]
    for _ in range(case["epochs"]):
        module.train()
        order = torch.randperm(len(X_train), device=X_train.device)
        for start in range(0, len(X_train), batch_size):
            batch = X_train[order[start : start + batch_size]]
            optimizer.zero_grad()
            loss = batch_loss(batch)
            loss.backward()
            optimizer.step()
        if X_valid is not None:
            module.eval()
            with torch.inference_mode():
                for start in range(0, len(X_valid), batch_size):
                    batch = X_valid[start : start + batch_size]
                    criterion(module(batch)[0], batch).item()
    _synchronize(device)
    return module


def layer_products(module, n_features, batch_size):
    """The matrix products of one training step of `module`, per layer.

    Returns ``(M, K, N)`` shapes (an ``M x K`` times ``K x N`` product) for
    each linear and convolutional layer: its forward product and the two of
    its backward pass (the gradients of the input and of the weights), each of
    the layer's multiply-adds per batch. A convolution counts as the matrix
    product of im2col: ``batch * output pixels`` rows, ``in channels * kernel
    area`` inner size, ``out channels`` columns (a transposed convolution, the
    same from its output's side).
    """
    shapes = []

    def record(layer, inputs, output):
        if isinstance(layer, torch.nn.Linear):
            m, k, n = batch_size, layer.in_features, layer.out_features
        elif isinstance(layer, torch.nn.Conv2d):
            kernel = layer.kernel_size[0] * layer.kernel_size[1]
            m = batch_size * output.shape[2] * output.shape[3]
            k, n = layer.in_channels // layer.groups * kernel, layer.out_channels
        elif isinstance(layer, torch.nn.ConvTranspose2d):
            kernel = layer.kernel_size[0] * layer.kernel_size[1]
            m = batch_size * inputs[0].shape[2] * inputs[0].shape[3]
            k, n = layer.in_channels, layer.out_channels // layer.groups * kernel
        else:
            return
        shapes.extend([(m, k, n), (m, n, k), (k, m, n)])

    hooks = [layer.register_forward_hook(record) for layer in module.modules()]
    try:
        with torch.no_grad():
            module.eval()(torch.zeros(1, n_features))
    finally:
        for hook in hooks:
            hook.remove()
    return shapes


def multiply_adds(module, n_features):
    """Multiply-adds of the forward pass of one sample through the linear and
    convolutional layers of `module` (a third of a training step's)."""
    return sum(m * k * n for m, k, n in layer_products(module, n_features, 1)) // 3


def matrix_rate(module, n_features, batch_size, dtype, repeats=5):
    """GFLOP/s of ``torch.mm`` on the products of a training step of `module`.

    Each product is timed alone (the median of `repeats` runs of enough calls
    to last about 20 ms); the rate is their FLOP over their summed time, so
    that each layer weighs by its share of the multiply-adds.
    """
    total_flop = total_seconds = 0.0
    for m, k, n in layer_products(module, n_features, batch_size):
        a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
        for _ in range(3):
            torch.mm(a, b)
        start = time.perf_counter()
        torch.mm(a, b)
        calls = max(1, int(0.02 / max(time.perf_counter() - start, 1e-7)))
        runs = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(calls):
                torch.mm(a, b)
            runs.append((time.perf_counter() - start) / calls)
        total_flop += 2 * m * k * n
        total_seconds += statistics.median(runs)
    return total_flop / total_seconds / 1e9


def _timed(function, *args):
    """Return the wall-clock seconds `function(*args)` takes, and its result."""
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def compiler_works():
    """Whether ``torch.compile`` compiles and runs a small function here."""
    try:
        torch._dynamo.reset()
        return bool(torch.compile(lambda x: (x * 2).sum())(torch.ones(3)) == 6)
    except Exception as exc:  # any failure: no working compiler
        print(f"torch.compile does not work here ({type(exc).__name__}); skipped")
        return False


def score_fit(case, X, *, device, repeats):
    """Time fit for skae, torch and MLP, interleaved; return seconds per method."""
    X_tensor = torch.as_tensor(X, device=device)
    n_valid = int(np.ceil(0.1 * len(X)))
    X_fit, X_held = X_tensor[n_valid:], X_tensor[:n_valid]

    def skae_fit(seed, early_stopping=False, **params):
        estimator = make_estimator(
            case, device=device, seed=seed, early_stopping=early_stopping, **params
        )
        estimator.fit(X)
        _synchronize(device)
        return estimator

    methods = {
        "skae": lambda seed: skae_fit(seed),
        "torch": lambda seed: fit_torch(case, X_tensor, None, device=device, seed=seed),
        "skae_bf16": lambda seed: skae_fit(seed, precision="bfloat16"),
        "torch_bf16": lambda seed: fit_torch(
            case, X_tensor, None, device=device, seed=seed, bf16=True
        ),
        "torch_default": lambda seed: fit_torch(
            case, X_tensor, None, device=device, seed=seed, fused=False
        ),
        # Whether compiling would pay: the loop under torch.compile (measured
        # where a compiler works; the warm-up below compiles, untimed).
        "torch_compile": (
            (
                lambda seed: fit_torch(
                    case, X_tensor, None, device=device, seed=seed, compiled=True
                )
            )
            if compiler_works()
            else None
        ),
        "mlp": lambda seed: make_mlp(case, seed=seed).fit(X, X),
        # MLPRegressor has no convolutions: the conv case times the others.
        **({"mlp": None} if "image_shape" in case else {}),
        "skae_valid": lambda seed: skae_fit(seed, early_stopping=True),
        "torch_valid": lambda seed: fit_torch(
            case, X_fit, X_held, device=device, seed=seed
        ),
    }
    methods = {name: method for name, method in methods.items() if method}
    # A warm-up of each, so that steady state is what is measured; its time
    # is kept apart (for the compiled loop it includes the compilation).
    warm_up = {name: _timed(method, SEED)[0] for name, method in methods.items()}
    times = {name: [] for name in methods}
    names = list(methods)
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            seconds, _ = _timed(methods[name], SEED + repeat)
            times[name].append(seconds)
    return times, warm_up


def score_transform(case, X, *, device, repeats):
    """Time encoding N_TRANSFORM rows with skae, the raw module and PCA.

    Each measurement repeats the call enough times to last about 0.2 s (as
    :mod:`timeit` does) and reports the time of one call. It follows 0.2 s of
    untimed calls, which also set how many calls fill the timed block: after
    PCA.transform, OpenBLAS's threads keep spinning for about 0.1 s and, on 2
    cores, slow whichever method runs next by up to 3x. (A warm-up of a fixed
    number of calls, counted from a first, slow call, was sometimes too short
    to absorb that: skae's 784 transform was then timed at more than twice
    its usual time.)
    """
    X_new = transform_rows(X)
    estimator = make_estimator(case, device=device, seed=SEED).fit(X)
    module = estimator.module_.eval()
    pca = PCA(case["n_components"], random_state=SEED).fit(X)

    def encode_torch():
        # From the caller's numpy array to numpy codes, as transform works: on
        # a GPU the copies both ways are part of the job.
        with torch.inference_mode():
            X_tensor = torch.from_numpy(X_new).to(device)
            return module.encoder(X_tensor).cpu().numpy()

    estimator_bf16 = copy.deepcopy(estimator).set_params(precision="bfloat16")
    methods = {
        "skae": lambda: estimator.transform(X_new),
        "skae_bf16": lambda: estimator_bf16.transform(X_new),
        "torch": encode_torch,
        "pca": lambda: pca.transform(X_new),
    }

    def calls_per_block(method):
        """Call `method` for 0.2 s; return how many calls last as long."""
        end = time.perf_counter() + 0.2
        while True:
            seconds, _ = _timed(method)
            if time.perf_counter() >= end:
                return max(1, int(0.2 / max(seconds, 1e-6)))

    def repeated(method, loops):
        for _ in range(loops):
            method()

    times = {name: [] for name in methods}
    names = list(methods)
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            loops = calls_per_block(methods[name])
            seconds, _ = _timed(repeated, methods[name], loops)
            times[name].append(seconds / loops)
    return times


def transform_rows(X):
    """The N_TRANSFORM rows to encode: the first ones, cycled through again
    when there are fewer (digits has 1,797), so that both cases time 10,000."""
    return np.resize(X, (N_TRANSFORM, X.shape[1]))


def score_cold(case_name, *, device, repeats):
    """Time the first fit in fresh interpreters, for skae and the torch loop."""
    times = {"skae": [], "torch": []}
    for _ in range(repeats):
        for method in times:
            # Load this file by path rather than running it as a script, which
            # would put benchmarks/ first on sys.path.
            command = [sys.executable, "-c", COLD_RUNNER, method, case_name, device]
            output = subprocess.run(
                command, check=True, capture_output=True, text=True
            ).stdout
            times[method].append(float(output.strip().splitlines()[-1]))
    return times


def score_baseline(case_name, baseline, *, threads, repeats):
    """Seconds of warm fits of `case_name` by this skae and by the one checked
    out in `baseline`, alternately, each in a fresh interpreter that imports
    skae from its checkout: both timed alike."""
    seconds = {"skae": [], "baseline": []}
    roots = {"skae": Path(__file__).resolve().parent.parent, "baseline": baseline}
    for _ in range(repeats):
        for name, root in roots.items():
            env = {**os.environ, "PYTHONPATH": str(root)}
            env["OMP_NUM_THREADS"] = str(threads)
            command = [sys.executable, "-c", COLD_RUNNER, "warm", case_name, "cpu"]
            output = subprocess.run(
                command, check=True, capture_output=True, text=True, env=env
            ).stdout
            seconds[name].append(float(output.strip().splitlines()[-1]))
    return seconds


def run_cold(method, case_name, device):
    """In a fresh interpreter: print the seconds of one first fit."""
    case = CASES[case_name]
    X, _ = make_data(case)
    X_tensor = torch.as_tensor(X, device=device)
    warnings.simplefilter("ignore", ConvergenceWarning)
    if method == "warm":  # a first fit, untimed, then the timed one
        make_estimator(case, device=device, seed=SEED).fit(X)
        estimator = make_estimator(case, device=device, seed=SEED)
        seconds, _ = _timed(lambda: estimator.fit(X))
    elif method == "skae":
        estimator = make_estimator(case, device=device, seed=SEED)
        seconds, _ = _timed(lambda: (estimator.fit(X), _synchronize(device)))
    else:
        seconds, _ = _timed(
            lambda: fit_torch(case, X_tensor, None, device=device, seed=SEED)
        )
    print(seconds)


def _summary(times, n_samples, epochs):
    """Median seconds and samples per second of each method."""
    return {
        name: {
            "seconds": values,
            "median_seconds": statistics.median(values),
            "samples_per_second": n_samples * epochs / statistics.median(values),
        }
        for name, values in times.items()
    }


def _median_ratio(times, numerator, denominator):
    """Median over repeats of time[denominator] / time[numerator]: a speed ratio."""
    return statistics.median(
        b / a for a, b in zip(times[numerator], times[denominator], strict=True)
    )


def run_case(case_name, *, device, repeats, cold_repeats, threads, baseline=None):
    """Measure one case on `threads` torch threads; return its JSON record."""
    case = CASES[case_name]
    torch.set_num_threads(threads)
    X, source = make_data(case)
    n_samples, epochs = len(X), case["epochs"]
    repeats *= case.get("repeat_factor", 1)
    fit_times, warm_up = score_fit(case, X, device=device, repeats=repeats)
    transform_times = score_transform(case, X, device=device, repeats=repeats)
    module = make_estimator(case, device="cpu", seed=SEED).set_params(max_iter=1)
    module = module.fit(X[:2]).module_
    macs = multiply_adds(module, X.shape[1])
    rates = {
        name: matrix_rate(module, X.shape[1], case["batch_size"], dtype)
        for name, dtype in (("float32", torch.float32), ("bfloat16", torch.bfloat16))
    }
    fit = _summary(fit_times, n_samples, epochs)
    for name, summary in fit.items():
        summary["first_fit_seconds"] = warm_up[name]
        gflops = 6 * macs * summary["samples_per_second"] / 1e9
        summary["gflops"] = gflops
        summary["share_of_float32_rate"] = gflops / rates["float32"]
        if name.endswith("bf16"):
            summary["share_of_bfloat16_rate"] = gflops / rates["bfloat16"]
    record = {
        "case": case_name,
        "threads": threads,
        "data": source,
        "shape": list(X.shape),
        "architecture": [
            X.shape[1],
            *case.get("hidden_layer_sizes", ("defaults",)),
            case["n_components"],
        ],
        "image_shape": case.get("image_shape"),
        "multiply_adds_per_sample": macs,
        "matrix_rate_gflops": rates,
        **{key: case[key] for key in ("batch_size", "epochs")},
        "repeats": repeats,
        "n_transform": N_TRANSFORM,
        "fit": fit,
        "transform": _summary(transform_times, N_TRANSFORM, 1),
        "ratios": {
            "fit_skae_vs_torch": _median_ratio(fit_times, "skae", "torch"),
            "fit_skae_bf16_vs_skae": _median_ratio(fit_times, "skae_bf16", "skae"),
            "fit_torch_compile_vs_torch": (
                _median_ratio(fit_times, "torch_compile", "torch")
                if "torch_compile" in fit_times
                else None
            ),
            "fit_skae_vs_torch_default": _median_ratio(
                fit_times, "skae", "torch_default"
            ),
            "fit_skae_vs_mlp": (
                _median_ratio(fit_times, "skae", "mlp") if "mlp" in fit_times else None
            ),
            "fit_valid_skae_vs_torch": _median_ratio(
                fit_times, "skae_valid", "torch_valid"
            ),
            "transform_skae_vs_torch": _median_ratio(transform_times, "skae", "torch"),
            "transform_skae_vs_pca": _median_ratio(transform_times, "skae", "pca"),
            "transform_skae_bf16_vs_pca": _median_ratio(
                transform_times, "skae_bf16", "pca"
            ),
        },
    }
    if baseline is not None and "image_shape" in case:
        seconds = score_baseline(case_name, baseline, threads=threads, repeats=3)
        record["baseline"] = {
            "path": str(baseline),
            **_summary(seconds, n_samples, epochs),
        }
        record["ratios"]["fit_skae_vs_baseline"] = _median_ratio(
            seconds, "skae", "baseline"
        )
    if cold_repeats:
        cold_times = score_cold(case_name, device=device, repeats=cold_repeats)
        record["cold_fit"] = _summary(cold_times, n_samples, epochs)
        record["ratios"]["cold_fit_skae_vs_torch"] = _median_ratio(
            cold_times, "skae", "torch"
        )
        record["ratios"]["cold_fit_skae_vs_warm_torch"] = statistics.median(
            fit_times["torch"]
        ) / statistics.median(cold_times["skae"])
    return record


def _ratio(value):
    """Format a ratio for the table; n/a when it was not measured."""
    return "n/a" if value is None else f"{value:.2f}x"


def table(results):
    """Markdown tables: speed ratios (> 1 means skae is faster), then the
    fits' FLOP/s as shares of the CPU's matrix rate."""
    # Records written before provenance.record_header kept these in "environment".
    hardware = results.get("hardware") or results["environment"]
    threads = hardware.get("threads", hardware.get("torch_threads"))
    lines = [
        f"Device: {hardware['device']}, torch threads: {threads} unless a row says."
        " Speed ratios, medians over repeats; > 1 means skae is faster.",
        "",
        "| case | threads | fit samples/s (skae / torch / MLP) | fit vs torch "
        "| fit vs torch, default Adam | fit vs MLP "
        "| fit+valid vs torch | cold fit vs torch | transform vs torch "
        "| transform vs PCA |",
        "|---|--:|---|---|---|---|---|---|---|---|",
    ]
    for record in results["cases"]:
        fit, ratios = record["fit"], record["ratios"]
        mlp = fit.get("mlp", {}).get("samples_per_second")
        lines.append(
            f"| {record['case']} ({record['shape'][0]} x {record['shape'][1]}, "
            f"{'-'.join(map(str, record['architecture']))}) "
            f"| {record.get('threads', threads)} "
            f"| {fit['skae']['samples_per_second']:,.0f} / "
            f"{fit['torch']['samples_per_second']:,.0f} / "
            f"{'n/a' if mlp is None else f'{mlp:,.0f}'} "
            f"| {ratios['fit_skae_vs_torch']:.2f}x "
            f"| {_ratio(ratios.get('fit_skae_vs_torch_default'))} "
            f"| {_ratio(ratios.get('fit_skae_vs_mlp'))} "
            f"| {ratios['fit_valid_skae_vs_torch']:.2f}x "
            f"| {_ratio(ratios.get('cold_fit_skae_vs_torch'))} "
            f"| {ratios['transform_skae_vs_torch']:.2f}x "
            f"| {ratios['transform_skae_vs_pca']:.2f}x |"
        )
    rated = [record for record in results["cases"] if "matrix_rate_gflops" in record]
    if rated:
        lines += [
            "",
            "Fit FLOP/s (6 x the multiply-adds of the linear and convolutional "
            "layers per sample) as a share of the matrix rate of the same CPU on "
            'the network\'s products, float32 and bfloat16 (`precision="bfloat16"`'
            " and the loop under autocast); `transform` of 10,000 rows as a "
            "multiple of `PCA.transform`'s time (lower is better).",
            "",
            "| case | threads | matrix rate GFLOP/s (float32 / bfloat16) "
            "| skae fit | torch loop | torch loop, compiled | skae bfloat16 fit "
            "| torch bfloat16 loop | bfloat16 fit vs float32 fit "
            "| transform / PCA (float32 / bfloat16) | fit vs baseline |",
            "|---|--:|---|--:|--:|--:|--:|--:|--:|---|--:|",
        ]
        for record in rated:
            fit, ratios, rates = (
                record["fit"],
                record["ratios"],
                record["matrix_rate_gflops"],
            )
            shares = [
                fit.get(name, {}).get("share_of_float32_rate")
                for name in (
                    "skae",
                    "torch",
                    "torch_compile",
                    "skae_bf16",
                    "torch_bf16",
                )
            ]
            transform = [
                1 / ratios[key]
                for key in ("transform_skae_vs_pca", "transform_skae_bf16_vs_pca")
            ]
            lines.append(
                f"| {record['case']} | {record['threads']} "
                f"| {rates['float32']:.0f} / {rates['bfloat16']:.0f} "
                + "".join(
                    "| n/a " if share is None else f"| {share:.2f} " for share in shares
                )
                + f"| {ratios['fit_skae_bf16_vs_skae']:.2f}x "
                f"| {transform[0]:.1f}x / {transform[1]:.1f}x "
                f"| {_ratio(ratios.get('fit_skae_vs_baseline'))} |"
            )
    compiled = [
        record
        for record in rated
        if "first_fit_seconds" in record["fit"].get("torch_compile", {})
    ]
    if compiled:
        lines += [
            "",
            "The loop under `torch.compile` against the eager loop, in the same "
            "run: the speed of a warm fit, and the first fit (compilation "
            "included) in seconds; > 1 means the compiled loop is faster.",
            "",
            "| case | threads | compiled vs eager, warm "
            "| first fit: compiled / eager (s) |",
            "|---|--:|--:|---|",
            *(
                f"| {record['case']} | {record['threads']} "
                f"| {_ratio(record['ratios'].get('fit_torch_compile_vs_torch'))} "
                f"| {record['fit']['torch_compile']['first_fit_seconds']:.1f} / "
                f"{record['fit']['torch']['first_fit_seconds']:.1f} |"
                for record in compiled
            ),
        ]
    qualities = results.get("precision_quality", [])
    if qualities:
        first = qualities[0]
        lines += [
            "",
            f"bfloat16 quality: Fashion-MNIST, the defaults at "
            f"k={first['n_components']}, max_iter={first['max_iter']}, fit on "
            f"{first['shape'][0]:,} images, test MSE on the 10,000 test images; "
            "the goal: bfloat16's within 1% of float32's.",
            "",
            "| threads | float32: test MSE, fit (s) | bfloat16: test MSE, fit (s) "
            "| bfloat16 MSE / float32's | bfloat16 fit speed-up | within 1% |",
            "|--:|---|---|--:|--:|---|",
            *map(_quality_row, qualities),
        ]
    # Conditions of a run that differ from the script's defaults, and the rows
    # merged in from later runs (--merge).
    merged = [
        f"The {case['case']} row on {case['threads']} thread(s) comes from a "
        f"later run ({case['run']['created']}, `{case['run']['command']}`)."
        for case in results["cases"]
        if "run" in case
    ]
    if results.get("notes") or merged:
        lines += ["", *(f"- {note}" for note in [*results.get("notes", []), *merged])]
    return "\n".join(lines)


def _quality_row(quality):
    """One thread count's row of the bfloat16 quality table."""
    ratio = quality["mse_bfloat16_vs_float32"]
    cells = [
        quality["threads"],
        *(
            f"{quality[name]['test_mse']:.5f}, {quality[name]['fit_seconds']:.0f}"
            for name in ("float32", "bfloat16")
        ),
        f"{ratio:.4f}x",
        f"{quality['fit_bfloat16_vs_float32']:.2f}x",
        "met" if abs(ratio - 1) <= 0.01 else "not met",
    ]
    return "| " + " | ".join(map(str, cells)) + " |"


def summary(results):
    """The README's sentence: fit against the torch loop, and bfloat16's gain."""
    cases = {(c["case"], c["threads"]): c for c in results["cases"]}
    mlp = [cases[key] for key in sorted(cases) if key[0] == "fashion-mnist-784"]
    hardware = results["hardware"]
    text = (
        "Speed on this project's 2-core machine "
        f"({hardware['cpu']}, `benchmarks/bench_speed.py`): `fit` trains at "
        + " and ".join(
            f"{c['ratios']['fit_skae_vs_torch']:.2f}x ({c['threads']} "
            f"thread{'s' * (c['threads'] > 1)})"
            for c in mlp
        )
        + " the speed of a hand-written torch loop of the same 784-256-128-32 "
        "network."
    )
    compiled = [c for c in mlp if c["ratios"].get("fit_torch_compile_vs_torch")]
    if compiled:
        text += (
            " That loop under `torch.compile` ran "
            + " and ".join(
                f"{c['ratios']['fit_torch_compile_vs_torch']:.2f}x as fast warm, "
                "with a "
                f"first fit of {c['fit']['torch_compile']['first_fit_seconds']:.1f} s "
                f"against {c['fit']['torch']['first_fit_seconds']:.1f} s "
                f"({c['threads']} thread{'s' * (c['threads'] > 1)})"
                for c in compiled
            )
            + ": skae does not compile."
        )
    qualities = results.get("precision_quality", [])
    if qualities:
        text += (
            ' `precision="bfloat16"` fitted the Fashion-MNIST headline model '
            f"(k={qualities[0]['n_components']}, {qualities[0]['max_iter']} epochs) "
            + " and ".join(
                f"{q['fit_bfloat16_vs_float32']:.2f}x as fast as float32 on "
                f"{q['threads']} thread{'s' * (q['threads'] > 1)}, to a test error "
                f"{q['mse_bfloat16_vs_float32']:.4f}x float32's"
                for q in qualities
            )
            + "."
        )
    return text


def main():
    """Parse the command line, run the cases, print the table, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--repeats",
        type=int,
        default=5,
        help="timed repeats per case, times the case's repeat_factor (digits: 3)",
    )
    parser.add_argument("--cold-repeats", type=int, default=3)
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=CASES)
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument(
        "--baseline", type=Path, help="a checkout of another skae, for the conv case"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "speed.json")
    parser.add_argument(
        "--quality",
        type=int,
        nargs="+",
        metavar="THREADS",
        help="instead of the timed cases, run the bfloat16 quality check on "
        "each number of THREADS and put it in the --out file (kept otherwise)",
    )
    parser.add_argument(
        "--merge",
        action="store_true",
        help="replace only the re-run cases (case and threads) in the --out "
        "file, keeping the others; each replaced row notes its own run",
    )
    parser.add_argument("--table", type=Path, help="print the table of a JSON file")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return
    warnings.simplefilter("ignore", ConvergenceWarning)
    header = record_header("speed", seed=SEED, device=args.device)
    run = {key: header[key] for key in ("created", "command")}
    if args.quality:
        results = json.loads(args.out.read_text())
        checks = {q["threads"]: q for q in results.get("precision_quality", [])}
        for threads in args.quality:
            checks[threads] = {
                "run": run,
                **score_precision(device=args.device, threads=threads),
            }
        results["precision_quality"] = [checks[key] for key in sorted(checks)]
        args.out.write_text(json.dumps(results, indent=1) + "\n")
        print(table(results))
        print(f"Wrote {args.out}")
        return
    results = {**header, "cases": []}
    for case_name in args.cases:
        for threads in args.threads:
            print(f"{case_name}, {threads} threads ...", flush=True)
            results["cases"].append(
                run_case(
                    case_name,
                    device=args.device,
                    repeats=args.repeats,
                    cold_repeats=args.cold_repeats,
                    threads=threads,
                    baseline=args.baseline,
                )
            )
    if args.merge:
        results = _merged(json.loads(args.out.read_text()), results["cases"], run)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))
    print(f"Wrote {args.out}")


def _merged(results, cases, run):
    """`results` with `cases` (each stamped with its `run`) in place of the
    rows of the same case and thread count, in the order they had."""
    new = {(case["case"], case["threads"]): {**case, "run": run} for case in cases}
    kept = [new.pop((case["case"], case["threads"]), case) for case in results["cases"]]
    return {**results, "cases": [*kept, *new.values()]}


if __name__ == "__main__":
    main()
