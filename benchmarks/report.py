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
    "VariationalAutoencoder": "Variational",
    "ContractiveAutoencoder": "Contractive",
    "ConvAutoencoder": "Conv",
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


def likelihood_table(record):
    """Held-out log-likelihood per code size: ``PCA.score`` beside the ELBO.

    Only the models whose ``score`` is a log-likelihood have one (see
    ``compare.LIKELIHOOD_ESTIMATORS``); empty when the run has none but PCA.
    """
    rows = _lookup(record)
    ks = record["settings"]["ks"]
    models = [
        model
        for model in record["settings"]["models"]
        if all("log_likelihood" in rows.get((model, k), {}) for k in ks)
    ]
    if len(models) < 2:
        return ""
    lines = [
        [SHORT[model], *(f"{rows[(model, k)]['log_likelihood']:.1f}" for k in ks)]
        for model in models
    ]
    table = _table(["model", *(f"k={k}" for k in ks)], lines)
    return (
        f"{table}\n\nTest log-likelihood, nats per sample (higher is better): "
        "`PCA.score` (probabilistic PCA's, exact) beside "
        "`VariationalAutoencoder.score` (the ELBO, a lower bound of the "
        "variational model's)."
    )


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
    likelihood = likelihood_table(record)
    if likelihood:
        parts.append(likelihood)
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


