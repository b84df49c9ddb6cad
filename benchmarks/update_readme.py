"""Write the measured benchmark tables into README.md and the docs, between markers.

``python -m benchmarks.update_readme`` renders the JSON records in
``docs/results/`` with each benchmark's own renderer and replaces the block
between ``<!-- BEGIN name -->`` and ``<!-- END name -->`` in README.md, and
between ``.. BEGIN name`` and ``.. END name`` in the ``docs/*.rst`` pages of
:data:`PAGES` (where the renderers' markdown is turned into reStructuredText).
A block whose records are absent is left as it is. ``--check`` exits 1 when a
page differs from what the records give, so no figure in a block can be typed
in by hand.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
import re
import sys
from pathlib import Path

from benchmarks import (
    bench_anomaly,
    bench_contractive,
    bench_defaults,
    bench_impute,
    bench_impute_mixed,
    bench_iwae,
    bench_memory,
    bench_network,
    bench_pretraining,
    bench_speed,
    report,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "results"


def _first(renderer):
    """A renderer of one record, made to take the list of records."""
    return lambda records: renderer(records[0])


def _benchmark(figures):
    """The full PCA comparison of one run: table, goals, search and figures."""
    return _first(lambda record: report.render(record, figures=figures))


def _variational(record):
    """The variational benchmark's full section, its figures beside the page."""
    return report.variational(record, figures=f"images/{record['dataset']}_vae_")


def _anomaly(record):
    """The anomaly benchmark: the example's AUC, then every left-out digit."""
    return bench_anomaly.sentence(record) + "\n\n" + bench_anomaly.table(record)


# page -> {block name: (JSON records in docs/results/, renderer)}. A renderer
# takes the records, in this order, and returns markdown.
PAGES = {
    "README.md": {
        "runtime": (("digits.json", "fashion_mnist.json"), report.runtime),
        "headline": (
            ("fashion_mnist.json", "conv.json"),
            lambda records: report.headline(
                records[0], figures="docs/images/fashion_mnist_", conv=records[1]
            ),
        ),
    },
    "docs/choosing.md": {
        "choice": (("fashion_mnist.json", "digits.json"), report.choice),
    },
    "docs/benchmarks.rst": {
        "runtime": (("digits.json", "fashion_mnist.json"), report.runtime),
        "choice": (("fashion_mnist.json", "digits.json"), report.choice),
        "benchmark": (
            ("fashion_mnist.json",),
            _benchmark(figures="images/fashion_mnist_"),
        ),
        "benchmark_digits": (("digits.json",), _benchmark(figures="images/digits_")),
        "defaults": (("defaults.json",), _first(bench_defaults.table)),
        "defaults_small": (
            ("defaults_small.json",),
            _first(bench_defaults.table_small),
        ),
        "defaults_averaged": (
            ("defaults_small_last_weights.json", "defaults_small_averaged.json"),
            lambda records: bench_defaults.table_averaged(*records),
        ),
        "defaults_stopping": (
            ("defaults_small_plateau.json", "defaults_small.json"),
            lambda records: bench_defaults.table_stopping(*records),
        ),
        "defaults_large": (
            ("defaults_large.json",),
            _first(bench_defaults.table_large),
        ),
        "pretraining": (
            ("pretraining.json",),
            _first(bench_pretraining.markdown_table),
        ),
        "variational": (("variational.json",), _first(_variational)),
        "anomaly": (("anomaly.json",), _first(_anomaly)),
        "network": (("network.json",), _first(bench_network.table)),
        "conv": (
            ("conv.json",),
            _first(
                lambda record: report.conv(record, figures="images/fashion_mnist_conv_")
            ),
        ),
    },
    "docs/performance.rst": {
        "speed_summary": (("speed.json",), _first(bench_speed.summary)),
        "speed": (("speed.json",), _first(bench_speed.table)),
        "speed_cuda": (("speed_cuda.json",), _first(bench_speed.table)),
        "memory": (("memory.json",), _first(bench_memory.table)),
    },
    "docs/onnx.rst": {
        "onnx": (("onnx.json",), _first(report.onnx_serving)),
    },
    "docs/user_guide/imputer.rst": {
        "impute": (("impute.json",), _first(report.impute)),
        "impute_categories": (
            ("impute_categories.json",),
            _first(bench_impute_mixed.categories_table),
        ),
        "impute_draws": (
            ("impute_draws.json",),
            _first(bench_impute_mixed.draws_table),
        ),
        "impute_speed": (("impute_speed.json",), _first(bench_impute.speed_table)),
    },
    "docs/user_guide/variational.rst": {
        "iwae": (("iwae.json",), _first(bench_iwae.table)),
    },
    "docs/user_guide/contractive.rst": {
        "contractive": (("contractive.json",), _first(bench_contractive.markdown)),
        "contractive_fashion_mnist": (
            ("contractive_fashion_mnist.json",),
            _first(bench_contractive.markdown),
        ),
    },
}

# -- markdown to reStructuredText ---------------------------------------------

_IMAGE = re.compile(r"!\[(?P<alt>[^\]]*)\]\((?P<path>[^)]+)\)")
_LINK = re.compile(r"\[(?P<text>[^\]]+)\]\((?P<url>[^)]+)\)")
_SEPARATOR = re.compile(r"\|?(\s*:?-+:?\s*\|)+\s*:?-*:?\s*")


