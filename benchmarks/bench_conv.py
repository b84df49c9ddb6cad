"""Convolutional autoencoders on Fashion-MNIST under a wall-time budget.

Every autoencoder trains until a wall-clock budget is spent (5 minutes by
default), not for a number of epochs: on a CPU the budget, not the network,
limits how far a convolutional network gets, so the comparison is the one a
user with that budget makes. The budget is a skorch callback passed through
the estimators' public ``callbacks`` parameter (:class:`skae.callbacks.TimeBudget`): it
ends training, as Ctrl-C does, when the next epoch would overrun, and can
anneal the learning rate on a cosine over the epochs the budget is expected
to hold.

The split follows the house style: :func:`make_data` (``compare.make_data``:
Fashion-MNIST, pixels in [0, 1], the official 60k / 10k split, the noisy test
images), :func:`make_estimator` (PCA, or a convolutional / MLP autoencoder
with the budget), :func:`score` (``compare.score``: test MSE, LogReg and k-NN
accuracy, noisy PSNR, wall and CPU time) and :func:`run`. Three parts, each
stored under its own key of the JSON record:

- ``probes``: the design choices behind the convolutional defaults
  (channels, activation, learning rate and schedule, batch size, ``init``),
  each on a shorter budget and fewer rows, at k=8 and k=32;
- ``results``: PCA, the convolutional ``AutoencoderTransformer`` and
  ``DenoisingAutoencoder`` at each k, under the full budget. The MLP rows
  compared against come from a run made the same way when ``--mlp`` is given,
  otherwise from the committed ``docs/results/fashion_mnist.json``
  (recorded as such under ``mlp_source``);
- ``speed``: skae's fit against a hand-written torch loop training the same
  convolutional module (taken from a fitted estimator's ``module_``, as
  ``bench_speed.py`` does) with the same Adam, batch size and data,
  interleaved in one process; and ``transform`` of the 10,000 test images
  beside ``PCA.transform``.

Usage::

    python -m benchmarks.bench_conv --part probes       # design probes
    python -m benchmarks.bench_conv --part results      # the 5-minute runs
    python -m benchmarks.bench_conv --part speed
    python -m benchmarks.bench_conv --quick             # smoke run, seconds
    python -m benchmarks.bench_conv --table docs/results/conv.json
    python -m benchmarks.bench_conv --figures docs/results/conv.json  # PNGs

``--docs`` writes ``docs/results/conv.json``; a part run alone keeps the
others already in the output file.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import copy
import json
import statistics
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.decomposition import PCA
from sklearn.exceptions import ConvergenceWarning

import skae
from benchmarks import compare, report
from benchmarks.provenance import load_average, record_header
from skae.callbacks import TimeBudget

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "results" / "conv.json"
MLP_RECORD = ROOT / "docs" / "results" / "fashion_mnist.json"
SEED = 0
KS = (2, 8, 16, 32, 64)
IMAGE_SHAPE = (28, 28)

# The convolutional settings the benchmark uses, chosen by the probes (see
# the ``probes`` part of docs/results/conv.json); everything else is a default.
CONV = {
    "image_shape": IMAGE_SHAPE,
    "conv_channels": (32,),
    "learning_rate_init": 2e-3,
}
COSINE = True

# Design probes: (name, estimator parameters over PROBE_BASE, cosine
# schedule); each changes one thing from the first. The learning rate and
# its cosine schedule were chosen by the probes of the earlier design (a
# convolutional encoder and decoder; see the git history of conv.json).
PROBE_BASE = {"conv_channels": (32,), "learning_rate_init": 2e-3}
PROBES = [
    ("channels (32,), lr 2e-3, cosine", {}, True),
    ("no convolutions (the MLP alone)", {"image_shape": None}, True),
    ("channels (16,)", {"conv_channels": (16,)}, True),
    ("channels (64,)", {"conv_channels": (64,)}, True),
    ("channels (16, 32)", {"conv_channels": (16, 32)}, True),
    ("hidden layers (1024, 512)", {"hidden_layer_sizes": (1024, 512)}, True),
    ("lr 3e-3", {"learning_rate_init": 3e-3}, True),
    ("batch size 128", {"batch_size": 128}, True),
    ("batch size 512, lr 3e-3", {"batch_size": 512, "learning_rate_init": 3e-3}, True),
    ("init='random'", {"init": "random"}, True),
]
PROBE_KS = (8, 32)
PROBE_ROWS = 20_000
PROBE_BUDGET = 45.0

# Speed part: rows, epochs and timed repeats of each method.
SPEED_ROWS, SPEED_EPOCHS, SPEED_REPEATS = 20_000, 5, 3


def make_data(*, quick=False, n_train=None, random_state=SEED):
    """Fashion-MNIST as ``compare.make_data`` gives it, optionally fewer rows."""
    data = compare.make_data("fashion_mnist", quick=quick, random_state=random_state)
    if n_train is not None and n_train < len(data["X_train"]):
        data["X_train"] = data["X_train"][:n_train]
        data["y_train"] = data["y_train"][:n_train]
        data["description"]["n_train"] = n_train
        data["description"]["split"] += f"; first {n_train} training rows"
    return data


def make_estimator(model, n_components, *, budget, cosine=COSINE, params=None):
    """PCA or an autoencoder that trains until `budget` seconds are spent.

    Parameters
    ----------
    model : {"PCA", "conv", "conv_denoising", "mlp", "mlp_denoising"}
        Which model: the ``conv`` ones have ``CONV`` (updated by `params`),
        the ``mlp`` ones the defaults.

    n_components : int
        Code size.

    budget : float
        Wall-clock seconds of training.

    cosine : bool, default=COSINE
        Whether the learning rate follows a cosine over the budget.

    params : dict or None, default=None
        Parameters over ``CONV``, for the probes.

    Returns
    -------
    estimator : unfitted estimator
    """
    if model == "PCA":
        return PCA(n_components, random_state=SEED)
    Estimator = (
        skae.DenoisingAutoencoder
        if model.endswith("denoising")
        else skae.AutoencoderTransformer
    )
    network = {**CONV, **(params or {})} if model.startswith("conv") else {}
    return Estimator(
        n_components,
        **network,
        # The budget ends training: max_iter is only a bound it never reaches,
        # and tol=0 stops only a run that no longer improves at all.
        max_iter=1000,
        tol=0.0,
        early_stopping=False,  # every row trains for the whole budget
        callbacks=[("budget", TimeBudget(budget, cosine=cosine))],
        random_state=SEED,
    )


def score(estimator, data):
    """``compare.score`` (fit, MSE, LogReg / k-NN accuracy, noisy PSNR, times)."""
    return compare.score(estimator, data, random_state=SEED)


def _pca_mse(data, k):
    """Test MSE of PCA with `k` components fitted on the training rows."""
    pca = PCA(k, random_state=SEED).fit(data["X_train"])
    X_test = data["X_test"]
    return float(np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2))


def run_probes(*, quick=False, budget=PROBE_BUDGET, ks=PROBE_KS, log=print):
    """Fit every probe at each k on `PROBE_ROWS` rows; return their records."""
    n_train = 2_000 if quick else PROBE_ROWS
    data = make_data(quick=quick, n_train=n_train)
    probes = PROBES[:2] if quick else PROBES
    rows = []
    for k in ks:
        pca_mse = _pca_mse(data, k)
        for name, params, cosine in probes:
            estimator = make_estimator(
                "conv", k, budget=budget, cosine=cosine, params=PROBE_BASE | params
            )
            load = load_average()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                _, wall, cpu = compare._timed(estimator.fit, data["X_train"])
            X_test = data["X_test"]
            mse = float(
                np.mean(
                    (estimator.inverse_transform(estimator.transform(X_test)) - X_test)
                    ** 2
                )
            )
            row = {
                "name": name,
                "k": k,
                "params": {
                    key: list(v) if isinstance(v, tuple) else v
                    for key, v in params.items()
                },
                "cosine": cosine,
                "mse": mse,
                "ratio": mse / pca_mse,
                "epochs": int(estimator.n_iter_),
                "fit_time": wall,
                "fit_cpu_time": cpu,
                "load_average": load,
            }
            rows.append(row)
            log(
                f"probe k={k:<3d} {name:<36s} ratio={row['ratio']:.3f} "
                f"epochs={row['epochs']} fit={wall:.0f}s (cpu {cpu:.0f}s) "
                f"load={load[0]}"
            )
    return {
        "budget_seconds": budget,
        "n_train": n_train,
        "n_test": len(data["X_test"]),
        "base": {
            key: list(v) if isinstance(v, tuple) else v
            for key, v in (CONV | PROBE_BASE).items()
        },
        "rows": rows,
    }


def _mlp_rows(mlp_record):
    """The MLP rows of a committed compare run, renamed as this benchmark's."""
    names = {"AutoencoderTransformer": "mlp", "DenoisingAutoencoder": "mlp_denoising"}
    rows = []
    for row in mlp_record["results"]:
        if row["model"] in names:
            keep = (
                "k",
                "mse",
                "psnr_noisy",
                "mse_noisy",
                "logistic_accuracy",
                "knn_accuracy",
                "n_iter",
                "fit_time",
                "fit_cpu_time",
                "transform_time",
            )
            rows.append(
                {"model": names[row["model"]]}
                | {key: row[key] for key in keep if key in row}
            )
    return rows


