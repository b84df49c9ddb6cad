"""Does autoencoder pretraining help when labels are scarce? Fashion-MNIST.

With 1%, 5% and 100% of the training labels (stratified draws), compare the
test accuracy of

* ``logreg_raw``: logistic regression on the raw pixels;
* ``logreg_pca32``: logistic regression on 32 PCA codes (PCA fitted once on
  all training images, as the autoencoder is);
* ``mlp_scratch``: an MLP of the classifier's shape (encoder layers + head),
  trained from scratch on the labeled rows only;
* ``ae_frozen`` / ``ae_finetuned``: :class:`skae.AutoencoderClassifier` on a
  denoising autoencoder pretrained once on all 60,000 training images (no
  labels), reused through :class:`sklearn.frozen.FrozenEstimator`, with the
  encoder frozen or fine-tuned.

Every model sees the same labeled rows and is measured on the official 10,000
test images. Usage::

    python -m benchmarks.bench_pretraining [--quick] [--out DIR] [--threads N]
    python -m benchmarks.bench_pretraining --table docs/results/pretraining.json

The first form runs the benchmark, writes ``pretraining.json`` (versions,
hardware, seeds, parameters, accuracies and times) to ``--out`` and prints a
markdown table; the second prints the table of an existing JSON file.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline

from benchmarks.provenance import record_header
from skae import AutoencoderClassifier, DenoisingAutoencoder
from skae.datasets import load_fashion_mnist

FRACTIONS = (0.01, 0.05, 1.0)
COLUMNS = ("logreg_raw", "logreg_pca32", "mlp_scratch", "ae_frozen", "ae_finetuned")
N_COMPONENTS = 32
ENCODER_LAYERS = (256, 128)
HEAD_LAYERS = (64,)
# Seed of the pretrained autoencoder and of PCA.
SEED = 0
# Label draws per fraction: scarce labels vary most from draw to draw.
SEEDS = {0.01: (0, 1, 2, 3, 4), 0.05: (0, 1, 2), 1.0: (0,)}

# Full run; --quick shrinks the data and epochs to check the script end to end.
FULL = {
    "n_train": None,
    "n_test": None,
    "pretrain_epochs": 50,
    "max_epochs": 200,
    "max_epochs_all_labels": 30,
}
QUICK = {
    "n_train": 6000,
    "n_test": 2000,
    "pretrain_epochs": 3,
    "max_epochs": 20,
    "max_epochs_all_labels": 3,
}


def make_data(config):
    """Return the train and test images and labels (float32 pixels in [0, 1])."""
    X_train, y_train = load_fashion_mnist(subset="train", return_X_y=True)
    X_test, y_test = load_fashion_mnist(subset="test", return_X_y=True)
    return (
        X_train[: config["n_train"]],
        y_train[: config["n_train"]],
        X_test[: config["n_test"]],
        y_test[: config["n_test"]],
    )


def label_subset(y, fraction, seed):
    """Return the indices of a stratified, seeded `fraction` of the rows."""
    if fraction >= 1:
        return np.arange(len(y))
    labeled, _ = train_test_split(
        np.arange(len(y)), train_size=fraction, stratify=y, random_state=seed
    )
    return np.sort(labeled)


def make_autoencoder(config):
    """The denoising autoencoder pretrained once, on all training images."""
    return DenoisingAutoencoder(
        n_components=N_COMPONENTS,
        hidden_layer_sizes=ENCODER_LAYERS,
        noise="masking",
        noise_level=0.3,
        output_activation="sigmoid",
        loss="bce",
        batch_size=256,
        max_iter=config["pretrain_epochs"],
        random_state=SEED,
    )


def make_estimator(column, *, max_epochs, seed, pca, autoencoder):
    """Return the (unfitted) estimator of a table column.

    The networks share one training protocol, the defaults of
    MLPClassifier: Adam, learning rate 1e-3, L2 penalty 1e-4, and training
    until the training loss stops improving (10 epochs without a gain of
    1e-4) or `max_epochs`; minibatches of 64. No early stopping on held-out
    labels: MLPClassifier would monitor the accuracy of a few dozen rows.
    """
    network = {
        "alpha": 1e-4,
        "batch_size": 64,
        "learning_rate_init": 1e-3,
        "max_iter": max_epochs,
        "n_iter_no_change": 10,
        "tol": 1e-4,
        "random_state": seed,
    }
    if column == "logreg_raw":
        return LogisticRegression(max_iter=1000)
    if column == "logreg_pca32":
        return make_pipeline(FrozenEstimator(pca), LogisticRegression(max_iter=1000))
    if column == "mlp_scratch":
        return MLPClassifier(
            hidden_layer_sizes=(*ENCODER_LAYERS, N_COMPONENTS, *HEAD_LAYERS), **network
        )
    return AutoencoderClassifier(
        FrozenEstimator(autoencoder),
        head_hidden_layer_sizes=HEAD_LAYERS,
        freeze_encoder=column == "ae_frozen",
        **network,
    )


def score(estimator, X_labeled, y_labeled, X_test, y_test):
    """Fit on the labeled rows; return the test accuracy and the fit time."""
    start = time.perf_counter()
    estimator.fit(X_labeled, y_labeled)
    fit_time = time.perf_counter() - start
    return float(estimator.score(X_test, y_test)), fit_time


def _n_iter(estimator):
    """Epochs (or solver iterations) the final estimator ran, as an int."""
    n_iter = getattr(
        estimator[-1] if hasattr(estimator, "steps") else estimator, "n_iter_", None
    )
    return None if n_iter is None else int(np.max(n_iter))


def run(config, log=print):
    """Run every column for every fraction and seed; return the results."""
    header = record_header("pretraining", seed=SEED)
    X_train, y_train, X_test, y_test = make_data(config)
    log(f"train {X_train.shape}, test {X_test.shape}")
    start = time.perf_counter()
    autoencoder = make_autoencoder(config).fit(X_train)
    pretrain_time = time.perf_counter() - start
    log(f"pretrained in {pretrain_time:.0f} s, {autoencoder.n_iter_} epochs")
    # PCA sees all training images too, like the autoencoder.
    pca = PCA(n_components=N_COMPONENTS, random_state=SEED).fit(X_train)
    runs = []
    for fraction in FRACTIONS:
        max_epochs = config["max_epochs" if fraction < 1 else "max_epochs_all_labels"]
        for seed in SEEDS[fraction]:
            labeled = label_subset(y_train, fraction, seed)
            for column in COLUMNS:
                estimator = make_estimator(
                    column,
                    max_epochs=max_epochs,
                    seed=seed,
                    pca=pca,
                    autoencoder=autoencoder,
                )
                accuracy, fit_time = score(
                    estimator, X_train[labeled], y_train[labeled], X_test, y_test
                )
                runs.append(
                    {
                        "fraction": fraction,
                        "n_labeled": len(labeled),
                        "seed": seed,
                        "column": column,
                        "accuracy": accuracy,
                        "fit_time_s": fit_time,
                        "n_iter": _n_iter(estimator),
                    }
                )
                log(
                    f"{fraction:>5.0%} seed {seed} {column:<13} "
                    f"{accuracy:.4f} ({fit_time:.0f} s)"
                )
    return {
        **header,
        "dataset": "Fashion-MNIST (official split)",
        "config": config,
        "seeds": {str(k): list(v) for k, v in SEEDS.items()},
        "autoencoder": {
            "params": {
                k: v for k, v in autoencoder.get_params().items() if k != "callbacks"
            },
            "n_iter": autoencoder.n_iter_,
            "reconstruction_error": autoencoder.reconstruction_error_,
            "fit_time_s": pretrain_time,
        },
        "runs": runs,
    }


def summarise(results):
    """Mean and standard deviation of the accuracy per fraction and column."""
    table = {}
    for fraction in FRACTIONS:
        for column in COLUMNS:
            accuracies = [
                r["accuracy"]
                for r in results["runs"]
                if r["fraction"] == fraction and r["column"] == column
            ]
            if accuracies:
                table[fraction, column] = (np.mean(accuracies), np.std(accuracies))
    return table


def markdown_table(results):
    """The README table: test accuracy (%), mean ± std over label draws."""
    table = summarise(results)
    n_train = {r["fraction"]: r["n_labeled"] for r in results["runs"]}
    lines = [
        "| labels | " + " | ".join(COLUMNS) + " |",
        "|---" * (len(COLUMNS) + 1) + "|",
    ]
    for fraction in FRACTIONS:
        if (fraction, COLUMNS[0]) not in table:
            continue
        best = max(table[fraction, c][0] for c in COLUMNS)
        cells = []
        for column in COLUMNS:
            mean, std = table[fraction, column]
            cell = f"{100 * mean:.1f}"
            if len(SEEDS[fraction]) > 1:
                cell += f" ± {100 * std:.1f}"
            cells.append(f"**{cell}**" if mean == best else cell)
        label = f"{fraction:.0%} ({n_train[fraction]:,})"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small, fast run")
    parser.add_argument("--out", default=".", help="folder for pretraining.json")
    parser.add_argument("--table", help="print the table of this JSON and exit")
    parser.add_argument(
        "--threads",
        type=int,
        help="torch threads; 1 avoids oversubscription on busy, shared cores",
    )
    args = parser.parse_args(argv)
    if args.table:
        print(markdown_table(json.loads(Path(args.table).read_text())))
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    config = QUICK if args.quick else FULL
    with warnings.catch_warnings():
        # Epoch budgets are part of the protocol, not a failure to converge.
        warnings.simplefilter("ignore", ConvergenceWarning)
        results = run(config, log=lambda line: print(line, flush=True))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "pretraining.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nwrote {path}\n")
    print(markdown_table(results))


if __name__ == "__main__":
    sys.exit(main())