def _rst_text(text):
    """Plain markdown text as rst: escape what rst would read as markup."""
    text = text.replace("\\", "\\\\").replace("|", "\\|")
    # A word ending in "_" is a reference in rst.
    text = re.sub(r"(?<=\w)_(?=\W|$)", r"\\_", text)
    return _LINK.sub(lambda m: f"`{m['text']} <{m['url']}>`__", text)


def _rst_inline(text):
    """One line of markdown (code spans, bold, links) as rst inline markup."""
    parts = re.split(r"(`[^`]+`)", text)
    out = ""
    for i, part in enumerate(parts):
        if i % 2 == 0:
            out += _rst_text(part)
            continue
        # rst inline literals must be set off from adjacent word characters.
        before = "\\ " if out and (out[-1].isalnum() or out[-1] == "\\") else ""
        following = parts[i + 1] if i + 1 < len(parts) else ""
        after = "\\ " if following[:1].isalnum() else ""
        out += f"{before}``{part[1:-1]}``{after}"
    return out


def _rst_table(lines):
    """A markdown pipe table as an rst list-table, first row the header."""
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in lines
        if not _SEPARATOR.fullmatch(line.strip())
    ]
    out = [".. list-table::", "   :header-rows: 1", ""]
    for row in rows:
        for j, cell in enumerate(row):
            marker = "   * -" if j == 0 else "     -"
            out.append(f"{marker} {_rst_inline(cell)}".rstrip())
    return out


def to_rst(markdown):
    """Convert the markdown the renderers write (text, tables, lists, images)."""
    lines = markdown.splitlines()
    out = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("|"):
            table = []
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                table.append(lines[i])
                i += 1
            out += ["", *_rst_table(table), ""]
            continue
        image = _IMAGE.fullmatch(line.strip())
        if image:
            out += [
                "",
                f".. figure:: {image['path']}",
                f"   :alt: {image['alt']}",
                "",
                f"   {_rst_inline(image['alt'])}",
                "",
            ]
        else:
            out.append(_rst_inline(line))
        i += 1
    # Collapse the blank lines added around tables and figures.
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip("\n")


# -- blocks ----------------------------------------------------------------


def _markers(page, name):
    """The regex of block `name` in `page`, and the comment that opens its body."""
    if page.endswith(".rst"):
        pattern = rf"(^\.\. BEGIN {name}\n).*?(^\.\. END {name}$)"
        return re.compile(pattern, re.DOTALL | re.MULTILINE), ".. {}"
    pattern = rf"(<!-- BEGIN {name} -->\n).*?(<!-- END {name} -->)"
    return re.compile(pattern, re.DOTALL), "<!-- {} -->"


# Blocks that show one part of a record only: {block: {file: part}}. The note
# on runs that predate averaging looks at that part's run alone.
_PARTS_SHOWN = {"headline": {"conv.json": "results"}}

# Blocks that set runs ending on the last weights beside runs ending on their
# average on purpose, and say so themselves.
_COMPARES_AVERAGING = {"defaults_averaged"}


def missing_blocks(text, page="README.md"):
    """Names of the blocks of `page` that have no markers in `text`."""
    return [name for name in PAGES[page] if not _markers(page, name)[0].search(text)]


def render_blocks(text, page="README.md"):
    """Return `text` with every block of `page` whose records exist re-rendered.

    Parameters
    ----------
    text : str
        The page's current content.

    page : str, default="README.md"
        The page, relative to the repository root: a key of `PAGES`.

    Returns
    -------
    text : str
        `text` with the blocks replaced.
    """
    for name, (filenames, renderer) in PAGES[page].items():
        paths = [RESULTS / filename for filename in filenames]
        if not all(path.exists() for path in paths):
            continue
        records = [json.loads(path.read_text()) for path in paths]
        body = renderer(records).rstrip()
        if name not in _COMPARES_AVERAGING:
            parts = _PARTS_SHOWN.get(name, {})
            shown = [
                {parts[filename]: record[parts[filename]]}
                if filename in parts
                else record
                for filename, record in zip(filenames, records, strict=True)
            ]
            note = report.averaging_note(shown)
            body += f"\n\n{note}" if note else ""
        pattern, comment = _markers(page, name)
        if page.endswith(".rst"):
            body = to_rst(body)
        sources = ", ".join(f"docs/results/{filename}" for filename in filenames)
        note = comment.format(
            f"generated from {sources} by python -m benchmarks.update_readme; "
            "do not edit"
        )
        text = pattern.sub(
            lambda m, body=body, note=note: f"{m[1]}{note}\n\n{body}\n\n{m[2]}", text
        )
    return text


def main(argv=None):
    """Update the pages in place, or check that they are up to date."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.update_readme")
    parser.add_argument("--check", action="store_true", help="only compare")
    args = parser.parse_args(argv)
    status = 0
    for page in PAGES:
        path = ROOT / page
        current = path.read_text()
        updated = render_blocks(current, page)
        for name in missing_blocks(current, page):
            print(f"{page} has no block {name!r}: add its markers.")
            status = 1
        if updated == current:
            continue
        if args.check:
            print(f"{page} differs from docs/results/: run the update.")
            status = 1
        else:
            path.write_text(updated)
            print(f"Updated {page}")
    return status


if __name__ == "__main__":
    sys.exit(main())