def headline(record, figures=None, figure="error_vs_k", conv=None):
    """The README's summary of a run: errors against PCA's, accuracy, sparsity.

    Parameters
    ----------
    record : dict
        A JSON record written by ``python -m benchmarks``.

    figures : str or None, default=None
        Path prefix of the PNGs (``<prefix><figure>.png``), or None for none.

    figure : str, default="error_vs_k"
        Which of `FIGURE_NAMES` to show under the table.

    conv : dict or None, default=None
        A record of ``python -m benchmarks.bench_conv`` on the same data,
        whose convolutional rows join the table (each against the PCA of its
        own run), or None.
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
        if conv is not None:
            lines.extend(_headline_conv_rows(conv, name, ks, cell))
        if conv is not None and name == "test error, clean inputs (x PCA)":
            lines.append(["", f"{ANCHOR}, published", *anchor_ratios(ks)])
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
    if conv is not None:
        results = conv["results"]
        image_shape = tuple(conv["conv"]["image_shape"])
        text += (
            f" *conv*: `image_shape={image_shape}`, at most "
            f"{results['budget_seconds']:.0f} s of training on "
            f"{results['hardware']['threads']} threads, "
            f"`{results.get('commands', [results['command']])[0]}` "
            f"({results['created'][:10]})."
            f" *published*: the errors {ANCHOR_SOURCE} report on the same "
            "test images, after 50 epochs on a GPU (their protocol: "
            "[docs/benchmarks.rst](docs/benchmarks.rst#convolutional-autoencoders))."
        )
    parts = [text, _table(["measure", "model", *(f"k={k}" for k in ks)], lines)]
    if figures:
        parts.append(f"![{FIGURE_NAMES[figure]}]({figures}{figure}.png)")
    return "\n\n".join(parts) + "\n"


# The first day whose runs ended training on a moving average of the weights
# (the autoencoders' `average_decay`, 0.99 by default); earlier runs ended on
# the last weights, as average_decay=0 does now.
AVERAGING_SINCE = "2026-12-08"


def _run_dates(value):
    """The dates (YYYY-MM-DD) of every run that a record, or its parts, name."""
    if isinstance(value, list):
        return {date for item in value for date in _run_dates(item)}
    if not isinstance(value, dict):
        return set()
    dates = {value["created"][:10]} if isinstance(value.get("created"), str) else set()
    return dates.union(*(_run_dates(item) for item in value.values()))


def averaging_note(records):
    """A sentence on the runs of `records` made before training ended on an
    average of the weights, or "" if there are none."""
    dates = sorted(
        date
        for date in set().union(*map(_run_dates, records))
        if date < AVERAGING_SINCE
    )
    if not dates:
        return ""
    if len(dates) == 1:
        runs = f"The run of {dates[0]} predates"
    else:
        runs = f"The runs of {', '.join(dates[:-1])} and {dates[-1]} predate"
    return (
        f"{runs} `average_decay`: its models ended training on the last weights, "
        "as `average_decay=0` does now."
    )


# Published anchors: the convolutional autoencoder of Parametric UMAP
# (Sainburg, McInnes and Gentner 2021, Neural Computation, their table of
# reconstruction errors) on the same 10,000 Fashion-MNIST test images, as the
# test MSE of pixels in [0, 1]: {k: (autoencoder, PCA)}. Their protocol
# differs from ours in ANCHOR_PROTOCOL.
ANCHOR_SOURCE = "Sainburg, McInnes and Gentner (2021)"
ANCHOR = "Parametric UMAP's conv AE"
ANCHOR_MSE = {2: (0.0244, 0.0461), 64: (0.00540, 0.01038)}
ANCHOR_PROTOCOL = (
    "trained on the first 50,000 training images (ours: all 60,000) for 50 "
    "epochs on a GPU (ours: at most 5 minutes on a CPU), by binary "
    "cross-entropy (ours: squared error), with two convolutions of 64 and 128 "
    "channels and a dense layer of 512 (ours: an MLP whose decoded images one "
    "convolution corrects); the same test images and metric. Their ratio is "
    "to their PCA's error, which matches ours."
)


def anchor_ratios(ks):
    """The anchor's error as a multiple of its PCA's, at each of `ks`."""
    return [
        f"{ANCHOR_MSE[k][0] / ANCHOR_MSE[k][1]:.2f}" if k in ANCHOR_MSE else ""
        for k in ks
    ]


# The headline's measures that the conv benchmark has: its model for each.
_HEADLINE_CONV = {
    "test error, clean inputs (x PCA)": ("conv", "Autoencoder, conv"),
    "test error, noisy inputs (x PCA)": ("conv_denoising", "Denoising, conv"),
    "LogReg accuracy on the codes": ("conv", "Autoencoder, conv"),
}


def _headline_conv_rows(conv, measure, ks, cell):
    """The conv benchmark's row for one of the headline's measures, if any."""
    if measure not in _HEADLINE_CONV:
        return []
    model, label = _HEADLINE_CONV[measure]
    rows = _conv_rows(conv)
    cells = [
        cell(rows[(model, k)], rows[("PCA", k)])
        if (model, k) in rows and ("PCA", k) in rows
        else ""
        for k in ks
    ]
    return [["", label, *cells]]


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


# -- the variational autoencoder (benchmarks/bench_variational.py) -------------

VARIATIONAL_SHORT = {
    "PCA": "PCA",
    "AutoencoderTransformer": "Autoencoder",
    "VariationalAutoencoder": "VAE (Gaussian)",
    "VariationalAutoencoder-bernoulli": "VAE (Bernoulli)",
}
# Captions; {k} is the code size of the VAE whose pictures are drawn.
VARIATIONAL_FIGURES = {
    "latent": "Codes of the test images at k=2, coloured by class",
    "samples": "Samples drawn from the Gaussian VAE at k={k}",
    "interpolation": "Interpolation between test images through the codes of the "
    "Gaussian VAE at k={k}",
}


def _nats(value):
    """A log-likelihood in nats per image, to one decimal."""
    return f"{value:.1f}"


def variational_table(record):
    """One row per code size and model: likelihoods, error, accuracy, time."""
    rows = _lookup(record)
    header = [
        "k",
        "model",
        "test ELBO",
        "test log-likelihood",
        "test MSE",
        "x PCA",
        "LogReg acc",
        "k-NN acc",
        "active dims",
        "fit (s wall / CPU)",
        "epochs",
    ]
    lines = []
    for k in record["settings"]["ks"]:
        pca = rows.get(("PCA", k))
        for model in record["settings"]["models"]:
            row = rows[(model, k)]
            # Bernoulli nats are those of another model of the data.
            mark = "†" if model.endswith("bernoulli") else ""
            if "elbo" in row:
                elbo = _nats(row["elbo"]) + mark
                likelihood = _nats(row["log_likelihood"]) + mark
            elif "log_likelihood" in row:
                elbo, likelihood = "", f"{_nats(row['log_likelihood'])} (exact)"
            else:
                elbo = likelihood = ""
            lines.append(
                [
                    k,
                    VARIATIONAL_SHORT[model],
                    elbo,
                    likelihood,
                    f"{row['mse']:.5f}",
                    f"{row['mse'] / pca['mse']:.2f}" if pca else "",
                    f"{row['logistic_accuracy']:.3f}",
                    f"{row['knn_accuracy']:.3f}",
                    f"{row['active_units']} of {k}",
                    f"{row['fit_time']:.0f} / {row['fit_cpu_time']:.0f}",
                    row.get("n_iter", ""),
                ]
            )
    return _table(header, lines)


def _variational_setting(record):
    """The data, the models and the epoch budget, in one sentence."""
    data = record["data"]
    settings = record["settings"]
    return (
        f"{NAMES.get(data['name'], data['name'])}: {data['n_train']:,} training and "
        f"{data['n_test']:,} test images of {data['n_features']} pixels in [0, 1]; "
        f"every model with its defaults and `max_iter={settings['max_iter']}`, "
        f"seed {record['seed']}; the variational autoencoder (VAE) with "
        '`likelihood="gaussian"` (its default) and `likelihood="bernoulli"`. '
        "Log-likelihoods are in nats per test image, higher is better: PCA's "
        "`score` is the exact log-likelihood of probabilistic PCA, the VAE's "
        "ELBO (`score`) a lower bound of its log-likelihood, and "
        f"`log_likelihood(X, n_importance={settings['n_importance']})` a "
        "tighter, importance-weighted estimate."
    )


def variational(record, figures=None):
    """The full section of the variational benchmark, for the docs.

    Parameters
    ----------
    record : dict
        A JSON record written by ``python -m benchmarks.bench_variational``.

    figures : str or None, default=None
        Path prefix of the PNGs to show (``<prefix><name>.png``), or None.
    """
    settings = record["settings"]
    rows = [r for r in record["results"] if "check" in r]
    hardware, versions = record["hardware"], record["versions"]
    packages = ", ".join(f"{name} {v}" for name, v in versions.items() if v)
    parts = [
        _variational_setting(record)
        + f" Fit times are wall and CPU seconds of a {hardware['threads']}-thread "
        f"run on {hardware['cpu']} ({hardware['cpu_count']} cores, load average "
        f"{hardware['load_average_at_start'][1]:.1f} at the start, "
        f"{hardware['load_average_at_end'][1]:.1f} at the end); total "
        f"{record['total_time'] / 60:.1f} min wall. {packages}. Run of "
        f"{record['created']}: `{record['command']}`.",
        variational_table(record),
    ]
    notes = [
        "MSE: of `inverse_transform(transform(X_test))`, the VAE's from the "
        "posterior mean; x PCA: as a multiple of PCA's at the same k. "
        f"LogReg: {settings['logistic']}; k-NN: {settings['knn']}; for the VAE, "
        "on the posterior means. Active dims: code dimensions whose value varies "
        f"over the test images (variance above {settings['active_threshold']}); "
        "the others carry no information (posterior collapse)."
    ]
    if any(r["model"].endswith("bernoulli") for r in rows):
        notes.append(
            "† Nats of a Bernoulli model of the grey levels: a different model "
            "of the data, not comparable with the Gaussian log-likelihoods."
        )
    if rows:
        check = rows[0]["check"]
        gains = [
            r["check"]["log_likelihood"] - r["check"]["log_likelihood_at_n_importance"]
            for r in rows
        ]
        notes.append(
            f"With {check['n_importance']} importance samples instead of "
            f"{settings['n_importance']}, on the first {check['rows']:,} test "
            f"images, the estimate of the log-likelihood rises by "
            f"{_range(gains, '{:.1f}')} nats; the ELBO lies "
            f"{_range([r['log_likelihood'] - r['elbo'] for r in rows], '{:.1f}')} "
            "nats below the estimate."
        )
    found = sorted({w for r in record["results"] for w in r.get("warnings", [])})
    parts.append(" ".join(notes))
    if found:
        parts.append(
            "Warnings raised by the fits:\n\n" + "\n".join(f"- {w}" for w in found)
        )
    if figures:
        parts.append(
            "\n".join(
                f"![{alt.format(k=settings['sample_k'])}]({figures}{name}.png)"
                for name, alt in VARIATIONAL_FIGURES.items()
            )
        )
    return "\n\n".join(parts) + "\n"


# -- serving with onnxruntime (benchmarks/bench_onnx.py) ------------------------

ONNX_METHODS = {
    "onnxruntime": "onnxruntime (exported model)",
    "skae": "skae `transform`",
    "PCA": "`PCA.transform`",
}


def onnx_serving(record):
    """Latency and throughput of encoding with onnxruntime, skae and PCA.

    Parameters
    ----------
    record : dict
        A JSON record written by ``python -m benchmarks.bench_onnx``.
    """
    data, hardware, model = record["data"], record["hardware"], record["model"]
    name = "Fashion-MNIST" if data["name"] == "fashion_mnist" else data["name"]
    hidden = ", ".join(str(size) for size in model["hidden_layer_sizes"])
    text = (
        f"Encoding {data['n_rows']:,} {name} test images ({data['n_features']} "
        f"features, {data['dtype']}) with `{model['estimator']}` (default network: "
        f"hidden layers ({hidden}), {model['activation']}), exported with "
        "`skl2onnx.to_onnx`, on "
        f"{hardware['cpu']} ({hardware['cpu_count']} cores, load average "
        f"{hardware['load_average_at_start'][0]:.1f} at the start: a shared "
        "machine). Latency: median time "
        "of a call on one row; throughput: rows per second of one call on all "
        f"rows; medians of {record['settings']['repeats']} interleaved repeats. "
        "onnxruntime's codes equal `transform`'s within "
        f"{record['max_relative_difference']:.0e} of their largest value. "
        f"Run of {record['created'][:10]}: `{record['command']}`."
    )
    rows = {(row["threads"], row["method"]): row for row in record["results"]}
    lines = []
    for threads in sorted({row["threads"] for row in record["results"]}):
        skae_latency = rows[(threads, "skae")]["latency_seconds"]
        for method, label in ONNX_METHODS.items():
            row = rows[(threads, method)]
            lines.append(
                [
                    threads,
                    label,
                    f"{1e6 * row['latency_seconds']:,.0f}",
                    f"{skae_latency / row['latency_seconds']:.1f}x",
                    f"{row['throughput_rows_per_second']:,.0f}",
                ]
            )
    header = [
        "threads",
        "method",
        "latency, 1 row (µs)",
        "speed-up of latency (x skae)",
        f"throughput, {data['n_rows']:,} rows (rows/s)",
    ]
    return text + "\n\n" + _table(header, lines) + "\n"


# -- convolutional autoencoders (benchmarks/bench_conv.py) ---------------------

# The goals of the issue "Convolutional autoencoders for images, for every
# kind": ratio of the test MSE to PCA's at these k, and the margins over the
# MLP.
CONV_GOAL_RATIOS = {8: 0.45, 32: 0.40}
CONV_GOAL_MLP_TOLERANCE = 0.05
CONV_GOAL_PSNR_GAIN_DB = 1.0
CONV_GOAL_FIT_VS_TORCH = 0.9
CONV_NAMES = {
    "conv": "conv",
    "conv_denoising": "conv denoising",
    "mlp": "MLP",
    "mlp_denoising": "MLP denoising",
}


def _conv_rows(record):
    """``{(model, k): row}`` of a conv record's results."""
    return {(r["model"], r["k"]): r for r in record["results"]["rows"]}


