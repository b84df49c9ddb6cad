"""Render a benchmark's JSON record as the markdown the README and docs embed.

``python -m benchmarks.report RESULTS.json [--figures PREFIX]`` prints the
results table, the quality goals checked against the numbers, and the
model-selection search; ``python -m benchmarks.update_readme`` puts the
committed runs into the README (:func:`headline`, :func:`choice`,
:func:`runtime`) and into ``docs/benchmarks.rst`` (:func:`render`). Nothing in
the output is typed in by hand.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json

# The goals of GitHub issue 4 (stated for Fashion-MNIST; checked on any run).
GOAL_RATIOS = {8: 0.45, 32: 0.55}
GOAL_FIT_SECONDS = 300
GOAL_CLEAR_MARGIN_K2 = 0.05
GOAL_PSNR_GAIN_DB = 2.0
SHORT = {
    "PCA": "PCA",
    "AutoencoderTransformer": "Autoencoder",
    "DenoisingAutoencoder": "Denoising",
    "SparseAutoencoder": "Sparse",
}


NAMES = {"fashion_mnist": "Fashion-MNIST", "mnist": "MNIST", "digits": "digits"}


def noisy_mse(row):
    """Test MSE of the reconstructions of the noisy test images, against the clean.

    Records written before ``mse_noisy`` was measured hold only its PSNR,
    ``10 log10(1 / MSE)`` (``compare.psnr``), from which it is recovered.
    """
    if "mse_noisy" in row:
        return row["mse_noisy"]
    return 10 ** (-row["psnr_noisy"] / 10)


def _lookup(record):
    """``{(model, k): row}`` of the record's results."""
    return {(r["model"], r["k"]): r for r in record["results"]}


def _table(header, rows):
    """A markdown table; the first column left-aligned, the rest right."""
    lines = ["| " + " | ".join(header) + " |"]
    lines.append("|" + "|".join([":--"] + ["--:"] * (len(header) - 1)) + "|")
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def results_table(record):
    """One row per code size and model."""
    rows = _lookup(record)
    header = [
        "k",
        "model",
        "test MSE",
        "x PCA",
        "LogReg acc",
        "k-NN acc",
        "noisy-input MSE",
        "x PCA (noisy)",
        "noisy PSNR (dB)",
        "near-zero codes",
        "fit (s wall)",
        "epochs",
        "transform (ms)",
    ]
    lines = []
    for k in record["settings"]["ks"]:
        pca = rows.get(("PCA", k))
        for model in record["settings"]["models"]:
            row = rows[(model, k)]
            ratio = f"{row['mse'] / pca['mse']:.2f}" if pca else ""
            noisy = noisy_mse(row)
            noisy_ratio = f"{noisy / noisy_mse(pca):.2f}" if pca else ""
            lines.append(
                [
                    k,
                    SHORT[model],
                    f"{row['mse']:.5f}",
                    ratio,
                    f"{row['logistic_accuracy']:.3f}",
                    f"{row['knn_accuracy']:.3f}",
                    f"{noisy:.5f}",
                    noisy_ratio,
                    f"{row['psnr_noisy']:.2f}",
                    f"{row['near_zero_fraction']:.1%}",
                    f"{row['fit_time']:.1f}",
                    row.get("n_iter", ""),
                    f"{1000 * row['transform_time']:.0f}",
                ]
            )
    return _table(header, lines)


def _check(passed):
    """A goal's verdict."""
    return "met" if passed else "**not met**"


