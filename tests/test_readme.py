"""README.md's benchmark tables are generated from the measured JSON records."""

# SPDX-License-Identifier: BSD-3-Clause

from benchmarks.update_readme import ROOT, render_blocks


def test_readme_tables_match_results():
    """Check that README.md's tables equal what docs/results/*.json give."""
    readme = (ROOT / "README.md").read_text()
    assert render_blocks(readme) == readme, "run: python -m benchmarks.update_readme"