MODELS = ("PCA", "conv", "conv_denoising")
MLP_MODELS = ("mlp", "mlp_denoising")
BUDGET_MLP_SOURCE = "this run: MLP defaults under the same budget"


def run_results(
    *, quick=False, budget=300.0, ks=KS, models=MODELS, mlp=False, log=print
):
    """PCA and the convolutional autoencoders (and the MLPs) at each k."""
    data = make_data(quick=quick)
    models = list(models)
    if mlp:
        models += MLP_MODELS
    shown = compare._sample_indices(data["y_test"], compare.N_IMAGES)
    # Images are kept at k=8 only, so that runs of other k merge with it.
    plot_k = 8
    images = {
        "k": plot_k,
        "indices": shown,
        "original": compare._to_images(data["X_test"][shown], IMAGE_SHAPE),
        "noisy": compare._to_images(data["X_test_noisy"][shown], IMAGE_SHAPE),
        "reconstructed": {},
        "denoised": {},
    }
    rows = []
    for k in ks:
        for model in models:
            estimator = make_estimator(model, k, budget=budget)
            load = load_average()
            scores = score(estimator, data)
            arrays = scores.pop("arrays")
            scores.pop("activation_density")
            rows.append({"model": model, "k": k, **scores, "load_average": load})
            if k == plot_k:
                for key in ("reconstructed", "denoised"):
                    images[key][model] = compare._to_images(
                        arrays[key][shown], IMAGE_SHAPE
                    )
            log(
                f"k={k:<3d} {model:<15s} mse={scores['mse']:.5f} "
                f"logistic={scores['logistic_accuracy']:.3f} "
                f"psnr_noisy={scores['psnr_noisy']:.2f} "
                f"fit={scores['fit_time']:.0f}s (cpu {scores['fit_cpu_time']:.0f}s) "
                f"epochs={scores.get('n_iter', '-')} load={load[0]}"
            )
    if mlp:
        mlp_source = BUDGET_MLP_SOURCE
    else:
        # The committed MLP run: same data, split, noise and measures, but 35
        # epochs (about 2 to 3 minutes on 2 idle cores) rather than a budget.
        committed = json.loads(MLP_RECORD.read_text())
        rows += [row for row in _mlp_rows(committed) if row["k"] in ks]
        mlp_source = (
            "docs/results/fashion_mnist.json (committed compare run, MLP defaults, "
            f"max_iter={committed['settings']['max_iter']} epochs, "
            f"threads={committed['hardware']['threads']}, created "
            f"{committed['created']}); not a budget run"
        )
        images_mlp = committed["images"]
        if images_mlp["k"] == plot_k and images_mlp["indices"] == shown:
            for key in ("reconstructed", "denoised"):
                images[key]["mlp"] = images_mlp[key]["AutoencoderTransformer"]
                images[key]["mlp_denoising"] = images_mlp[key]["DenoisingAutoencoder"]
    return {
        "budget_seconds": budget,
        "ks": list(ks),
        "models": [*MODELS, *MLP_MODELS],
        "mlp_source": mlp_source,
        "data": data["description"],
        "rows": rows,
        "images": images,
    }


