"""A user's own network against the built-in MLP and PCA, on a table.

The setting of ``docs/examples/plot_own_network.py``: scikit-learn's breast
cancer data (569 rows, 30 measurements), a stratified quarter held out, the
columns standardised with the training rows' statistics. At each code size k,
on each of ``N_REPEATS`` splits (seeds ``seed``, ``seed + 1``, ...; the split
and the models share the repeat's seed), it fits

* ``pca``: :class:`~sklearn.decomposition.PCA`;
* ``mlp``: :class:`skae.AutoencoderTransformer` with ``network="mlp"``;
* ``residual``: the same with ``network=ResidualMLP`` (``NETWORK_PARAMS``), the
  class the example defines, read from the example's source so that it exists
  in one place (:func:`load_network`);

the two networks once with skae's defaults and once with
``early_stopping=True`` (``REGIMES``), and measures the held-out and training
MSE of ``inverse_transform(transform(X))``, the held-out MSE as a multiple of
PCA's on the same split, the epochs, and the fit's wall and CPU seconds.
Warnings raised by a fit are recorded, not hidden. About a minute on one
thread. Usage::

    python -m benchmarks.bench_network          # writes docs/results/network.json
    python -m benchmarks.bench_network --table docs/results/network.json
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import ast
import json
import time
import types
import warnings
from pathlib import Path

import numpy as np
from sklearn.datasets import load_breast_cancer
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from benchmarks.provenance import ROOT, add_threads_argument, record_header, use_threads
from skae import AutoencoderTransformer

EXAMPLE = ROOT / "docs" / "examples" / "plot_own_network.py"
OUT = ROOT / "docs" / "results" / "network.json"
SEED = 0
N_REPEATS = 5
KS = (2, 4, 8)
TEST_SIZE = 0.25
NETWORK_PARAMS = {"width": 128, "depth": 2}
MODELS = ("pca", "mlp", "residual")
# Each network is trained in both; PCA has no training settings.
REGIMES = {"defaults": {}, "early_stopping": {"early_stopping": True}}


def load_network(name="ResidualMLP", path=EXAMPLE):
    """Return the network class `name` that the example at `path` defines.

    Only the example's imports and class definitions run, in a module of
    their own named after the file, not its fits or figures: the class has
    one copy, the example's, and the benchmark trains exactly that.

    Parameters
    ----------
    name : str, default="ResidualMLP"
        The class to return.

    path : path-like, default=EXAMPLE
        The example's file.

    Returns
    -------
    network : type
        The class, a :class:`torch.nn.Module` subclass.
    """
    path = Path(path)
    tree = ast.parse(path.read_text(), filename=str(path))
    tree.body = [
        node
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom | ast.ClassDef)
    ]
    module = types.ModuleType(path.stem)
    module.__file__ = str(path)
    exec(compile(tree, str(path), "exec"), module.__dict__)
    return getattr(module, name)


def make_data(seed):
    """Breast cancer, split (stratified, `seed`) and standardised on the training rows.

    Returns
    -------
    data : dict
        ``X_train`` and ``X_test``, float64.
    """
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test = train_test_split(
        X, test_size=TEST_SIZE, stratify=y, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    return {"X_train": scaler.transform(X_train), "X_test": scaler.transform(X_test)}


def make_estimator(model, k, *, regime, seed, network):
    """The unfitted estimator of `model` at code size `k`.

    Parameters
    ----------
    model : {"pca", "mlp", "residual"}
        Which model.

    k : int
        The code size.

    regime : {"defaults", "early_stopping"}
        The networks' training settings (a key of `REGIMES`); PCA ignores it.

    seed : int
        The model's `random_state`.

    network : type
        The user's network class, for ``"residual"``.
    """
    if model == "pca":
        return PCA(n_components=k, random_state=seed)
    if model == "mlp":
        chosen = {"network": "mlp"}
    else:
        chosen = {"network": network, "network_params": dict(NETWORK_PARAMS)}
    return AutoencoderTransformer(
        n_components=k, **chosen, **REGIMES[regime], random_state=seed
    )


def _mse(estimator, X):
    """Mean squared error of `X` encoded and decoded."""
    return float(
        np.mean((estimator.inverse_transform(estimator.transform(X)) - X) ** 2)
    )


def score(estimator, data):
    """Fit on the training rows; return the errors, epochs, times and warnings."""
    start, cpu_start = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        estimator.fit(data["X_train"])
    fit_time = time.perf_counter() - start
    fit_cpu_time = time.process_time() - cpu_start
    n_iter = getattr(estimator, "n_iter_", None)
    return {
        "train_mse": _mse(estimator, data["X_train"]),
        "test_mse": _mse(estimator, data["X_test"]),
        "n_iter": None if n_iter is None else int(n_iter),
        "fit_time": fit_time,
        "fit_cpu_time": fit_cpu_time,
        "warnings": sorted({f"{w.category.__name__}: {w.message}" for w in caught}),
    }


def run(*, seed=SEED, n_repeats=N_REPEATS, ks=KS, log=print):
    """Every model, regime and code size on every split; return the record."""
    header = record_header("network", seed=seed)
    network = load_network()
    start, cpu_start = time.perf_counter(), time.process_time()
    results = []
    for repeat in range(n_repeats):
        repeat_seed = seed + repeat
        data = make_data(repeat_seed)
        for k in ks:
            for model in MODELS:
                for regime in ["none"] if model == "pca" else REGIMES:
                    estimator = make_estimator(
                        model,
                        k,
                        regime=None if model == "pca" else regime,
                        seed=repeat_seed,
                        network=network,
                    )
                    row = {
                        "model": model,
                        "regime": regime,
                        "k": k,
                        "seed": repeat_seed,
                        **score(estimator, data),
                    }
                    results.append(row)
                    log(
                        f"seed {repeat_seed} k={k} {model:<8} {regime:<14} "
                        f"held-out MSE {row['test_mse']:.4f} "
                        f"({row['n_iter'] or '-'} epochs, {row['fit_time']:.1f} s)"
                    )
    X, _ = load_breast_cancer(return_X_y=True)
    record = {
        **header,
        "example": str(EXAMPLE.relative_to(ROOT)),
        "settings": {
            "data": "load_breast_cancer, StandardScaler fitted on the training rows",
            "n_samples": X.shape[0],
            "n_features": X.shape[1],
            "split": f"train_test_split(test_size={TEST_SIZE}, stratify=y, "
            "random_state=seed + repeat)",
            "n_train": len(data["X_train"]),
            "n_test": len(data["X_test"]),
            "n_repeats": n_repeats,
            "ks": list(ks),
            "models": {
                "pca": "PCA(n_components=k)",
                "mlp": "AutoencoderTransformer(n_components=k, network='mlp')",
                "residual": "AutoencoderTransformer(n_components=k, "
                f"network=ResidualMLP, network_params={NETWORK_PARAMS!r})",
            },
            "network_source": f"{EXAMPLE.relative_to(ROOT)}::ResidualMLP",
            "network_params": NETWORK_PARAMS,
            "regimes": REGIMES,
        },
        "results": results,
        "total_time": time.perf_counter() - start,
        "total_cpu_time": time.process_time() - cpu_start,
    }
    record["summary"] = summarise(record)
    return record


def summarise(record):
    """Mean and sd over the splits of each (model, regime, k).

    The ratio to PCA is taken split by split, on the same held-out rows, then
    averaged.
    """
    rows = record["results"]
    pca = {(r["seed"], r["k"]): r for r in rows if r["model"] == "pca"}
    groups = {}
    for row in rows:
        groups.setdefault((row["model"], row["regime"], row["k"]), []).append(row)
    summary = []
    for (model, regime, k), group in groups.items():
        test = [r["test_mse"] for r in group]
        ratio = [r["test_mse"] / pca[r["seed"], k]["test_mse"] for r in group]
        train = [r["train_mse"] / pca[r["seed"], k]["train_mse"] for r in group]
        epochs = [r["n_iter"] for r in group if r["n_iter"] is not None]
        summary.append(
            {
                "model": model,
                "regime": regime,
                "k": k,
                "test_mse_mean": float(np.mean(test)),
                "test_mse_std": float(np.std(test)),
                "ratio_mean": float(np.mean(ratio)),
                "ratio_std": float(np.std(ratio)),
                "train_ratio_mean": float(np.mean(train)),
                "n_iter_mean": float(np.mean(epochs)) if epochs else None,
                "fit_time_mean": float(np.mean([r["fit_time"] for r in group])),
                "n_warned": sum(bool(r["warnings"]) for r in group),
            }
        )
    order = {name: i for i, name in enumerate(MODELS)}
    summary.sort(key=lambda r: (r["k"], order[r["model"]], r["regime"]))
    return summary


def table(record):
    """Markdown: the setting, then one row per code size, model and regime."""
    settings, hardware = record["settings"], record["hardware"]
    lines = [
        f"Breast cancer ({settings['n_train']} training and {settings['n_test']} "
        f"held-out rows, {settings['n_features']} standardised features), mean ± sd "
        f"over {settings['n_repeats']} splits; `ResidualMLP` is the class of "
        f"`{record['example']}` with `network_params={settings['network_params']}`. "
        f"{hardware['threads']} thread(s) on {hardware['cpu']} "
        f"({hardware['cpu_count']} cores, load average "
        f"{hardware['load_average_at_start'][0]} at the start). Run of "
        f"{record['created'][:10]}: `{record['command']}`.",
        "",
        "| k | model | trained with | held-out MSE | x PCA (held-out) "
        "| x PCA (training) "
        "| epochs | fit (s) | fits that warned |",
        "|--:|:--|:--|--:|--:|--:|--:|--:|--:|",
    ]
    names = {"pca": "PCA", "mlp": "built-in MLP", "residual": "ResidualMLP"}
    regimes = {
        regime: ", ".join(f"`{key}={value}`" for key, value in params.items())
        or "skae's defaults"
        for regime, params in settings["regimes"].items()
    }
    n = settings["n_repeats"]
    for row in record["summary"]:
        pca = row["model"] == "pca"
        epochs = row["n_iter_mean"]
        warned = "" if pca else f"{row['n_warned']}/{n}"
        lines.append(
            f"| {row['k']} | {names[row['model']]} "
            f"| {'' if pca else regimes[row['regime']]} "
            f"| {row['test_mse_mean']:.4f} ± {row['test_mse_std']:.4f} "
            f"| {row['ratio_mean']:.3f} ± {row['ratio_std']:.3f} "
            f"| {row['train_ratio_mean']:.3f} "
            f"| {'' if epochs is None else f'{epochs:.0f}'} "
            f"| {row['fit_time_mean']:.2f} "
            f"| {warned} |"
        )
    found = sorted({w for row in record["results"] for w in row["warnings"]})
    if found:
        lines += ["", "Warnings raised by the fits:", ""]
        lines += [f"- {w}" for w in found]
    lines += [
        "",
        f"Total: {record['total_time']:.0f} s wall, "
        f"{record['total_cpu_time']:.0f} s CPU.",
    ]
    return "\n".join(lines)


def main(argv=None):
    """Run and write the JSON, or print the table of a JSON file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--repeats", type=int, default=N_REPEATS)
    parser.add_argument(
        "--ks", type=lambda s: tuple(int(k) for k in s.split(",")), default=KS
    )
    # One thread, as in the other benchmarks (benchmarks/README.md): these
    # networks are too small to gain from a second, and on a shared 2-core
    # machine a fit that took 2 s on one thread took 25 to 60 s on two.
    add_threads_argument(parser)
    parser.add_argument("--table", type=Path, help="print the table of a JSON file")
    args = parser.parse_args(argv)
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return
    use_threads(args.threads)
    record = run(
        seed=args.seed,
        n_repeats=args.repeats,
        ks=args.ks,
        log=lambda line: print(line, flush=True),
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1) + "\n")
    print()
    print(table(record))
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
