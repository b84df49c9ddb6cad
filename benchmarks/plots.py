"""Figures of a benchmark run, drawn from its JSON record alone.

``python -m benchmarks.plots RESULTS.json [--out DIR]`` redraws them. matplotlib
is imported lazily, with the non-interactive Agg backend.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import base64
import json
from pathlib import Path

import numpy as np

from benchmarks.report import SHORT
from skae.plotting import CodeActivationDisplay, ReconstructionDisplay

# One colour and marker per model, the same in every figure.
STYLES = {
    "PCA": {"color": "0.35", "marker": "s", "linestyle": "--"},
    "AutoencoderTransformer": {"color": "tab:blue", "marker": "o"},
    "DenoisingAutoencoder": {"color": "tab:orange", "marker": "^"},
    "SparseAutoencoder": {"color": "tab:green", "marker": "D"},
    "VariationalAutoencoder": {"color": "tab:purple", "marker": "v"},
    "ContractiveAutoencoder": {"color": "tab:brown", "marker": "P"},
    "ConvAutoencoder": {"color": "tab:red", "marker": "X"},
}
DPI = 100


def _pyplot():
    """Import pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _images(encoded):
    """Decode images stored by ``benchmarks.compare._to_images``."""
    pixels = np.frombuffer(base64.b64decode(encoded["uint8_base64"]), dtype=np.uint8)
    return pixels.reshape(encoded["shape"]).astype(np.float32) / 255


def _series(record, metric):
    """``{model: (ks, values)}`` of `metric` over the code sizes."""
    series = {}
    for model in record["settings"]["models"]:
        rows = [r for r in record["results"] if r["model"] == model]
        series[model] = ([r["k"] for r in rows], [r[metric] for r in rows])
    return series


def _title(record, text):
    """Figure title naming the dataset."""
    return f"{text} ({record['data']['name']}, test set)"


def _format_k_axis(ax, record):
    """Log-2 code-size axis with the measured sizes as ticks."""
    ks = record["settings"]["ks"]
    ax.set_xscale("log", base=2)
    ax.set_xticks(ks)
    ax.set_xticklabels([str(k) for k in ks])
    ax.set_xlabel("code size k (n_components)")
    ax.grid(True, alpha=0.3)


def plot_error(record, path):
    """Test reconstruction MSE against the code size, one line per model."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for model, (ks, mse) in _series(record, "mse").items():
        ax.plot(ks, mse, label=SHORT[model], **STYLES[model])
    ax.set_yscale("log")
    ax.set_ylabel("reconstruction MSE")
    _format_k_axis(ax, record)
    ax.set_title(_title(record, "Reconstruction error"))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_accuracy(record, path):
    """Accuracy of LogisticRegression and k-NN on the codes, against k."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True)
    metrics = [
        ("logistic_accuracy", "LogisticRegression"),
        ("knn_accuracy", "KNeighborsClassifier"),
    ]
    for ax, (metric, name) in zip(axes, metrics, strict=True):
        for model, (ks, accuracy) in _series(record, metric).items():
            ax.plot(ks, accuracy, label=SHORT[model], **STYLES[model])
        _format_k_axis(ax, record)
        ax.set_title(f"{name} on the codes")
    axes[0].set_ylabel("test accuracy")
    axes[0].legend()
    fig.suptitle(_title(record, "Downstream classification"))
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def _image_rows(record, path, title, *, noisy, reconstructions, show_error):
    """Draw the stored images: originals (and noisy inputs), then each model's."""
    plt = _pyplot()
    original = _images(record["images"]["original"])
    n_images, height, width = original.shape
    flat = {
        SHORT[model]: _images(encoded) for model, encoded in reconstructions.items()
    }
    n_rows = 1 + (noisy is not None) + len(flat) * (2 if show_error else 1)
    figure_height = 0.9 * n_rows + 0.5
    fig, ax = plt.subplots(figsize=(0.9 * n_images + 1.4, figure_height))
    display = ReconstructionDisplay.from_reconstructions(
        original.reshape(n_images, -1),
        {name: images.reshape(n_images, -1) for name, images in flat.items()},
        X_noisy=None if noisy is None else _images(noisy).reshape(n_images, -1),
        indices=range(n_images),
        image_shape=(height, width),
        show_error=show_error,
        ax=ax,
        imshow_kw={"vmin": 0, "vmax": 1},
    )
    display.ax_.tick_params(axis="y", labelsize=8)
    display.ax_.set_title(title, fontsize=10)
    fig.tight_layout(pad=0.3)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


def plot_reconstructions(record, path):
    """Originals, then each model's reconstructions and absolute errors."""
    images = record["images"]
    title = _title(
        record, f"Reconstructions at k={images['k']} (darker = larger error)"
    )
    _image_rows(
        record,
        path,
        title,
        noisy=None,
        reconstructions=images["reconstructed"],
        show_error=True,
    )


def plot_denoising(record, path):
    """Clean test inputs, their noisy copies and each model's output."""
    images = record["images"]
    title = f"Denoising at k={images['k']}, noise {record['data']['noise']}"
    _image_rows(
        record,
        path,
        _title(record, title),
        noisy=images["noisy"],
        reconstructions=images["denoised"],
        show_error=False,
    )


def plot_activations(record, path, k=None):
    """Density of code values, scaled by their maximum: plain against sparse."""
    plt = _pyplot()
    ks = record["settings"]["ks"]
    if k is None:
        k = max(x for x in ks if x <= 32) if min(ks) <= 32 else ks[0]
    bins = record["settings"]["activation_bins"]
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for model in ("AutoencoderTransformer", "SparseAutoencoder"):
        rows = [r for r in record["results"] if r["model"] == model and r["k"] == k]
        if not rows:
            continue
        (row,) = rows
        # The record holds the histogram of z / max|z| over [-1, 1].
        CodeActivationDisplay(
            row["activation_density"],
            np.linspace(-1, 1, bins + 1),
            near_zero_fraction=row["near_zero_fraction"],
            name=SHORT[model],
        ).plot(ax=ax, stairs_kw={"color": STYLES[model]["color"]})
    ax.set_title(_title(record, f"Code activations at k={k}"))
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)
    plt.close(fig)


FIGURES = {
    "error_vs_k.png": plot_error,
    "accuracy_vs_k.png": plot_accuracy,
    "reconstructions.png": plot_reconstructions,
    "denoising.png": plot_denoising,
    "activations.png": plot_activations,
}


def plot_all(record, out_dir, prefix=""):
    """Write every figure of `record` into `out_dir`; return their paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, plot in FIGURES.items():
        path = out_dir / f"{prefix}{name}"
        plot(record, path)
        paths.append(path)
    return paths


def main(argv=None):
    """Redraw the figures of a results JSON file."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.plots")
    parser.add_argument("results", help="a JSON file written by python -m benchmarks")
    parser.add_argument("--out", help="folder for the PNGs (default: the JSON's)")
    parser.add_argument("--prefix", default="", help="prefix of the file names")
    args = parser.parse_args(argv)
    with open(args.results) as file:
        record = json.load(file)
    out = args.out or Path(args.results).parent
    for path in plot_all(record, out, prefix=args.prefix):
        print(path)


if __name__ == "__main__":
    main()