def _raw_module(estimator, X):
    """A fresh copy of the torch module `estimator` trains, from its ``module_``."""
    fitted = copy.deepcopy(estimator).set_params(max_iter=1, callbacks=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted.fit(X[:64])
    module = copy.deepcopy(fitted.module_).train()
    torch.manual_seed(SEED)
    for layer in module.modules():
        if hasattr(layer, "reset_parameters"):
            layer.reset_parameters()
    return module


def fit_torch(module, X, *, epochs, batch_size, lr):
    """The reference: train `module` with a hand-written loop and skae's Adam.

    Returns the seconds of each epoch.
    """
    optimizer = torch.optim.Adam(module.parameters(), lr=lr, fused=True)
    criterion = torch.nn.MSELoss()
    seconds = []
    for _ in range(epochs):
        began = time.perf_counter()
        order = torch.randperm(len(X))
        for start in range(0, len(X), batch_size):
            batch = X[order[start : start + batch_size]]
            optimizer.zero_grad()
            loss = criterion(module(batch)[0], batch)
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - began)
    return seconds


def run_speed(*, quick=False, k=32, log=print):
    """skae's fit against the torch loop; transform against PCA's."""
    data = make_data(quick=quick)
    n_rows = 2_000 if quick else SPEED_ROWS
    X = np.ascontiguousarray(data["X_train"][:n_rows])
    X_tensor = torch.from_numpy(X)
    epochs, repeats = (1, 1) if quick else (SPEED_EPOCHS, SPEED_REPEATS)
    estimator = skae.AutoencoderTransformer(
        k,
        **CONV,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=SEED,
    )
    batch_size, lr = estimator.batch_size, estimator.learning_rate_init

    def skae_fit():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return copy.deepcopy(estimator).fit(X)

    # skae stores the kernels channels-last; the loop also trains a copy in
    # PyTorch's default layout, to measure what that layout buys.
    layouts = {"torch": torch.channels_last, "contiguous": torch.contiguous_format}

    def torch_fit(name="torch"):
        # Module construction is not timed: only the loop is.
        module = _raw_module(estimator, X).to(memory_format=layouts[name])
        return fit_torch(module, X_tensor, epochs=epochs, batch_size=batch_size, lr=lr)

    skae_fit(), torch_fit()  # warm-up, untimed
    # Whole calls (skae: validation, PCA start, training, the final error
    # pass) and the training epochs alone (skae: the history's durations).
    times = {"skae": []}
    epoch_times = {"skae": [], **{name: [] for name in layouts}}
    names = tuple(epoch_times)
    for repeat in range(repeats):
        for name in names if repeat % 2 == 0 else names[::-1]:
            if name == "skae":
                fitted, seconds, _ = compare._timed(skae_fit)
                times["skae"].append(seconds)
                epoch_times["skae"].append(sum(fitted.net_.history[:, "dur"]))
            else:
                epoch_times[name].append(sum(torch_fit(name)))
    times["torch"] = epoch_times["torch"]  # the loop's call is its epochs
    ratio = statistics.median(
        t / s for s, t in zip(times["skae"], times["torch"], strict=True)
    )
    epoch_ratio = statistics.median(
        t / s for s, t in zip(epoch_times["skae"], epoch_times["torch"], strict=True)
    )
    log(
        f"fit: skae {times['skae']} (epochs {epoch_times['skae']}) torch "
        f"{times['torch']}: ratio {ratio:.2f}, epochs only {epoch_ratio:.2f}"
    )
    pca = PCA(k, random_state=SEED).fit(X)
    X_new = data["X_test"]
    transform = {"skae": [], "pca": []}
    for _ in range(3):
        transform["skae"].append(compare._timed(fitted.transform, X_new)[1])
        transform["pca"].append(compare._timed(pca.transform, X_new)[1])
    log(f"transform of {len(X_new)}: {transform}")
    return {
        "k": k,
        "n_rows": n_rows,
        "epochs": epochs,
        "repeats": repeats,
        "batch_size": batch_size,
        "learning_rate_init": lr,
        "fit_seconds": times,
        "fit_ratio_skae_vs_torch": ratio,
        "epoch_seconds": epoch_times,
        "epoch_ratio_skae_vs_torch": epoch_ratio,
        # The torch loop's epochs with the kernels contiguous (PyTorch's
        # default layout) over those with skae's channels-last kernels.
        "channels_last_speedup": statistics.median(
            c / t
            for c, t in zip(
                epoch_times["contiguous"], epoch_times["torch"], strict=True
            )
        ),
        "samples_per_second": {
            name: n_rows * epochs / statistics.median(values)
            for name, values in times.items()
        },
        "transform_rows": len(X_new),
        "transform_seconds": transform,
        "transform_median_seconds": {
            name: statistics.median(values) for name, values in transform.items()
        },
        "load_average": load_average(),
    }