def _conv_setting(record):
    """One paragraph: data, budget, network, where the MLP rows come from."""
    results = record["results"]
    data, conv = results["data"], record["conv"]
    hardware = results["hardware"]
    loads = [row["load_average"][0] for row in results["rows"] if "load_average" in row]
    commands = "; ".join(
        f"`{c}`" for c in results.get("commands", [results["command"]])
    )
    params = ", ".join(
        f"`{key}={tuple(v) if isinstance(v, list) else v!r}`" for key, v in conv.items()
    )
    schedule = (
        "a cosine learning rate fitted to the budget"
        if record["cosine"]
        else ("a constant learning rate")
    )
    return (
        f"Fashion-MNIST: {data['n_train']:,} training and {data['n_test']:,} test "
        f"images in [0, 1]. Each autoencoder trains until "
        f"{results['budget_seconds']:.0f} s of wall time are spent "
        f"(`skae.callbacks.TimeBudget`, passed as `callbacks`), with "
        f"{schedule}; the convolutional ones with {params}, `max_iter=1000` "
        f"and `tol=0` (so that the budget ends training), every other "
        f"parameter at its default; PCA at the same k in the same run. MLP rows: "
        f"{results['mlp_source']}. Run of {results['created'][:10]} on "
        f"{hardware['threads']} thread(s) of a {hardware['cpu_count']}-core "
        f"{hardware['cpu']} shared with other jobs (load average {min(loads)} to "
        f"{max(loads)} when the fits started): {commands}."
    )


