"""Anomaly detection on digits: ROC AUC of ``score_samples`` for a left-out class.

The setting of ``docs/examples/plot_anomaly_detection.py``: pixels / 16 in
float32, an :class:`skae.AutoencoderTransformer` trained on three quarters of
the images of every digit but one, then scored on the held-out quarter (normal)
and on every image of the left-out digit (anomalies). The anomaly score is the
reconstruction error, ``-score_samples``, and ROC AUC measures how well it
separates the two. Each digit is left out in turn; the example's headline is
digit ``LEFT_OUT``. It takes seconds on one core. Usage::

    python -m benchmarks.bench_anomaly            # writes docs/results/anomaly.json
    python -m benchmarks.bench_anomaly --table docs/results/anomaly.json

Warnings raised by a fit (a :class:`~sklearn.exceptions.ConvergenceWarning`,
say) are recorded in the JSON, not hidden, and reported under the table.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split

from benchmarks.provenance import add_threads_argument, record_header, use_threads
from skae import AutoencoderTransformer

OUT = Path(__file__).resolve().parent.parent / "docs" / "results" / "anomaly.json"
EXAMPLE = "docs/examples/plot_anomaly_detection.py"
SEED = 0
# The example's setting; tests/test_examples.py checks that the two agree.
LEFT_OUT = 7
TEST_SIZE = 0.25
PARAMS = {
    "n_components": 8,
    "hidden_layer_sizes": (32,),
    "early_stopping": True,
    "max_iter": 300,
    "batch_size": 64,
}


def make_data(left_out, *, random_state=SEED):
    """Digits in [0, 1], split into training, held-out normal and anomalous rows.

    Parameters
    ----------
    left_out : int
        The digit kept out of training: its images are the anomalies.

    random_state : int, default=SEED
        Seed of the split of the normal images.

    Returns
    -------
    data : dict
        ``X_train``, ``X_normal`` (held-out images of the other digits) and
        ``X_anomalous`` (every image of `left_out`), float32.
    """
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    normal = y != left_out
    X_train, X_normal = train_test_split(
        X[normal], test_size=TEST_SIZE, random_state=random_state
    )
    return {"X_train": X_train, "X_normal": X_normal, "X_anomalous": X[~normal]}


def make_estimator(*, random_state=SEED):
    """The example's autoencoder: a small network that trains in about a second."""
    return AutoencoderTransformer(**PARAMS, random_state=random_state)


def score(estimator, data):
    """Fit `estimator` on the training rows; return the ROC AUC and the fit's record.

    The positive class is the anomaly, and its score is the reconstruction
    error, ``-score_samples``.
    """
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(data["X_train"])
    fit_time = time.perf_counter() - start
    errors = -np.r_[
        estimator.score_samples(data["X_normal"]),
        estimator.score_samples(data["X_anomalous"]),
    ]
    is_anomaly = np.r_[
        np.zeros(len(data["X_normal"])), np.ones(len(data["X_anomalous"]))
    ]
    return {
        "roc_auc": float(roc_auc_score(is_anomaly, errors)),
        "n_train": len(data["X_train"]),
        "n_normal": len(data["X_normal"]),
        "n_anomalous": len(data["X_anomalous"]),
        "n_iter": int(estimator.n_iter_),
        "fit_time": fit_time,
        "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
    }


def run(*, random_state=SEED, command=None):
    """Leave out each digit in turn; return a JSON-ready record."""
    header = record_header("anomaly", seed=random_state, command=command)
    start, cpu_start = time.perf_counter(), time.process_time()
    results = []
    for digit in range(10):
        data = make_data(digit, random_state=random_state)
        scores = score(make_estimator(random_state=random_state), data)
        results.append({"left_out": digit, **scores})
        print(
            f"left-out digit {digit}: ROC AUC {scores['roc_auc']:.3f} "
            f"({scores['n_iter']} epochs, {scores['fit_time']:.1f} s)",
            flush=True,
        )
    return {
        **header,
        "example": EXAMPLE,
        "settings": {
            "data": "load_digits, pixels / 16 as float32",
            "split": f"train_test_split(normal rows, test_size={TEST_SIZE}, "
            f"random_state={random_state})",
            "estimator": "AutoencoderTransformer",
            "params": {
                key: list(value) if isinstance(value, tuple) else value
                for key, value in PARAMS.items()
            },
            "example_left_out": LEFT_OUT,
        },
        "results": results,
        "total_time": time.perf_counter() - start,
        "total_cpu_time": time.process_time() - cpu_start,
    }


def _example_result(record):
    """The row of the digit the example leaves out."""
    left_out = record["settings"]["example_left_out"]
    return next(r for r in record["results"] if r["left_out"] == left_out)


def sentence(record):
    """One markdown paragraph: the example's AUC and the spread over digits."""
    row = _example_result(record)
    aucs = [r["roc_auc"] for r in record["results"]]
    params = ", ".join(
        f"{key}={tuple(v) if isinstance(v, list) else v!r}"
        for key, v in record["settings"]["params"].items()
    )
    return (
        f"Trained on the digits of every class but {row['left_out']}, an "
        f"`AutoencoderTransformer({params})` separates the held-out images of "
        f"{row['left_out']} from those of the known classes with a ROC AUC of "
        f"**{row['roc_auc']:.3f}** (`{record['example']}`); leaving out each "
        f"digit in turn gives {min(aucs):.3f} to {max(aucs):.3f}, "
        f"{np.mean(aucs):.3f} on average. Run of {record['created'][:10]}: "
        f"`{record['command']}`."
    )


def table(record):
    """Markdown table: ROC AUC and epochs for each left-out digit."""
    lines = [
        "| left-out digit | ROC AUC | epochs | fit (s) |",
        "|---|---|---|---|",
    ]
    for row in record["results"]:
        lines.append(
            f"| {row['left_out']} | {row['roc_auc']:.3f} | {row['n_iter']} "
            f"| {row['fit_time']:.1f} |"
        )
    found = sorted({w for row in record["results"] for w in row["warnings"]})
    if found:
        lines += ["", "Warnings raised by the fits:", ""]
        lines += [f"- {w}" for w in found]
    return "\n".join(lines)


def main(argv=None):
    """Run and write the JSON, or print the table of a JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=SEED)
    add_threads_argument(parser)
    parser.add_argument("--table", type=Path, help="print the table of a JSON file")
    args = parser.parse_args(argv)
    if args.table:
        record = json.loads(args.table.read_text())
        print(sentence(record), table(record), sep="\n\n")
        return
    use_threads(args.threads)
    record = run(random_state=args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(sentence(record), table(record), sep="\n\n")
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