def _merged(previous, result):
    """`result` with the rows and images of `previous` that it did not redo.

    A run of some models or code sizes (``--models``, ``--ks``) then adds to
    the record instead of replacing it; a different budget starts afresh. MLP
    rows trained under the budget (``--mlp``) are kept over the committed
    epoch-limited ones that a run without ``--mlp`` brings.
    """
    if not previous or previous["budget_seconds"] != result["budget_seconds"]:
        return result
    if (
        previous["mlp_source"] == BUDGET_MLP_SOURCE
        and result["mlp_source"] != BUDGET_MLP_SOURCE
    ):
        result = {
            **result,
            "rows": [r for r in result["rows"] if r["model"] not in MLP_MODELS],
            "mlp_source": BUDGET_MLP_SOURCE,
        }
        for key in ("reconstructed", "denoised"):
            for model in MLP_MODELS:
                result["images"][key].pop(model, None)
    done = {(row["model"], row["k"]) for row in result["rows"]}
    kept = [r for r in previous["rows"] if (r["model"], r["k"]) not in done]
    order = [*MODELS, *MLP_MODELS]
    rows = sorted(
        kept + result["rows"], key=lambda r: (r["k"], order.index(r["model"]))
    )
    images = result["images"]
    if previous["images"]["k"] == images["k"]:
        for key in ("reconstructed", "denoised"):
            images[key] = {**previous["images"][key], **images[key]}
    ks = sorted({row["k"] for row in rows})
    commands = [*previous.get("commands", [previous["command"]]), result["command"]]
    return {**result, "rows": rows, "ks": ks, "images": images, "commands": commands}