def conv_summary(record):
    """The README's compact table: conv against the MLP and PCA at each k."""
    if "results" not in record:
        return conv_probes(record)
    rows = _conv_rows(record)
    ks = record["results"]["ks"]

    def cells(model, cell):
        return [
            cell(rows[(model, k)], rows[("PCA", k)]) if (model, k) in rows else ""
            for k in ks
        ]

    def ratio(row, pca):
        return f"{row['mse'] / pca['mse']:.2f}"

    lines = [
        ["test error (x PCA)", "conv", *cells("conv", ratio)],
        ["", "MLP", *cells("mlp", ratio)],
        ["", f"{ANCHOR}, published", *anchor_ratios(ks)],
        [
            "noisy-input PSNR (dB)",
            "conv denoising",
            *cells("conv_denoising", lambda r, p: f"{r['psnr_noisy']:.2f}"),
        ],
        [
            "",
            "MLP denoising",
            *cells("mlp_denoising", lambda r, p: f"{r['psnr_noisy']:.2f}"),
        ],
        ["", "PCA", *cells("PCA", lambda r, p: f"{r['psnr_noisy']:.2f}")],
        [
            "LogReg accuracy on the codes",
            "conv",
            *cells("conv", lambda r, p: f"{r['logistic_accuracy']:.3f}"),
        ],
        ["", "MLP", *cells("mlp", lambda r, p: f"{r['logistic_accuracy']:.3f}")],
        ["", "PCA", *cells("PCA", lambda r, p: f"{r['logistic_accuracy']:.3f}")],
        [
            "epochs in the budget",
            "conv",
            *cells("conv", lambda r, p: str(r.get("n_iter", ""))),
        ],
    ]
    anchored = [k for k in ks if k in ANCHOR_MSE]
    lines += [
        [
            "test MSE",
            "conv",
            *cells("conv", lambda r, p: f"{r['mse']:.5f}"),
        ],
        ["", "PCA", *cells("PCA", lambda r, p: f"{r['mse']:.5f}")],
        [
            "",
            f"{ANCHOR}, published",
            *(f"{ANCHOR_MSE[k][0]:.5f}" if k in anchored else "" for k in ks),
        ],
        [
            "",
            "their PCA, published",
            *(f"{ANCHOR_MSE[k][1]:.5f}" if k in anchored else "" for k in ks),
        ],
    ]
    table = _table(["measure", "model", *(f"k={k}" for k in ks)], lines)
    anchor = f"{ANCHOR} ({ANCHOR_SOURCE}): published errors, {ANCHOR_PROTOCOL}"
    return _conv_setting(record) + " " + anchor + "\n\n" + table + "\n"


