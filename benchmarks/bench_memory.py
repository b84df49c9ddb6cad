"""Peak memory of fitting on memory-mapped data, as n_samples grows.

For each size, float32 data of shape (n_samples, 784) are written to a raw
file, and a fresh interpreter opens it as a ``numpy.memmap`` and fits
``AutoencoderTransformer(max_iter=1)`` on it (a small network: memory here is
about the data). Right before ``fit``, the child resets the kernel's peak-RSS
mark (``/proc/self/clear_refs``), so that ``VmHWM`` read after ``fit`` is the
exact peak resident set size during ``fit``. ``ru_maxrss`` is recorded too,
but Linux never lets it fall below the parent's peak at the time of the fork.
The child also samples, every 2 ms, the two parts of the RSS: anonymous memory
(``RssAnon``: copies, batches, tensors) and file-backed pages (``RssFile``:
pages of the mapped file that were read, page cache that the kernel may drop
at any time).

The same is measured with the data loaded into memory (``np.fromfile``), for
contrast, up to ``--memory-max`` rows. Linux only (``/proc``).

Usage::

    python benchmarks/bench_memory.py                # 100k to 800k rows (2.3 GB)
    python benchmarks/bench_memory.py --sizes 50000 100000 --folder /data/tmp
    python benchmarks/bench_memory.py --table FILE.json
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

try:
    from benchmarks.provenance import record_header
except ModuleNotFoundError:
    # Run as a file (python benchmarks/bench_memory.py), with benchmarks/ on
    # sys.path instead of the repository root that holds the package.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from benchmarks.provenance import record_header

RESULTS = Path(__file__).parent / "results"
N_FEATURES = 784
SEED = 0
CHILD_RUNNER = (
    "import importlib.util, sys; "
    f"spec = importlib.util.spec_from_file_location('bench_memory', {__file__!r}); "
    "module = importlib.util.module_from_spec(spec); "
    "spec.loader.exec_module(module); "
    "module.run_child(*sys.argv[1:])"
)


def make_data(path, n_samples, *, chunk=10_000):
    """Write uniform float32 data to the raw file `path`, chunk by chunk.

    Plain writes, not a memmap: the pages of a written memmap would raise this
    process's peak RSS, which its children inherit in ``ru_maxrss``.
    """
    rng = np.random.RandomState(SEED)
    with open(path, "wb") as file:
        for start in range(0, n_samples, chunk):
            stop = min(start + chunk, n_samples)
            rng.rand(stop - start, N_FEATURES).astype(np.float32).tofile(file)


def make_estimator():
    """A small network: memory here is about the data, not the weights."""
    from skae import AutoencoderTransformer

    return AutoencoderTransformer(
        8, hidden_layer_sizes=(32,), max_iter=1, batch_size=1024, random_state=SEED
    )


def _status_mb(field):
    """A field of /proc/self/status (VmRSS, RssAnon, RssFile...), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def _reset_peak():
    """Reset the kernel's peak-RSS mark (VmHWM, ru_maxrss) to the current RSS."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def run_child(mode, path, n_samples):
    """In a fresh interpreter: fit on the file, print a JSON record of memory."""
    import resource
    import threading

    import torch

    n_samples = int(n_samples)
    # A tiny fit first: torch imports modules lazily on the first one.
    make_estimator().fit(np.linspace(0, 1, 256, dtype=np.float32).reshape(16, 16))
    shape = (n_samples, N_FEATURES)
    if mode == "memmap":
        X = np.memmap(path, dtype=np.float32, mode="r", shape=shape)
    else:
        X = np.fromfile(path, dtype=np.float32).reshape(shape)
    before = {field: _status_mb(field) for field in ("VmRSS", "RssAnon", "RssFile")}
    peaks = {"RssAnon": [before["RssAnon"]], "RssFile": [before["RssFile"]]}
    done = threading.Event()

    def sample():
        while not done.wait(0.002):
            for field, values in peaks.items():
                values.append(_status_mb(field))

    sampler = threading.Thread(target=sample, daemon=True)
    _reset_peak()
    sampler.start()
    estimator = make_estimator().fit(X)
    done.set()
    sampler.join()
    record = {
        "mode": mode,
        "n_samples": n_samples,
        "data_mb": X.nbytes / 2**20,
        "before_fit_mb": before,
        # Peak since the reset right before fit: exact, unlike the samples.
        "peak_rss_mb": _status_mb("VmHWM"),
        # The same, but never below the parent's peak at fork (Linux keeps it).
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_anon_sampled_mb": max(peaks["RssAnon"]),
        "peak_file_sampled_mb": max(peaks["RssFile"]),
        "after_fit_mb": {
            field: _status_mb(field) for field in ("VmRSS", "RssAnon", "RssFile")
        },
        "n_iter": estimator.n_iter_,
        "torch_threads": torch.get_num_threads(),
    }
    print(json.dumps(record))


def score(mode, path, n_samples):
    """Run one child; return its record."""
    output = subprocess.run(
        [sys.executable, "-c", CHILD_RUNNER, mode, str(path), str(n_samples)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def table(results):
    """Markdown table of the peaks, in MB."""
    lines = [
        "| input | n_samples | data (MB) | RSS before fit | peak RSS in fit "
        "| growth | peak anonymous (sampled) | growth | peak file-backed (sampled) "
        "| ru_maxrss |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for record in results["runs"]:
        before = record["before_fit_mb"]
        lines.append(
            f"| {record['mode']} | {record['n_samples']:,} | {record['data_mb']:.0f} "
            f"| {before['VmRSS']:.0f} | {record['peak_rss_mb']:.0f} "
            f"| {record['peak_rss_mb'] - before['VmRSS']:+.0f} "
            f"| {record['peak_anon_sampled_mb']:.0f} "
            f"| {record['peak_anon_sampled_mb'] - before['RssAnon']:+.0f} "
            f"| {record['peak_file_sampled_mb']:.0f} "
            f"| {record['ru_maxrss_mb']:.0f} |"
        )
    return "\n".join(lines)


def main():
    """Write the files, measure each size in a child process, write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[100_000, 200_000, 400_000, 800_000]
    )
    parser.add_argument("--modes", nargs="+", default=["memmap", "memory"])
    parser.add_argument(
        "--memory-max",
        type=int,
        default=200_000,
        help="largest n_samples also measured in memory, for contrast",
    )
    parser.add_argument("--folder", help="where to write the files (default: temp)")
    parser.add_argument("--out", type=Path, default=RESULTS / "memory.json")
    parser.add_argument("--table", type=Path, help="print the table of a JSON file")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return
    results = {**record_header("memory", seed=SEED), "runs": []}
    with tempfile.TemporaryDirectory(dir=args.folder) as folder:
        for n_samples in args.sizes:
            path = Path(folder) / f"X_{n_samples}.f32"
            make_data(path, n_samples)
            for mode in args.modes:
                if mode == "memory" and n_samples > args.memory_max:
                    continue
                print(f"{mode} {n_samples} ...", flush=True)
                results["runs"].append(score(mode, path, n_samples))
            path.unlink()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(table(results))
    print(f"Wrote {args.out}")


if __name__ == "__main__":
    main()