def run(
    parts, *, quick=False, budget=300.0, ks=KS, models=MODELS, mlp=False, record=None
):
    """Run the `parts` and return the record, keeping the other parts of `record`."""
    record = dict(record or {})
    for part in parts:
        # Each part is a run of its own, with its own date, command and machine;
        # the record's name and seed are the same for all.
        header = record_header("conv", seed=SEED)
        record.update(
            {
                "benchmark": header.pop("benchmark"),
                "dataset": "fashion_mnist",
                "quick": quick,
                "seed": header.pop("seed"),
                "conv": {
                    key: list(v) if isinstance(v, tuple) else v
                    for key, v in CONV.items()
                },
                "cosine": COSINE,
            }
        )
        if part == "probes":
            result = run_probes(quick=quick, budget=min(budget, PROBE_BUDGET))
        elif part == "results":
            result = run_results(
                quick=quick, budget=budget, ks=ks, models=models, mlp=mlp
            )
        else:
            result = run_speed(quick=quick)
        result.update(header)
        if part == "results":
            result = _merged(record.get("results"), result)
        result["hardware"]["load_average_at_end"] = load_average()
        record[part] = result
    return record


FIGURES = {
    "reconstructions": ("reconstructed", ["PCA", "mlp", "conv"], False),
    "denoising": ("denoised", ["PCA", "mlp_denoising", "conv_denoising"], True),
}