def conv_goals(record):
    """The issue's goals for the convolutional network, each with its numbers."""
    rows = _conv_rows(record)
    ks = [k for k in record["results"]["ks"] if ("conv", k) in rows]
    ratio = {
        (model, k): rows[(model, k)]["mse"] / rows[("PCA", k)]["mse"]
        for (model, k) in rows
        if ("PCA", k) in rows
    }
    lines = []
    for k, limit in CONV_GOAL_RATIOS.items():
        if ("conv", k) in ratio:
            value = ratio[("conv", k)]
            lines.append(
                [
                    f"conv MSE <= {limit}x PCA's at k={k}",
                    f"{value:.3f}x",
                    _check(value <= limit),
                ]
            )
    compared = [k for k in ks if ("mlp", k) in ratio]
    if compared:
        above = [k for k in compared if k >= 16]
        below = [k for k in compared if k < 16]
        detail = ", ".join(
            f"k={k}: {ratio[('conv', k)]:.3f} vs {ratio[('mlp', k)]:.3f}" for k in above
        )
        lines.append(
            [
                "conv ratio < MLP's at every k >= 16",
                detail,
                _check(all(ratio[("conv", k)] < ratio[("mlp", k)] for k in above)),
            ]
        )
        tolerance = 1 + CONV_GOAL_MLP_TOLERANCE
        detail = ", ".join(
            f"k={k}: {ratio[('conv', k)] / ratio[('mlp', k)]:.3f}x MLP's" for k in below
        )
        lines.append(
            [
                f"conv ratio within {CONV_GOAL_MLP_TOLERANCE:.0%} of MLP's below k=16",
                detail,
                _check(
                    all(
                        ratio[("conv", k)] <= tolerance * ratio[("mlp", k)]
                        for k in below
                    )
                ),
            ]
        )
    anchored = [k for k in ks if k in ANCHOR_MSE]
    if anchored:
        lines.append(
            [
                f"conv test MSE below {ANCHOR}",
                ", ".join(
                    f"k={k}: {rows[('conv', k)]['mse']:.5f} vs {ANCHOR_MSE[k][0]:.5f}"
                    for k in anchored
                ),
                _check(
                    all(rows[("conv", k)]["mse"] < ANCHOR_MSE[k][0] for k in anchored)
                ),
            ]
        )
    detail = ", ".join(f"k={k}: {ratio[('conv', k)]:.3f}" for k in ks)
    lines.append(
        [
            "conv MSE <= PCA's at every k",
            detail,
            _check(all(ratio[("conv", k)] <= 1 for k in ks)),
        ]
    )
    denoised = [
        k for k in ks if ("conv_denoising", k) in rows and ("mlp_denoising", k) in rows
    ]
    if denoised:
        gains = {
            k: rows[("conv_denoising", k)]["psnr_noisy"]
            - rows[("mlp_denoising", k)]["psnr_noisy"]
            for k in denoised
        }
        lines.append(
            [
                f"denoising PSNR >= MLP denoiser's + {CONV_GOAL_PSNR_GAIN_DB} dB",
                ", ".join(f"k={k}: {g:+.2f} dB" for k, g in gains.items()),
                _check(all(g >= CONV_GOAL_PSNR_GAIN_DB for g in gains.values())),
            ]
        )
    small = [k for k in compared if k <= 32]
    if small:
        gaps = {
            k: rows[("conv", k)]["logistic_accuracy"]
            - rows[("mlp", k)]["logistic_accuracy"]
            for k in small
        }
        lines.append(
            [
                "conv LogReg accuracy >= MLP's at k <= 32 (points)",
                ", ".join(f"k={k}: {100 * g:+.1f}" for k, g in gaps.items()),
                _check(all(g >= 0 for g in gaps.values())),
            ]
        )
    speed = record.get("speed")
    if speed:
        # Throughput is images trained per second: the epochs, which both
        # run. The whole fit also validates, starts from PCA and measures the
        # final training error, which the loop does not do; shown beside.
        value = speed["epoch_ratio_skae_vs_torch"]
        lines.append(
            [
                f"training throughput >= {CONV_GOAL_FIT_VS_TORCH}x a torch loop",
                f"{value:.2f}x (the whole `fit`, with its PCA start and final "
                f"error pass: {speed['fit_ratio_skae_vs_torch']:.2f}x)",
                _check(value >= CONV_GOAL_FIT_VS_TORCH),
            ]
        )
    return _table(["goal", "measured", "verdict"], lines)


