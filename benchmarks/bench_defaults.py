"""Why the defaults: short Fashion-MNIST runs of the choices behind them.

Each configuration trains for the same few epochs on the official 60,000
training images and is scored on the 10,000 test images: test MSE as a ratio
of PCA's at the same k, and for the denoising autoencoder the PSNR gain over
PCA on the benchmark's noisy test images (Gaussian, sigma 0.3, clipped to
[0, 1]). It backs the figures that README.md and the User Guide quote for
``init``, ``activation``, ``hidden_layer_sizes`` and ``clip``.

Usage::

    python -m benchmarks.bench_defaults            # writes docs/results/defaults.json
    python -m benchmarks.bench_defaults --table docs/results/defaults.json
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning

import skae
from benchmarks.compare import make_data, psnr
from benchmarks.provenance import record_header

OUT = Path(__file__).resolve().parent.parent / "docs" / "results" / "defaults.json"
SEED = 0
EPOCHS = 10

# (name, estimator class, k, parameters other than the defaults)
CONFIGS = [
    ("256-128 ReLU, random init", "AutoencoderTransformer", 8,
     {"hidden_layer_sizes": (256, 128), "activation": "relu", "init": "random"}),
    ("256-128 ReLU, init='pca'", "AutoencoderTransformer", 8,
     {"hidden_layer_sizes": (256, 128), "activation": "relu"}),
    ("256-128 GELU, init='pca'", "AutoencoderTransformer", 8,
     {"hidden_layer_sizes": (256, 128)}),
    ("512-256 GELU, init='pca' (defaults)", "AutoencoderTransformer", 8, {}),
    ("denoising, clip=False", "DenoisingAutoencoder", 16, {"clip": False}),
    ("denoising, clip=True (defaults)", "DenoisingAutoencoder", 16, {}),
]  # fmt: skip


def run(epochs=EPOCHS):
    """Fit every configuration; return a JSON-ready record."""
    header = record_header("defaults", seed=SEED)
    data = make_data("fashion_mnist", random_state=SEED)
    X, X_test, X_noisy = data["X_train"], data["X_test"], data["X_test_noisy"]
    pcas = {}
    rows = []
    for name, model, k, params in CONFIGS:
        if k not in pcas:
            pca = PCA(k, random_state=SEED).fit(X)
            pcas[k] = (
                np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2),
                psnr(pca.inverse_transform(pca.transform(X_noisy)), X_test),
            )
        pca_mse, pca_psnr = pcas[k]
        estimator = getattr(skae, model)(
            k, max_iter=epochs, random_state=SEED, **params
        )
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            estimator.fit(X)
        seconds = time.perf_counter() - start
        X_rec = estimator.inverse_transform(estimator.transform(X_test))
        X_denoised = estimator.inverse_transform(estimator.transform(X_noisy))
        rows.append(
            {
                "name": name,
                "model": model,
                "k": k,
                "params": {key: list(v) if isinstance(v, tuple) else v
                           for key, v in params.items()},
                "mse_vs_pca": float(np.mean((X_rec - X_test) ** 2) / pca_mse),
                "psnr_gain_db": float(psnr(X_denoised, X_test) - pca_psnr),
                "fit_seconds": seconds,
            }
        )  # fmt: skip
        print(table({"rows": rows[-1:]}).splitlines()[-1], flush=True)
    return {**header, "epochs": epochs, "rows": rows}


def table(record):
    """Markdown table of the record."""
    lines = [
        "| configuration | k | test MSE / PCA's | noisy PSNR gain over PCA (dB) "
        "| fit (s) |",
        "|---|---|---|---|---|",
    ]
    for row in record["rows"]:
        lines.append(
            f"| {row['name']} | {row['k']} | {row['mse_vs_pca']:.3f} "
            f"| {row['psnr_gain_db']:+.2f} | {row['fit_seconds']:.0f} |"
        )
    return "\n".join(lines)


def main():
    """Run and write the JSON, or print the table of a JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--table", type=Path, help="print the table of a JSON file")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return
    record = run(args.epochs)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print(table(record))
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
