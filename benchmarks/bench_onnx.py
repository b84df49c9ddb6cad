"""Serving speed: encoding with onnxruntime, with skae's transform and with PCA's.

An ``AutoencoderTransformer(n_components=32)`` with its default network
(hidden layers (512, 256), GELU) is trained briefly on Fashion-MNIST (the
speed of inference does not depend on how well it was trained), exported with
``skl2onnx.to_onnx`` (``import skae.onnx`` registers the converter) and timed
encoding the 10,000 test images (float32) three ways:

- ``onnxruntime``: ``InferenceSession.run`` of the exported model;
- ``skae``: the estimator's own ``transform`` (validation included);
- ``PCA``: ``PCA(n_components=32).transform``, the linear baseline.

Latency is the median time of a call on one row (the request-by-request
serving case), over `N_LATENCY` calls on different rows; throughput is rows
per second of one call on all 10,000 rows. Each is the median over repeats,
with the methods interleaved (their order rotates at every repeat) so that a
machine shared with other jobs slows them alike. Both are measured on one
thread and on all cores (``os.cpu_count()``): torch's threads, onnxruntime's
``intra_op_num_threads`` and the BLAS threads (threadpoolctl) are set alike.

The split follows the house style: :func:`make_data`, :func:`make_estimator`,
:func:`score`, :func:`run`. Without the Fashion-MNIST files, uniform noise of
the same shape stands in (it times the same).

Usage::

    pip install -e ".[onnx]"
    python -m benchmarks.bench_onnx           # writes benchmarks/results/onnx.json
    python -m benchmarks.bench_onnx --docs    # writes docs/results/onnx.json
    python -m benchmarks.update_readme        # then the README's table
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
import os
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import onnxruntime
import skl2onnx
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

import skae.onnx  # noqa: F401  (registers skae's converters with skl2onnx)
from benchmarks.provenance import record_header
from skae import AutoencoderTransformer

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "benchmarks" / "results" / "onnx.json"
DOCS_OUT = ROOT / "docs" / "results" / "onnx.json"
SEED = 0
N_COMPONENTS = 32
N_TRAIN = 10_000
N_ROWS = 10_000
N_LATENCY = 200
MAX_ITER = 5
METHODS = ("onnxruntime", "skae", "PCA")


def make_data():
    """Training rows and the rows to encode, float32 in [0, 1], and their source."""
    try:
        from skae.datasets import load_fashion_mnist

        X_train, _ = load_fashion_mnist(subset="train", return_X_y=True)
        X_test, _ = load_fashion_mnist(subset="test", return_X_y=True)
        source = "fashion_mnist"
    except (ImportError, OSError) as exc:
        print(f"Fashion-MNIST unavailable ({exc}); timing uniform noise instead.")
        rng = np.random.RandomState(SEED)
        X_train, X_test = rng.rand(N_TRAIN, 784), rng.rand(N_ROWS, 784)
        source = "uniform noise"
    X_train = np.ascontiguousarray(X_train[:N_TRAIN], dtype=np.float32)
    X_test = np.ascontiguousarray(X_test[:N_ROWS], dtype=np.float32)
    return X_train, X_test, source


def make_estimator():
    """The autoencoder with its defaults, trained for `MAX_ITER` epochs."""
    return AutoencoderTransformer(N_COMPONENTS, max_iter=MAX_ITER, random_state=SEED)


def _session(model, threads):
    """An onnxruntime session of `model` on `threads` threads."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def score(autoencoder, pca, X, *, threads, repeats):
    """Latency (s per one-row call) and throughput (rows/s) of each method."""
    session = _session(skl2onnx.to_onnx(autoencoder, X[:1]), threads)
    encode = {
        "onnxruntime": lambda rows: session.run(None, {"X": rows})[0],
        "skae": autoencoder.transform,
        "PCA": pca.transform,
    }
    latencies = {method: [] for method in METHODS}
    batches = {method: [] for method in METHODS}
    torch.set_num_threads(threads)
    with threadpool_limits(threads):
        for method in METHODS:  # untimed warm-up
            encode[method](X)
        for repeat in range(repeats):
            order = METHODS[repeat % 3 :] + METHODS[: repeat % 3]
            for method in order:
                calls = []
                for i in range(N_LATENCY):
                    row = X[i : i + 1]
                    start = time.perf_counter()
                    encode[method](row)
                    calls.append(time.perf_counter() - start)
                latencies[method].append(statistics.median(calls))
                start = time.perf_counter()
                encode[method](X)
                batches[method].append(time.perf_counter() - start)
    return [
        {
            "threads": threads,
            "method": method,
            "latency_seconds": statistics.median(latencies[method]),
            "batch_seconds": statistics.median(batches[method]),
            "throughput_rows_per_second": len(X) / statistics.median(batches[method]),
            "latency_repeats": latencies[method],
            "batch_repeats": batches[method],
        }
        for method in METHODS
    ]


def run(*, repeats, command=None):
    """Train, export, check and time; return the JSON record."""
    # Threads vary from row to row (see `score`); the header gives the most.
    header = record_header(
        "onnx",
        seed=SEED,
        threads=os.cpu_count(),
        packages=("onnx", "onnxruntime", "skl2onnx"),
        command=command,
    )
    start = time.perf_counter()
    X_train, X, source = make_data()
    with warnings.catch_warnings():
        # A few epochs are enough to time inference.
        warnings.simplefilter("ignore", ConvergenceWarning)
        autoencoder = make_estimator().fit(X_train)
    pca = PCA(N_COMPONENTS, random_state=SEED).fit(X_train)
    session = _session(skl2onnx.to_onnx(autoencoder, X[:1]), 1)
    Z, Z_onnx = autoencoder.transform(X), session.run(None, {"X": X})[0]
    difference = float(np.abs(Z_onnx - Z).max() / np.abs(Z).max())
    results = []
    for threads in sorted({1, os.cpu_count() or 1}):
        results += score(autoencoder, pca, X, threads=threads, repeats=repeats)
    return {
        **header,
        "data": {
            "name": source,
            "n_train": int(X_train.shape[0]),
            "n_rows": int(X.shape[0]),
            "n_features": int(X.shape[1]),
            "dtype": "float32",
        },
        "model": {
            "estimator": f"AutoencoderTransformer(n_components={N_COMPONENTS})",
            "hidden_layer_sizes": list(autoencoder.hidden_layer_sizes),
            "activation": autoencoder.activation,
            "max_iter": MAX_ITER,
            "n_iter": autoencoder.n_iter_,
        },
        "settings": {"n_latency_calls": N_LATENCY, "repeats": repeats},
        "max_relative_difference": difference,
        "results": results,
        "total_time": time.perf_counter() - start,
    }


def main(argv=None):
    """Run the benchmark; write the JSON record and print the table."""
    from benchmarks import report

    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_onnx")
    parser.add_argument("--repeats", type=int, default=7, help="repeats per method")
    parser.add_argument(
        "--docs", action="store_true", help=f"write {DOCS_OUT.relative_to(ROOT)}"
    )
    parser.add_argument("--table", type=Path, help="print the table of a JSON file")
    args = parser.parse_args(argv)
    if args.table:
        print(report.onnx_serving(json.loads(args.table.read_text())))
        return
    record = run(repeats=args.repeats)
    out = DOCS_OUT if args.docs else OUT
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(report.onnx_serving(record))
    print(f"Wrote {out}")


if __name__ == "__main__":
    main()