def conv_speed(record):
    """One sentence: fit against the torch loop, transform against PCA."""
    speed = record.get("speed")
    if not speed:
        return ""
    rate = speed["samples_per_second"]
    transform = speed["transform_median_seconds"]
    return (
        f"Speed (k={speed['k']}, {speed['n_rows']:,} rows, {speed['epochs']} "
        f"epochs, batch {speed['batch_size']}, medians of {speed['repeats']} "
        f"interleaved repeats): skae fits {rate['skae']:,.0f} images/s, the "
        f"hand-written torch loop on the same module {rate['torch']:,.0f} "
        f"({speed['fit_ratio_skae_vs_torch']:.2f}x for the whole `fit`, "
        f"{speed['epoch_ratio_skae_vs_torch']:.2f}x for its training epochs "
        "alone); the loop's epochs took "
        f"{speed['channels_last_speedup']:.2f}x as long with the kernels in "
        "PyTorch's default layout as with the channels-last ones skae stores; "
        "`transform` of "
        f"{speed['transform_rows']:,} images takes "
        f"{1000 * transform['skae']:.0f} ms, `PCA.transform` "
        f"{1000 * transform['pca']:.1f} ms."
    )


def conv_probes(record):
    """The design probes: each choice's ratio to PCA, epochs and fit time."""
    probes = record.get("probes")
    if not probes:
        return ""
    ks = sorted({row["k"] for row in probes["rows"]})
    by_name = {}
    for row in probes["rows"]:
        by_name.setdefault(row["name"], {})[row["k"]] = row
    lines = [
        [
            name,
            *(
                f"{cells[k]['ratio']:.3f} ({cells[k]['epochs']})" if k in cells else ""
                for k in ks
            ),
        ]
        for name, cells in by_name.items()
    ]
    loads = [row["load_average"][0] for row in probes["rows"]]
    text = (
        f"Design probes: {probes['n_train']:,} training rows, "
        f"{probes['budget_seconds']:.0f} s budget each, test MSE as a multiple of "
        f"PCA's (epochs in the budget); each row changes one thing from the first. "
        f"The machine was shared (load average {min(loads)} to {max(loads)} on "
        f"{probes['hardware']['cpu_count']} cores, {probes['hardware']['threads']} "
        "thread here), so the epochs a budget holds vary with the load. "
        f"Run of {probes['created'][:10]}: `{probes['command']}`."
    )
    header = ["configuration", *(f"k={k}" for k in ks)]
    return text + "\n\n" + _table(header, lines) + "\n"