def goals_table(record):
    """The quality goals of issue 4, each with its measured numbers."""
    rows = _lookup(record)
    ks = record["settings"]["ks"]
    lines = []

    def has(*models):
        return all((model, k) in rows for model in models for k in ks)

    if not has("PCA"):
        return ""
    for model, limit in [
        ("AutoencoderTransformer", None),
        ("DenoisingAutoencoder", 16),
        ("SparseAutoencoder", 16),
    ]:
        if not has(model):
            continue
        sizes = [k for k in ks if limit is None or k <= limit]
        ratios = [rows[(model, k)]["mse"] / rows[("PCA", k)]["mse"] for k in sizes]
        pairs = zip(sizes, ratios, strict=True)
        detail = ", ".join(f"k={k}: {r:.2f}x" for k, r in pairs)
        scope = "every k" if limit is None else f"every k <= {limit}"
        lines.append(
            [
                f"{SHORT[model]} MSE <= PCA's at {scope}",
                detail,
                _check(all(r <= 1 for r in ratios)),
            ]
        )
    if has("AutoencoderTransformer"):
        for k, limit in GOAL_RATIOS.items():
            if k not in ks:
                continue
            ratio = rows[("AutoencoderTransformer", k)]["mse"] / rows[("PCA", k)]["mse"]
            lines.append(
                [
                    f"Autoencoder MSE <= {limit}x PCA's at k={k}",
                    f"{ratio:.3f}x",
                    _check(ratio <= limit),
                ]
            )
    fits = [r for r in record["results"] if r["model"] != "PCA"]
    if fits:
        # The goal is minutes of training on the machine (2 cores), so wall time.
        slowest = max(fits, key=lambda r: r["fit_time"])
        lines.append(
            [
                f"every autoencoder fit <= {GOAL_FIT_SECONDS} s on the machine",
                f"slowest: {SHORT[slowest['model']]} at k={slowest['k']}, "
                f"{slowest['fit_time']:.0f} s wall "
                f"({slowest['fit_cpu_time']:.0f} CPU s on "
                f"{record['hardware']['threads']} threads)",
                _check(slowest["fit_time"] <= GOAL_FIT_SECONDS),
            ]
        )
    if has("AutoencoderTransformer"):
        sizes = [k for k in ks if k <= 32]
        gaps = [
            rows[("AutoencoderTransformer", k)]["logistic_accuracy"]
            - rows[("PCA", k)]["logistic_accuracy"]
            for k in sizes
        ]
        pairs = zip(sizes, gaps, strict=True)
        detail = ", ".join(f"k={k}: {100 * g:+.1f}" for k, g in pairs)
        lines.append(
            [
                "Autoencoder LogReg accuracy >= PCA's at every k <= 32 (points)",
                detail,
                _check(all(g >= 0 for g in gaps)),
            ]
        )
        if 2 in ks:
            gap = gaps[sizes.index(2)]
            lines.append(
                [
                    "... and clearly better at k=2 "
                    f"(>= {100 * GOAL_CLEAR_MARGIN_K2:.0f} points)",
                    f"{100 * gap:+.1f} points",
                    _check(gap >= GOAL_CLEAR_MARGIN_K2),
                ]
            )
    if has("DenoisingAutoencoder"):
        gains = [
            rows[("DenoisingAutoencoder", k)]["psnr_noisy"]
            - rows[("PCA", k)]["psnr_noisy"]
            for k in ks
        ]
        detail = ", ".join(f"k={k}: {g:+.2f}" for k, g in zip(ks, gains, strict=True))
        lines.append(
            [
                f"Denoising PSNR on noisy inputs >= PCA's + {GOAL_PSNR_GAIN_DB} dB",
                detail,
                _check(all(g >= GOAL_PSNR_GAIN_DB for g in gains)),
            ]
        )
    return _table(["goal", "measured", "verdict"], lines)


def selection_table(record):
    """The model-selection search: both scores per size and each rule's pick."""
    selection = record.get("model_selection")
    if not selection:
        return ""
    lines = [
        [
            k,
            f"{accuracy:.3f} ± {std:.3f}",
            f"{mse:.5f}",
        ]
        for k, accuracy, std, mse in zip(
            selection["ks"],
            selection["mean_accuracy"],
            selection["std_accuracy"],
            selection["mean_mse"],
            strict=True,
        )
    ]
    table = _table(["k", "CV accuracy (pipeline)", "CV reconstruction MSE"], lines)
    largest = selection["picked_by_mse"] == max(selection["ks"])
    return (
        f"{table}\n\nSearch: `GridSearchCV` over `{selection['pipeline']}`, "
        f"{selection['cv']}-fold, on {selection['n_rows']} training rows. "
        f"Picked by reconstruction (-MSE): **k={selection['picked_by_mse']}**"
        f"{' (the largest)' if largest else ''}; "
        f"by best accuracy: **k={selection['picked_by_accuracy']}**; "
        f"by `{selection['rule']}`: **k={selection['picked_by_rule']}**, "
        f"whose refitted pipeline scores {selection['test_accuracy']:.3f} "
        "test accuracy."
    )


