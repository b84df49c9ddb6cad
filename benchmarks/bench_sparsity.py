"""How sparse SparseAutoencoder's codes are, against its error, over `sparsity_weight`.

For each code size k: PCA, the plain AutoencoderTransformer and
SparseAutoencoder at each `sparsity_weight` of the sweep (``default`` leaves
the package's default) and each `sparsity` penalty asked for, all with
their other parameters at the defaults and trained for the same `max_iter`
epochs with the same seed. On the test set it records:

* **Hoyer sparseness** of each code row z in R^k,
  ``(sqrt(k) - ||z||_1 / ||z||_2) / (sqrt(k) - 1)``: 1 when one unit carries
  the whole row, 0 when all units are equal in magnitude. An all-zero row
  counts as 1 (nothing is active); their fraction is recorded too. The
  benchmark reports the mean over test rows (k >= 2).
* **Near-zero fraction**: code values with |z| < 1e-3 max|Z_test|, as in
  ``benchmarks/compare.py``; and the number of **dead units**, zero on every
  test row.
* **Test MSE** of ``inverse_transform(transform(X_test))`` and its ratio to
  PCA's at the same k; fit seconds and epochs run.

Usage::

    python -m benchmarks.bench_sparsity                      # digits
    python -m benchmarks.bench_sparsity --dataset fashion_mnist --max-iter 15 \\
        --train-rows 10000
    python -m benchmarks.bench_sparsity --table docs/results/sparsity_digits.json
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA

import skae
from benchmarks.bench_plateau import make_data
from benchmarks.compare import NEAR_ZERO, fit_quietly
from benchmarks.provenance import record_header

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"
SEED = 0
KS = {"digits": (2, 8, 16, 32), "fashion_mnist": (2, 8, 16, 32, 64)}
MAX_ITER = {"digits": 100, "fashion_mnist": 15}
WEIGHTS = ("default", 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)
# The estimator swept; a prototype of a new penalty can be put here by a
# driver script before `run` (the record names the class that ran).
SPARSE_ESTIMATOR = skae.SparseAutoencoder


def hoyer_sparseness(Z):
    """Hoyer's sparseness of each row of `Z`; all-zero rows count as 1.

    ``(sqrt(k) - ||z||_1 / ||z||_2) / (sqrt(k) - 1)`` for a row z of k >= 2
    values (P. O. Hoyer, "Non-negative matrix factorization with sparseness
    constraints", JMLR 5, 2004): 0 for a row of equal magnitudes, 1 for a
    row with a single non-zero value.
    """
    Z = np.abs(np.asarray(Z, dtype=np.float64))
    k = Z.shape[1]
    if k < 2:
        raise ValueError("Hoyer sparseness needs codes of at least 2 values.")
    l1 = Z.sum(axis=1)
    l2 = np.sqrt(np.square(Z).sum(axis=1))
    sparseness = np.ones(Z.shape[0])
    active = l2 > 0
    sparseness[active] = (np.sqrt(k) - l1[active] / l2[active]) / (np.sqrt(k) - 1)
    return sparseness


def make_estimator(model, n_components, *, weight=None, sparsity=None, max_iter,
                   random_state=SEED):  # fmt: skip
    """PCA, the plain autoencoder, or the sparse one at `weight` (None: default).

    Every other parameter keeps its default; `sparsity` (None: default)
    picks the penalty of the sparse autoencoder.
    """
    if model == "PCA":
        return PCA(n_components, random_state=random_state)
    # An epoch budget: every row trains for all of it.
    params = {
        "max_iter": max_iter,
        "early_stopping": False,
        "random_state": random_state,
    }
    if model == "AutoencoderTransformer":
        return skae.AutoencoderTransformer(n_components, **params)
    if weight is not None:
        params["sparsity_weight"] = weight
    if sparsity is not None:
        params["sparsity"] = sparsity
    return SPARSE_ESTIMATOR(n_components, **params)


def score(estimator, data, pca_mse=None):
    """Fit `estimator`; measure the sparsity of its test codes and its test MSE."""
    X_test = data["X_test"]
    fit_seconds, _ = fit_quietly(estimator, data["X_train"])
    Z = estimator.transform(X_test)
    mse = float(np.mean((estimator.inverse_transform(Z) - X_test) ** 2))
    scale = float(np.abs(Z).max()) or 1.0
    scores = {
        "hoyer": float(hoyer_sparseness(Z).mean()),
        "near_zero_fraction": float(np.mean(np.abs(Z) < NEAR_ZERO * scale)),
        "all_zero_rows": float(np.mean(~np.any(Z != 0, axis=1))),
        "dead_units": int(np.sum(~np.any(Z != 0, axis=0))),
        "mse": mse,
        "mse_vs_pca": mse / pca_mse if pca_mse else 1.0,
        "fit_seconds": fit_seconds,
    }
    if hasattr(estimator, "n_iter_"):
        scores["n_iter"] = int(estimator.n_iter_)
    return scores


def run(dataset="digits", *, weights=WEIGHTS, ks=None, max_iter=None,
        train_rows=None, penalties=(None,), log=print):  # fmt: skip
    """Run the sweep; return a JSON-ready record."""
    header = record_header("sparsity", seed=SEED)
    start = time.perf_counter()
    data = make_data(dataset, train_rows=train_rows)
    ks = KS[dataset] if ks is None else ks
    max_iter = MAX_ITER[dataset] if max_iter is None else max_iter
    default = make_estimator("SparseAutoencoder", 2, max_iter=1)
    record = {
        **header,
        "dataset": dataset,
        "data": data["description"],
        "settings": {
            "ks": list(ks),
            "max_iter": max_iter,
            "weights": [str(w) if w is None else w for w in weights],
            "sparse_estimator": f"{SPARSE_ESTIMATOR.__module__}."
            f"{SPARSE_ESTIMATOR.__qualname__}",
            "penalties": [default.sparsity if p is None else p for p in penalties],
            "default_sparsity": default.sparsity,
            "default_sparsity_weight": default.sparsity_weight,
            "estimators": "defaults, except n_components, max_iter, random_state "
            "and sparsity_weight",
            "hoyer": "mean over test rows of (sqrt(k) - |z|_1/|z|_2)/(sqrt(k) - 1); "
            "all-zero rows count as 1",
            "near_zero_threshold": f"|z| < {NEAR_ZERO} * max|Z_test|",
        },
        "results": [],
    }
    for k in ks:
        pca = make_estimator("PCA", k, max_iter=max_iter)
        pca_scores = score(pca, data)
        pca_mse = pca_scores["mse"]
        runs = [("PCA", None, pca_scores)]
        plain = make_estimator("AutoencoderTransformer", k, max_iter=max_iter)
        runs.append(("AutoencoderTransformer", plain, score(plain, data, pca_mse)))
        for sparsity in penalties:
            for weight in weights:
                weight = None if weight == "default" else weight
                sparse = make_estimator(
                    "SparseAutoencoder", k, weight=weight, sparsity=sparsity,
                    max_iter=max_iter,
                )  # fmt: skip
                scores = score(sparse, data, pca_mse)
                scores["default_weight"] = weight is None
                runs.append(("SparseAutoencoder", sparse, scores))
        for model, estimator, scores in runs:
            result = {"model": model, "k": k, "sparsity": None, "sparsity_weight": None}
            if model == "SparseAutoencoder":
                result["sparsity"] = estimator.sparsity
                result["sparsity_weight"] = estimator.sparsity_weight
            result.update(scores)
            record["results"].append(result)
            log(_row(result))
    record["total_seconds"] = time.perf_counter() - start
    return record


def _row(result):
    """One markdown row of a result."""
    weight = result["sparsity_weight"]
    name = result["model"]
    if weight is not None:
        name += f" {result['sparsity']} w={weight:g}"
        name += " (default)" if result["default_weight"] else ""
    return (
        f"| {result['k']} | {name} | {result['hoyer']:.3f} "
        f"| {100 * result['near_zero_fraction']:.1f} | {result['dead_units']} "
        f"| {result['mse_vs_pca']:.3f} | {result.get('n_iter', '-')} "
        f"| {result['fit_seconds']:.1f} |"
    )


def table(record):
    """Markdown table of a record: one row per k and model."""
    settings = record["settings"]
    lines = [
        f"{record['dataset']}, {settings['sparse_estimator']}, "
        f"max_iter={settings['max_iter']}, n_train={record['data']['n_train']}",
        "",
        "| k | model | Hoyer | near-zero % | dead units | test MSE / PCA's "
        "| epochs | fit (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [_row(result) for result in record["results"]]
    return "\n".join(lines)


def _weights(text):
    """Parse comma-separated weights; ``default`` keeps the package default."""
    return [part if part == "default" else float(part) for part in text.split(",")]


def main(argv=None):
    """Run and write the JSON, or print the table of a JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--dataset", choices=["digits", "fashion_mnist"], default="digits"
    )
    parser.add_argument("--weights", type=_weights, default=list(WEIGHTS))
    parser.add_argument(
        "--ks", type=lambda text: [int(k) for k in text.split(",")],
        help="code sizes (default: per dataset)",
    )  # fmt: skip
    parser.add_argument("--max-iter", type=int, help="epochs (default: per dataset)")
    parser.add_argument("--train-rows", type=int, help="first rows of the train set")
    parser.add_argument(
        "--sparsity", type=lambda text: text.split(","), default=[None],
        help="comma-separated penalties to sweep (default: the package's)",
    )  # fmt: skip
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, help="default docs/results/sparsity_*.json")
    parser.add_argument("--table", type=Path, help="print the table of a JSON file")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return
    torch.set_num_threads(args.threads)
    record = run(
        args.dataset,
        weights=args.weights,
        ks=args.ks,
        max_iter=args.max_iter,
        train_rows=args.train_rows,
        penalties=args.sparsity,
    )
    out = args.out or RESULTS / f"sparsity_{args.dataset}.json"
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(table(record))
    print(f"Wrote {out}")


if __name__ == "__main__":
    main()