def conv(record, figures=None):
    """The full conv section: summary table, goals, speed, figures and probes.

    `figures` is the path prefix of the PNGs that ``python -m
    benchmarks.bench_conv --figures`` draws, or None for none.
    """
    parts = [conv_summary(record)] if "results" in record else []
    if "results" in record:
        parts.append(conv_goals(record))
    parts.append(conv_speed(record))
    if figures and "results" in record:
        k = record["results"]["images"]["k"]
        parts.append(
            f"![Reconstructions at k={k}: PCA, MLP, conv]"
            f"({figures}reconstructions.png)\n"
            f"![Denoised at k={k}: PCA, MLP and conv denoisers]"
            f"({figures}denoising.png)"
        )
    parts.append(conv_probes(record))
    return "\n\n".join(part.rstrip() for part in parts if part) + "\n"


# -- imputation (benchmarks/bench_impute.py) ----------------------------------

IMPUTE_SHORT = {
    "SimpleImputer": "mean",
    "KNNImputer": "KNN",
    "IterativeImputer": "Iterative",
    "AutoencoderImputer": "skae",
}
IMPUTE_NAMES = {
    "digits": "digits",
    "fashion_mnist": "Fashion-MNIST",
    "breast_cancer": "breast cancer",
    "wine": "wine",
    "diabetes": "diabetes",
}


def _impute_rows(record):
    """``{(dataset, rate, imputer): row}`` of an imputation record."""
    return {(r["dataset"], r["rate"], r["imputer"]): r for r in record["results"]}


def _impute_pairs(record):
    """The (dataset, rate) pairs of the record, in order."""
    return list(dict.fromkeys((r["dataset"], r["rate"]) for r in record["results"]))


def _impute_setting(record):
    """What the imputation benchmark did, in one paragraph."""
    settings = record["settings"]
    skae = ", ".join(
        f"{key}={value!r}" for key, value in settings["skae"]["params"].items()
    )
    images = ", ".join(
        f"{key}={tuple(value) if isinstance(value, list) else value!r}"
        for key, value in settings["skae"]["image_params"].items()
    )
    shapes = settings["skae"].get("image_shapes", {})
    images = f"`{images}`"
    if shapes:
        images += " and `image_shape` " + " or ".join(
            f"{tuple(shape)} ({IMPUTE_NAMES.get(name, name)})"
            for name, shape in shapes.items()
        )
    described = []
    for name, data in record["datasets"].items():
        repeats = data.get("repeats", 1)
        described.append(
            f"{IMPUTE_NAMES.get(name, name)} ({data['n_train']:,} + "
            f"{data['n_test']:,} rows, {data['n_features']} features"
            + (f", mean of {repeats} splits and masks" if repeats > 1 else "")
            + ")"
        )
    wide = ", ".join(
        f"{key}={value}" for key, value in settings["iterative"]["wide"].items()
    )
    return (
        "Entries removed completely at random from a training and a held-out "
        f"table: {'; '.join(described)}. RMSE over the removed entries of both "
        "tables (the training table filled by `fit_transform`, the held-out one "
        "by `transform`), in the data's own units (pixels in [0, 1]). skae: "
        f"`AutoencoderImputer({skae})`, plus {images} on images; the others "
        "with their defaults, but `IterativeImputer"
        f"({wide})` on Fashion-MNIST's 784 pixels. Fit: wall seconds of "
        f"`fit_transform` on one thread. Run of {record['created'][:10]}: "
        f"`{record['command']}`."
    )


