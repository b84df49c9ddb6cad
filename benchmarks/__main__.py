"""Entry point: ``python -m benchmarks [--dataset NAME] [--quick] [--out DIR]``.

Runs the PCA-against-autoencoders comparison and the model-selection search,
prints the results table, and writes ``results.json`` and the PNG figures into
``--out`` (default ``benchmarks/results/<dataset>/``).
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
import time
from pathlib import Path

from benchmarks.provenance import add_threads_argument, use_threads

DEFAULT_OUT = Path(__file__).parent / "results"


def _ints(text):
    """Parse a comma-separated list of integers."""
    return [int(part) for part in text.split(",") if part]


def parse_args(argv=None):
    """The command line."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Compare PCA with skae's autoencoders: reconstruction error, "
        "downstream accuracy, denoising, sparsity and time, over code sizes.",
    )
    parser.add_argument(
        "--dataset",
        choices=["digits", "fashion_mnist", "mnist"],
        default="digits",
        help="digits (bundled, every kind, about 2 minutes on one thread) or "
        "the local MNIST-like IDX files (see skae.datasets; Fashion-MNIST: "
        "about 35 minutes with --threads 2)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke run: fewer sizes and epochs"
    )
    parser.add_argument(
        "--out", type=Path, help="output folder (default benchmarks/results/<dataset>)"
    )
    parser.add_argument("--seed", type=int, default=0, help="the one random seed")
    add_threads_argument(
        parser,
        help="CPU threads for torch and BLAS (default 1: on a shared machine, "
        "extra threads spin-wait and slow training down many times over)",
    )
    parser.add_argument("--ks", type=_ints, help="code sizes, e.g. 8,32")
    parser.add_argument(
        "--models",
        help="comma-separated subset of the models (default: the dataset's; on "
        "digits every kind: PCA, AutoencoderTransformer, DenoisingAutoencoder, "
        "SparseAutoencoder, VariationalAutoencoder, ContractiveAutoencoder, "
        "ConvAutoencoder)",
    )
    parser.add_argument(
        "--max-iter", type=int, help="epochs per autoencoder (default: per dataset)"
    )
    parser.add_argument(
        "--no-select", action="store_true", help="skip the model-selection search"
    )
    parser.add_argument("--no-plots", action="store_true", help="skip the PNGs")
    parser.add_argument(
        "--docs",
        action="store_true",
        help="also write docs/results/<dataset>.json and docs/images/<dataset>_*.png, "
        "the committed run the README shows (then: python -m "
        "benchmarks.update_readme)",
    )
    return parser.parse_args(argv)


def main(argv=None):
    """Run the benchmark and write its outputs."""
    args = parse_args(argv)
    # Thread pools are limited before any work starts; torch and the BLAS
    # libraries read these settings at their first parallel call.
    use_threads(args.threads)

    from benchmarks import compare, report, selection

    models = None if args.models is None else args.models.split(",")
    out = args.out or DEFAULT_OUT / args.dataset
    out.mkdir(parents=True, exist_ok=True)
    record = compare.run(
        args.dataset,
        quick=args.quick,
        ks=args.ks,
        models=models,
        max_iter=args.max_iter,
        random_state=args.seed,
        log=lambda line: print(line, flush=True),
    )
    if not args.no_select and "AutoencoderTransformer" in record["settings"]["models"]:
        start, cpu_start = time.perf_counter(), time.process_time()
        data = compare.make_data(args.dataset, quick=args.quick, random_state=args.seed)
        record["model_selection"] = selection.run(
            data, ks=record["settings"]["ks"], quick=args.quick, random_state=args.seed
        )
        record["total_time"] += time.perf_counter() - start
        record["total_cpu_time"] += time.process_time() - cpu_start
    path = out / "results.json"
    with open(path, "w") as file:
        json.dump(record, file, indent=1)
        file.write("\n")
    print()
    print(report.render(record))
    print(f"Wrote {path}")
    if not args.no_plots:
        from benchmarks import plots

        for figure in plots.plot_all(record, out):
            print(f"Wrote {figure}")
    if args.docs:
        from benchmarks import plots

        docs = Path(__file__).parent.parent / "docs"
        path = docs / "results" / f"{args.dataset}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((out / "results.json").read_text())
        print(f"Wrote {path}")
        prefix = f"{args.dataset}_"
        for figure in plots.plot_all(record, docs / "images", prefix=prefix):
            print(f"Wrote {figure}")


if __name__ == "__main__":
    main()
