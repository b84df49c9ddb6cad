"""Write the measured benchmark tables into README.md, between marker comments.

``python -m benchmarks.update_readme`` renders each JSON record in
``docs/results/`` with its benchmark's own renderer and replaces the block
between ``<!-- BEGIN name -->`` and ``<!-- END name -->``. A record that is
absent leaves its block as it is. ``--check`` exits 1 when README.md differs
from what the records give, so no figure in it can be typed in by hand.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
import re
import sys
from pathlib import Path

from benchmarks import (
    bench_defaults,
    bench_memory,
    bench_pretraining,
    bench_speed,
    report,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results"


def _pretraining(record):
    """The pretraining table: test accuracy by share of labels and model."""
    return bench_pretraining.markdown_table(record)


def _benchmark(record):
    """The PCA comparison: table, goals and figures."""
    return report.render(record, figures=f"docs/images/{record['dataset']}_")


def _speed(record):
    """The speed ratios against a raw torch loop, MLP and PCA."""
    return bench_speed.table(record)


def _memory(record):
    """Peak memory of fitting on memory maps of growing size."""
    return bench_memory.table(record)


def _defaults(record):
    """Short runs of the choices behind the defaults."""
    return bench_defaults.table(record)


# README block -> (JSON record, renderer)
BLOCKS = {
    "defaults": ("defaults.json", _defaults),
    "speed": ("speed.json", _speed),
    "speed_cuda": ("speed_cuda.json", _speed),
    "memory": ("memory.json", _memory),
    "benchmark": ("fashion_mnist.json", _benchmark),
    "pretraining": ("pretraining.json", _pretraining),
}


def render_blocks(readme):
    """Return README text with every block whose record exists re-rendered."""
    for name, (filename, renderer) in BLOCKS.items():
        path = RESULTS / filename
        if not path.exists():
            continue
        body = renderer(json.loads(path.read_text())).rstrip()
        note = f"<!-- generated from docs/results/{filename} by "
        note += "python -m benchmarks.update_readme; do not edit -->"
        pattern = re.compile(
            rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)", re.DOTALL
        )
        readme = pattern.sub(
            lambda m, body=body, note=note: f"{m[1]}{note}\n\n{body}\n\n{m[2]}", readme
        )
    return readme


def main(argv=None):
    """Update README.md in place, or check that it is up to date."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.update_readme")
    parser.add_argument("--check", action="store_true", help="only compare")
    args = parser.parse_args(argv)
    path = ROOT / "README.md"
    current = path.read_text()
    updated = render_blocks(current)
    if args.check:
        if updated != current:
            print("README.md differs from docs/results/: run the update.")
            return 1
        return 0
    path.write_text(updated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