def _impute_goals(record):
    """The issue's goals, checked against the numbers: ``[goal, detail, ok]``."""
    rows = _impute_rows(record)
    kinds = {name: data["kind"] for name, data in record["datasets"].items()}
    images, tables = [], []
    for dataset, rate in _impute_pairs(record):
        skae = rows[(dataset, rate, "AutoencoderImputer")]["rmse"]
        if kinds[dataset] == "images":
            others = [
                rows[(dataset, rate, name)]["rmse"]
                for name in IMPUTE_SHORT
                if name != "AutoencoderImputer"
            ]
            images.append((dataset, rate, skae / min(others)))
        else:
            iterative = rows[(dataset, rate, "IterativeImputer")]["rmse"]
            tables.append((dataset, rate, skae / iterative))
    lines = []
    for goal, found in [
        ("skae's RMSE lowest of the four on images, at every rate", images),
        ("skae's RMSE <= IterativeImputer's on tables, at every rate", tables),
    ]:
        if not found:
            continue
        detail = "; ".join(
            f"{IMPUTE_NAMES.get(d, d)} {rate:.0%}: {ratio:.2f}x"
            for d, rate, ratio in found
        )
        met = sum(ratio <= 1 for _, _, ratio in found)
        verdict = f"{_check(met == len(found))} ({met}/{len(found)})"
        lines.append([goal, detail, verdict])
    return lines


def impute(record):
    """The full imputation section, for the docs: every measure, the goals,
    the sweep of skae's settings and the warnings.

    Parameters
    ----------
    record : dict
        A JSON record written by ``python -m benchmarks.bench_impute``.
    """
    rows = _impute_rows(record)
    hardware, versions = record["hardware"], record["versions"]
    packages = ", ".join(f"{name} {v}" for name, v in versions.items() if v)
    lines = []
    for dataset, rate in _impute_pairs(record):
        complete = rows.get((dataset, rate, "complete data"))
        for name, short in IMPUTE_SHORT.items():
            row = rows[(dataset, rate, name)]
            lines.append(
                [
                    IMPUTE_NAMES.get(dataset, dataset),
                    f"{rate:.0%}",
                    short,
                    f"{row['rmse']:.4g}",
                    f"{row['rmse_train']:.4g}",
                    f"{row['rmse_test']:.4g}",
                    f"{row['rmse_standardised']:.3f}",
                    f"{row['accuracy']:.3f}",
                    f"{row['fit_time']:.1f}",
                    f"{row['n_iter']:.0f}" if "n_iter" in row else "",
                ]
            )
        if complete:
            lines.append(
                [
                    IMPUTE_NAMES.get(dataset, dataset),
                    f"{rate:.0%}",
                    "complete data",
                    "",
                    "",
                    "",
                    "",
                    f"{complete['accuracy']:.3f}",
                    "",
                    "",
                ]
            )
    header = [
        "dataset",
        "removed",
        "imputer",
        "RMSE",
        "RMSE, training table",
        "RMSE, held-out table",
        "RMSE (sd units)",
        "accuracy",
        "fit (s)",
        "epochs",
    ]
    settings = record["settings"]
    parts = [
        _impute_setting(record)
        + f" Hardware: {hardware['cpu']} ({hardware['cpu_count']} cores), "
        f"{hardware['threads']} thread(s); total "
        f"{record['total_cpu_time'] / 60:.1f} CPU min "
        f"({record['total_time'] / 60:.1f} min wall). {packages}.",
        _table(header, lines),
        f"RMSE (sd units): in units of each feature's standard deviation, so "
        f"that every feature counts alike. Accuracy: {settings['classifier']}; "
        "complete data: the same classifier on the tables without holes. "
        "Epochs: skae's, including the patience of early stopping (the weights "
        "kept are the best epoch's).",
    ]
    goals = _impute_goals(record)
    if goals:
        header = ["goal", "skae's RMSE / the best other's", "verdict"]
        parts.append(_table(header, goals))
    if record.get("sweep"):
        sweep = [
            [
                IMPUTE_NAMES.get(row["dataset"], row["dataset"]),
                f"{row['rate']:.0%}",
                row["setting"],
                f"{row['rmse']:.4g}",
                f"{row['rmse_standardised']:.3f}",
                f"{row['fit_time']:.1f}",
                f"{row['n_iter']:.0f}",
            ]
            for row in record["sweep"]
        ]
        parts.append(
            "skae's settings tried beside the comparison's: each row changes "
            "the named parameters of the comparison's setting, or, after "
            "*defaults*, of skae's defaults (no early stopping), on the same "
            "tables:\n\n"
            + _table(
                [
                    "dataset",
                    "removed",
                    "setting",
                    "RMSE",
                    "RMSE (sd units)",
                    "fit (s)",
                    "epochs",
                ],
                sweep,
            )
        )
    found = sorted({w for r in record["results"] for w in r.get("warnings", [])})
    if found:
        parts.append(
            "Warnings raised by the fits:\n\n" + "\n".join(f"- {w}" for w in found)
        )
    return "\n\n".join(parts) + "\n"


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