def header(record):
    """What was run, where, with what."""
    data, hardware, versions = record["data"], record["hardware"], record["versions"]
    packages = ", ".join(f"{name} {v}" for name, v in versions.items() if v)
    return (
        f"Dataset **{data['name']}**: {data['n_train']} training and "
        f"{data['n_test']} test samples, {data['n_features']} features "
        f"({data['split']}). Autoencoders: defaults, "
        f"`max_iter={record['settings']['max_iter']}`, seed {record['seed']}. "
        f"Times are wall seconds of a {hardware['threads']}-thread run on "
        f"{hardware['cpu']} ({hardware['cpu_count']} cores); "
        f"total {record['total_cpu_time'] / 60:.1f} CPU min "
        f"({record['total_time'] / 60:.1f} min wall). {packages}. "
        f"Run of {record['created']}: `{record['command']}`."
    )


FIGURE_NAMES = {
    "error_vs_k": "Reconstruction error against k",
    "accuracy_vs_k": "Accuracy of classifiers on the codes against k",
    "reconstructions": "Originals, reconstructions and absolute errors",
    "denoising": "Noisy inputs and each model's output",
    "activations": "Density of code values, plain against sparse",
}


def render(record, figures=None, goals=True):
    """The full markdown section for `record`.

    Parameters
    ----------
    record : dict
        A JSON record written by ``python -m benchmarks``.

    figures : str or None, default=None
        Path prefix of the PNGs to link (``<prefix><name>.png``), or None.

    goals : bool, default=True
        Whether to include the table of the issue's quality goals.
    """
    parts = [header(record), results_table(record)]
    # Recorded since mse_noisy was; older records hold its PSNR only.
    noisy_input = record["data"].get(
        "mse_noisy_input", 10 ** (-record["data"]["psnr_noisy_input"] / 10)
    )
    parts.append(
        "Near-zero codes: fraction of test code values with "
        f"{record['settings']['near_zero_threshold']}. Noisy-input MSE and "
        f"noisy PSNR: reconstruction of the test images with "
        f"{record['data']['noise']} noise, against the clean images (the noisy "
        f"inputs themselves: MSE {noisy_input:.5f}, "
        f"{record['data']['psnr_noisy_input']:.2f} dB). LogReg: "
        f"{record['settings']['logistic']}; k-NN: {record['settings']['knn']}."
    )
    if goals:
        table = goals_table(record)
        if table:
            parts.append(table)
    selection = selection_table(record)
    if selection:
        parts.append(selection)
    if figures:
        parts.append(
            "\n".join(
                f"![{alt}]({figures}{name}.png)" for name, alt in FIGURE_NAMES.items()
            )
        )
    return "\n\n".join(parts) + "\n"


def _range(values, fmt):
    """``"a to b"`` for the smallest and largest of `values` (one if equal)."""
    low, high = fmt.format(min(values)), fmt.format(max(values))
    return low if low == high else f"{low} to {high}"