def plot(record, out_dir, prefix="fashion_mnist_conv_"):
    """Draw the stored test images: originals, then PCA's, the MLP's and conv's.

    Writes ``<prefix>reconstructions.png`` (clean inputs) and
    ``<prefix>denoising.png`` (noisy inputs through the denoisers).
    """
    from benchmarks.plots import DPI, _images, _pyplot
    from skae.plotting import ReconstructionDisplay

    plt = _pyplot()
    images = record["results"]["images"]
    original = _images(images["original"])
    n_images = len(original)
    for name, (key, models, noisy) in FIGURES.items():
        shown = {
            report.CONV_NAMES.get(model, model): _images(images[key][model]).reshape(
                n_images, -1
            )
            for model in models
            if model in images[key]
        }
        fig, ax = plt.subplots(figsize=(0.9 * n_images + 1.6, 0.9 * (2 + len(shown))))
        ReconstructionDisplay.from_reconstructions(
            original.reshape(n_images, -1),
            shown,
            X_noisy=_images(images["noisy"]).reshape(n_images, -1) if noisy else None,
            indices=range(n_images),
            image_shape=IMAGE_SHAPE,
            ax=ax,
            imshow_kw={"vmin": 0, "vmax": 1},
        )
        ax.set_title(
            f"Fashion-MNIST test images, k={images['k']}: "
            + ("denoised" if noisy else "reconstructed"),
            fontsize=10,
        )
        fig.tight_layout(pad=0.3)
        path = Path(out_dir) / f"{prefix}{name}.png"
        fig.savefig(path, dpi=DPI)
        plt.close(fig)
        print(f"Wrote {path}")


def main(argv=None):
    """Parse the command line, run, write the JSON, print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_conv")
    parser.add_argument(
        "--part", choices=["probes", "results", "speed", "all"], default="all"
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=300.0,
        help="seconds of training per model (probes: at most 45)",
    )
    parser.add_argument("--ks", default=",".join(map(str, KS)))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--mlp",
        action="store_true",
        help="also train the MLP defaults under the budget",
    )
    parser.add_argument(
        "--models",
        default=",".join(MODELS),
        help="which of PCA, conv, conv_denoising (results part)",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "conv.json"
    )
    parser.add_argument("--docs", action="store_true", help=f"write {DOCS}")
    parser.add_argument("--table", type=Path, help="print the tables of a record")
    parser.add_argument(
        "--figures", type=Path, help="draw the figures of a record (docs/results/...)"
    )
    args = parser.parse_args(argv)
    if args.table:
        print(report.conv(json.loads(args.table.read_text())))
        return
    if args.figures:
        plot(json.loads(args.figures.read_text()), ROOT / "docs" / "images")
        return
    torch.set_num_threads(args.threads)
    out = DOCS if args.docs else args.out
    parts = ["probes", "results", "speed"] if args.part == "all" else [args.part]
    ks = [int(k) for k in args.ks.split(",")]
    if args.quick:
        ks = ks[:2]
    previous = json.loads(out.read_text()) if out.exists() else None
    record = run(
        parts,
        quick=args.quick,
        budget=args.budget,
        ks=ks,
        models=args.models.split(","),
        mlp=args.mlp,
        record=previous,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(record, indent=1) + "\n")
    print(f"Wrote {out}")
    if "results" in record:
        print(report.conv(record))


if __name__ == "__main__":
    main()
