"""Why the defaults: short Fashion-MNIST runs of the choices behind them, and
every kind's defaults on small data.

Each configuration trains for the same few epochs on the official 60,000
training images and is scored on the 10,000 test images: test MSE as a ratio
of PCA's at the same k, and for the denoising autoencoder the PSNR gain over
PCA on the benchmark's noisy test images (Gaussian, sigma 0.3, clipped to
[0, 1]). It backs the figures that README.md and the User Guide quote for
``init``, ``activation``, ``hidden_layer_sizes`` and ``clip``.

``--part small`` fits every kind exactly as a user calls it (only
``n_components`` and ``random_state`` set: no epoch budget, the default
``max_iter`` and ``early_stopping="auto"``) on the small data sets of issue
#31: digits (the main job's split) and the first 10,000 Fashion-MNIST
training images (scored on the official 10,000 test images), at k = 2, 8 and
32, on ``--threads`` torch threads. It records each fit's wall seconds and
epochs and its test MSE as a ratio of PCA's, and checks the issue's goals:
every fit at most ``SMALL_FIT_SECONDS``, and the conv network no worse than
the MLP at every k.
``--plateau`` fits the same with ``early_stopping=False`` (every row trained
on, stopping on a plateau of the training loss, rather than ``"auto"``
early stopping, which holds out rows of the Fashion-MNIST subset) and writes
``defaults_small_plateau.json``, which the docs compare with the defaults'
record. ``--last-weights`` fits with ``average_decay=0`` as well (training
ends on the last weights rather than on their moving average) and writes
``defaults_small_last_weights.json``, which the docs compare with
``defaults_small_averaged.json``, the defaults' record from before
``early_stopping="auto"``.

``--part large`` checks the same default on large data: the Fashion-MNIST
headline's kinds, data (all 60,000 training images) and epochs, at k = 8, 32
and 64, each fitted with ``average_decay=0`` and with the default, on
``--threads`` threads (the headline's 2); it writes ``defaults_large.json``.

Usage::

    python -m benchmarks.bench_defaults            # writes docs/results/defaults.json
    python -m benchmarks.bench_defaults --table docs/results/defaults.json
    python -m benchmarks.bench_defaults --part small --threads 2  # defaults_small.json
    python -m benchmarks.bench_defaults --table docs/results/defaults_small.json
    python -m benchmarks.bench_defaults --part small --threads 2 --plateau
    python -m benchmarks.bench_defaults --part small --last-weights
    python -m benchmarks.bench_defaults --part large --threads 2
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
from pathlib import Path

import numpy as np
from sklearn.decomposition import PCA

import skae
from benchmarks.compare import (
    MODELS,
    SETTINGS,
    fit_quietly,
    make_data,
    make_estimator,
    psnr,
)
from benchmarks.provenance import add_threads_argument, record_header, use_threads

RESULTS = Path(__file__).resolve().parent.parent / "docs" / "results"
OUT = RESULTS / "defaults.json"
OUT_SMALL = RESULTS / "defaults_small.json"
OUT_LAST = RESULTS / "defaults_small_last_weights.json"
OUT_PLATEAU = RESULTS / "defaults_small_plateau.json"
OUT_LARGE = RESULTS / "defaults_large.json"
SEED = 0
EPOCHS = 10

# The small-data part (issue #31): every kind, these code sizes, these data.
SMALL_KINDS = MODELS[1:]
SMALL_KS = (2, 8, 32)
SMALL_DATA = {"digits": None, "fashion_mnist": 10_000}  # training rows (None: all)
SMALL_FIT_SECONDS = 60

# The large-data part: the Fashion-MNIST headline's kinds, these code sizes,
# each ending on its last weights (average_decay=0) and with the default.
LARGE_KINDS = MODELS[1:4]
LARGE_KS = (8, 32, 64)

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
        seconds, _ = fit_quietly(estimator, X)
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


def run_small(datasets=tuple(SMALL_DATA), ks=SMALL_KS, kinds=SMALL_KINDS, params=None):
    """Fit every kind with its defaults (and `params`, a dict, if given) on
    small data; return a JSON-ready record."""
    params = params or {}
    header = record_header("defaults_small", seed=SEED)
    rows = []
    for dataset in datasets:
        data = make_data(dataset, random_state=SEED)
        X, X_test = data["X_train"][: SMALL_DATA[dataset]], data["X_test"]
        for k in ks:
            pca = PCA(k, random_state=SEED).fit(X)
            pca_mse = np.mean(
                (pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2
            )
            for model in kinds:
                estimator = make_estimator(
                    model,
                    k,
                    max_iter=None,
                    image_shape=data["image_shape"],
                    random_state=SEED,
                )
                estimator.set_params(**params)
                seconds, _ = fit_quietly(estimator, X)
                X_rec = estimator.inverse_transform(estimator.transform(X_test))
                rows.append(
                    {
                        "data": dataset,
                        "n_train": len(X),
                        "model": model,
                        "k": k,
                        "mse_vs_pca": float(np.mean((X_rec - X_test) ** 2) / pca_mse),
                        "fit_seconds": seconds,
                        "n_iter": int(estimator.n_iter_),
                    }
                )
                row = rows[-1]
                print(
                    f"{dataset} k={k} {model}: {row['mse_vs_pca']:.3f} x PCA, "
                    f"{seconds:.1f} s, {row['n_iter']} epochs",
                    flush=True,
                )
    return {
        **header,
        "fit_seconds_goal": SMALL_FIT_SECONDS,
        "params": params,
        "rows": rows,
    }


def run_large(ks=LARGE_KS, kinds=LARGE_KINDS):
    """Fit the headline's kinds on all the Fashion-MNIST training images for
    the headline's epochs, ending on the last weights and on their average;
    return a JSON-ready record."""
    header = record_header("defaults_large", seed=SEED)
    epochs = SETTINGS["fashion_mnist"]["max_iter"]
    data = make_data("fashion_mnist", random_state=SEED)
    X, X_test = data["X_train"], data["X_test"]
    rows = []
    for k in ks:
        pca = PCA(k, random_state=SEED).fit(X)
        pca_mse = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
        for model in kinds:
            for last_weights in (True, False):
                estimator = make_estimator(
                    model, k, max_iter=epochs, image_shape=None, random_state=SEED
                )
                if last_weights:
                    estimator.set_params(average_decay=0.0)
                decay = estimator.average_decay
                seconds, _ = fit_quietly(estimator, X)
                X_rec = estimator.inverse_transform(estimator.transform(X_test))
                rows.append(
                    {
                        "data": "fashion_mnist",
                        "n_train": len(X),
                        "model": model,
                        "k": k,
                        "average_decay": decay,
                        "mse_vs_pca": float(np.mean((X_rec - X_test) ** 2) / pca_mse),
                        "fit_seconds": seconds,
                        "n_iter": int(estimator.n_iter_),
                    }
                )
                print(
                    f"k={k} {model} average_decay={decay}: "
                    f"{rows[-1]['mse_vs_pca']:.4f} x PCA, {seconds:.1f} s",
                    flush=True,
                )
    return {**header, "epochs": epochs, "rows": rows}


def table_averaged(last, defaults):
    """Markdown table: each kind's error against PCA's ending on its last
    weights and with its defaults (on their average), from the two
    small-data records."""
    # A record of the defaults from before averaging was one ended on the
    # last weights, as average_decay=0 does now.
    # Records since averaging name their parameters ("params", or the
    # "average_decay" of the first such records).
    since = "params" in last or "average_decay" in last
    before = "" if since else ", the defaults before averaging"
    intro = (
        f"Test MSE as a multiple of PCA's: ending on the last weights "
        f"(`average_decay=0`), then with the defaults (on their average), "
        f"and the fit seconds of each. Runs: `{last['command']}` "
        f"({last['created'][:10]}, commit {last['commit']}{before}) and "
        f"`{defaults['command']}` ({defaults['created'][:10]}, commit "
        f"{defaults['commit']}), one thread."
    )
    return intro + "\n\n" + _comparison_table(last["rows"], defaults["rows"])


def table_stopping(plateau, defaults):
    """Markdown table: each kind's error against PCA's stopping on a plateau
    of the training loss (``early_stopping=False``) and with the defaults
    (``"auto"``), from the two small-data records."""
    intro = (
        "Test MSE as a multiple of PCA's and fit seconds: every row trained on "
        "until the training loss plateaus (`early_stopping=False`), then with "
        'the defaults (`early_stopping="auto"`: on the Fashion-MNIST subset, '
        "a tenth of the rows held out, stopping when the averaged weights' "
        f"error on them stops falling). Runs: `{plateau['command']}` "
        f"({plateau['created'][:10]}, commit {plateau['commit']}) and "
        f"`{defaults['command']}` ({defaults['created'][:10]}, commit "
        f"{defaults['commit']}), {defaults['hardware']['threads']} threads."
    )
    table = _comparison_table(plateau["rows"], defaults["rows"], "with early stopping")
    return intro + "\n\n" + table


def table_large(record):
    """Markdown table of the large-data part: each kind's error against PCA's
    ending on its last weights and on their average."""
    rows = record["rows"]
    last = [row for row in rows if row["average_decay"] == 0]
    averaged = [row for row in rows if row["average_decay"] != 0]
    intro = (
        f"Fashion-MNIST, all {rows[0]['n_train']:,} training images, "
        f"{record['epochs']} epochs (the headline's), test MSE on the 10,000 "
        "test images as a multiple of PCA's: ending on the last weights "
        "(`average_decay=0`), then with the default "
        f"(`average_decay={averaged[0]['average_decay']}`), "
        f"and the fit seconds of each. Run: `{record['command']}` "
        f"({record['created'][:10]}, commit {record['commit']}, "
        f"{record['hardware']['threads']} threads)."
    )
    return intro + "\n\n" + _comparison_table(last, averaged)


def _comparison_table(before, after, change="with the average"):
    """Markdown table: each (data, kind, k)'s error against PCA's in the rows
    `before`, then in `after` (`change`); how many are lower."""
    base = {(r["data"], r["model"], r["k"]): r for r in before}
    rows = [r for r in after if (r["data"], r["model"], r["k"]) in base]
    ks = sorted({r["k"] for r in rows})
    cells = {(r["data"], r["model"], r["k"]): r for r in rows}
    lines = [
        "| data | kind | " + " | ".join(f"k={k}" for k in ks) + " |",
        "|---|---|" + "--:|" * len(ks),
    ]
    better = 0
    for data, model in dict.fromkeys((r["data"], r["model"]) for r in rows):
        line = f"| {data} | {model} "
        for k in ks:
            key = (data, model, k)
            if key not in cells:
                line += "| "
                continue
            old, new = base[key], cells[key]
            better += new["mse_vs_pca"] < old["mse_vs_pca"]
            line += (
                f"| {old['mse_vs_pca']:.3f} -> {new['mse_vs_pca']:.3f} "
                f"({old['fit_seconds']:.0f} / {new['fit_seconds']:.0f} s) "
            )
        lines.append(line + "|")
    same = sum(cells[key]["mse_vs_pca"] == base[key]["mse_vs_pca"] for key in cells)
    unchanged = f"; {same} the same both ways" if same else ""
    lines += ["", f"Lower {change} in {better} of {len(rows)} fits{unchanged}."]
    return "\n".join(lines)


def table_small(record):
    """Markdown tables of the small-data part: each kind's error against PCA's
    and fit seconds, then the issue's goals."""
    rows = record["rows"]
    ks = sorted({row["k"] for row in rows})
    lines = [
        "| data | kind | " + " | ".join(f"k={k}: x PCA (s, epochs)" for k in ks) + " |",
        "|---|---|" + "--:|" * len(ks),
    ]
    cells = {(r["data"], r["model"], r["k"]): r for r in rows}
    for data, model in dict.fromkeys((r["data"], r["model"]) for r in rows):
        line = f"| {data} ({cells[(data, model, ks[0])]['n_train']:,} rows) | {model} "
        for k in ks:
            row = cells.get((data, model, k))
            line += (
                "| "
                if row is None
                else f"| {row['mse_vs_pca']:.3f} ({row['fit_seconds']:.0f} s, "
                f"{row['n_iter']}) "
            )
        lines.append(line + "|")
    goal = record["fit_seconds_goal"]
    slowest = max(rows, key=lambda r: r["fit_seconds"])
    lines += [
        "",
        "| goal | measured | verdict |",
        "|---|---|---|",
        f"| every default fit <= {goal} s | slowest: {slowest['model']} on "
        f"{slowest['data']} at k={slowest['k']}, {slowest['fit_seconds']:.0f} s | "
        f"{'met' if slowest['fit_seconds'] <= goal else '**not met**'} |",
    ]
    for data in dict.fromkeys(r["data"] for r in rows):
        pairs = [
            (
                k,
                cells[(data, "ConvAutoencoder", k)]["mse_vs_pca"],
                cells[(data, "AutoencoderTransformer", k)]["mse_vs_pca"],
            )
            for k in ks
            if (data, "ConvAutoencoder", k) in cells
            and (data, "AutoencoderTransformer", k) in cells
        ]
        if pairs:
            detail = ", ".join(f"k={k}: {c:.3f} vs {m:.3f}" for k, c, m in pairs)
            met = all(c <= m for _, c, m in pairs)
            lines.append(
                f"| conv no worse than the MLP at every k ({data}) | {detail} | "
                f"{'met' if met else '**not met**'} |"
            )
    return "\n".join(lines)


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
    parser.add_argument(
        "--part", choices=["choices", "small", "large"], default="choices"
    )
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--datasets", nargs="+", default=list(SMALL_DATA))
    parser.add_argument(
        "--last-weights",
        action="store_true",
        help="with --part small: average_decay=0, end on the last weights",
    )
    parser.add_argument(
        "--plateau",
        action="store_true",
        help="with --part small: early_stopping=False, stop on a plateau",
    )
    add_threads_argument(parser, help="with --part small or large: torch threads")
    parser.add_argument("--out", type=Path, help="default: docs/results/defaults*.json")
    parser.add_argument("--table", type=Path, help="print the table of a JSON file")
    args = parser.parse_args()
    if args.table:
        record = json.loads(args.table.read_text())
        if record["benchmark"] == "defaults_large":
            print(table_large(record))
        else:
            print((table_small if "fit_seconds_goal" in record else table)(record))
        return
    if args.part == "large":
        use_threads(args.threads)
        record, render = run_large(), table_large
    elif args.part == "small":
        use_threads(args.threads)
        params = {"average_decay": 0.0} if args.last_weights else {}
        if args.plateau:
            params["early_stopping"] = False
        record = run_small(tuple(args.datasets), params=params)
        render = table_small
    else:
        record, render = run(args.epochs), table
    small = OUT_PLATEAU if args.plateau else OUT_SMALL
    small = OUT_LAST if args.last_weights else small
    out = args.out or {"small": small, "large": OUT_LARGE}.get(args.part, OUT)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(render(record))
    print(f"Wrote {out}")


if __name__ == "__main__":
    main()