def headline(record, figures=None, figure="error_vs_k"):
    """The README's summary of a run: errors against PCA's, accuracy, sparsity.

    Parameters
    ----------
    record : dict
        A JSON record written by ``python -m benchmarks``.

    figures : str or None, default=None
        Path prefix of the PNGs (``<prefix><figure>.png``), or None for none.

    figure : str, default="error_vs_k"
        Which of `FIGURE_NAMES` to show under the table.
    """
    rows = _lookup(record)
    ks = record["settings"]["ks"]
    models = record["settings"]["models"]
    autoencoders = [model for model in models if model != "PCA"]
    measures = [
        (
            "test error, clean inputs (x PCA)",
            autoencoders,
            lambda row, pca: f"{row['mse'] / pca['mse']:.2f}",
        ),
        (
            "test error, noisy inputs (x PCA)",
            autoencoders,
            lambda row, pca: f"{noisy_mse(row) / noisy_mse(pca):.2f}",
        ),
        (
            "LogReg accuracy on the codes",
            ["PCA", "AutoencoderTransformer"],
            lambda row, pca: f"{row['logistic_accuracy']:.3f}",
        ),
        (
            "near-zero codes",
            ["AutoencoderTransformer", "SparseAutoencoder"],
            lambda row, pca: f"{row['near_zero_fraction']:.0%}",
        ),
    ]
    lines = []
    for name, shown, cell in measures:
        for model in (model for model in shown if model in models):
            cells = [
                cell(rows[(model, k)], rows[("PCA", k)])
                if (model, k) in rows and ("PCA", k) in rows
                else ""
                for k in ks
            ]
            # A measure's name is written once, on its first row.
            first = not lines or name not in [line[0] for line in lines]
            lines.append([name if first else "", SHORT[model], *cells])
    data = record["data"]
    text = (
        f"{NAMES.get(data['name'], data['name'])}: {data['n_train']:,} training and "
        f"{data['n_test']:,} test images of {data['n_features']} pixels in [0, 1]; "
        "every model with its defaults and "
        f"`max_iter={record['settings']['max_iter']}`, seed {record['seed']}. Test "
        "error is the mean squared error of `inverse_transform(transform(X))` "
        "against the clean test images, as a multiple of PCA's at the same k "
        "(below 1: better than PCA); noisy inputs: the test images with noise "
        f"({data['noise']})."
        f" Run of {record['created'][:10]}: `{record['command']}`."
    )
    parts = [text, _table(["measure", "model", *(f"k={k}" for k in ks)], lines)]
    if figures:
        parts.append(f"![{FIGURE_NAMES[figure]}]({figures}{figure}.png)")
    return "\n\n".join(parts) + "\n"


def choice(records):
    """Each kind's error against PCA's, clean and noisy, over the runs' code sizes.

    One row per dataset and autoencoder: the range over k of the test error on
    clean inputs and on noisy inputs as a multiple of PCA's, and of the share
    of near-zero code values.
    """
    lines = []
    for record in records:
        rows = _lookup(record)
        ks = [k for k in record["settings"]["ks"] if ("PCA", k) in rows]
        dataset = NAMES.get(record["dataset"], record["dataset"])
        for model in record["settings"]["models"]:
            if model == "PCA":
                continue
            pairs = [(rows[(model, k)], rows[("PCA", k)]) for k in ks]
            lines.append(
                [
                    dataset,
                    f"`{model}`",
                    _range([r["mse"] / p["mse"] for r, p in pairs], "{:.2f}x"),
                    _range([noisy_mse(r) / noisy_mse(p) for r, p in pairs], "{:.2f}x"),
                    _range([r["near_zero_fraction"] for r, _ in pairs], "{:.0%}"),
                    f"{min(ks)} to {max(ks)}",
                ]
            )
    header = [
        "data",
        "estimator",
        "error on clean inputs (x PCA)",
        "error on noisy inputs (x PCA)",
        "near-zero codes",
        "k",
    ]
    return _table(header, lines)


def runtime(records):
    """How long each committed run took, and where."""
    sentences = []
    for record in records:
        hardware = record["hardware"]
        sentences.append(
            f"`{record['command']}` took {record['total_time'] / 60:.1f} min "
            f"({hardware['threads']} thread{'s' * (hardware['threads'] > 1)}, "
            f"{hardware['cpu']}, {record['created'][:10]})"
        )
    return "Committed runs: " + "; ".join(sentences) + "."


def main(argv=None):
    """Print the markdown of a results JSON file."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report")
    parser.add_argument("results", help="a JSON file written by python -m benchmarks")
    parser.add_argument(
        "--figures",
        help="path prefix of the PNGs to link, e.g. docs/images/fashion_mnist_",
    )
    args = parser.parse_args(argv)
    with open(args.results) as file:
        record = json.load(file)
    print(render(record, figures=args.figures), end="")


if __name__ == "__main__":
    main()
