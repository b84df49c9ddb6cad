"""README.md and the docs pages: generated tables match the records, claims the code."""

# SPDX-License-Identifier: BSD-3-Clause

import ast
import inspect
import re

import pytest

import skae
import skae._registry
from benchmarks.update_readme import PAGES, ROOT, missing_blocks, render_blocks

README = (ROOT / "README.md").read_text()
# The parameter table and the choice of estimator, moved out of the README.
CHOOSING = (ROOT / "docs" / "choosing.md").read_text()
AUTOENCODERS = tuple(cls.__name__ for cls in skae._registry.AUTOENCODERS)
# How many lines of README.md a reader sees before scrolling.
FIRST_SCREEN = 30


def _strip_generated(text):
    """`text` without the blocks that update_readme writes."""
    return re.sub(
        r"<!-- BEGIN (\w+) -->\n.*?<!-- END \1 -->", "", text, flags=re.DOTALL
    )


def _table(text, header):
    """The rows of the markdown table whose header starts with `header`, as cells."""
    lines = text[text.index(header) :].splitlines()
    rows = []
    for line in lines[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _signature(name):
    """Default of each parameter of the public estimator `name`."""
    parameters = inspect.signature(getattr(skae, name)).parameters
    return {key: parameter.default for key, parameter in parameters.items()}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_tables_match_results(page):
    """Check that a page's generated blocks equal what docs/results/*.json give."""
    text = (ROOT / page).read_text()
    assert not missing_blocks(text, page), "add the markers of these blocks"
    assert render_blocks(text, page) == text, "run: python -m benchmarks.update_readme"


@pytest.mark.parametrize("page", [README, CHOOSING], ids=["README", "choosing"])
def test_readme_has_no_figure_outside_generated_blocks(page):
    """Check that every number in the prose of README.md and docs/choosing.md
    comes from a results file.

    Numbers may appear in generated blocks, code, links, the parameter
    defaults (checked against the code below), version requirements, the
    range [0, 1] and the names L1 and L2 (``"l1"``).
    """
    text = _strip_generated(page)
    if "| parameter | default |" in page:
        for _, defaults, _ in _table(page, "| parameter | default |"):
            text = text.replace(f"| {defaults} |", "|")
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)
    text = re.sub(r"`[^`]*`", "", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"\[0, 1\]|>= \d+(\.\d+)*|BSD-3-Clause|\b[Ll][12]\b", "", text)
    figures = [line for line in text.splitlines() if re.search(r"\d", line)]
    assert not figures, "a figure typed in by hand; generate it from docs/results/"


def test_readme_two_commands_in_first_screen():
    """Check that both commands come before the reader scrolls, and CI runs one."""
    first_screen = "\n".join(README.splitlines()[:FIRST_SCREEN])
    commands = [
        'pip install "torch==2.13.0" -e ".[benchmarks]" && python -m benchmarks',
        'pip install "torch==2.13.0" -e ".[test]" && python -m pytest -q -n auto',
    ]
    for command in commands:
        assert f"\n{command}\n" in first_screen
    # .ci/run installs quietly; otherwise it runs the README's test command.
    ci = (ROOT / ".ci" / "run").read_text()
    ci = ci.replace("pip install --quiet ", "pip install ")
    assert f"\n{commands[1]}\n" in ci
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert re.search(r"^benchmarks = \[", pyproject, flags=re.MULTILINE)
    assert (ROOT / "benchmarks" / "__main__.py").is_file()


def test_readme_parameter_defaults_match_the_code():
    """Check that the parameter table (docs/choosing.md) lists every parameter
    with its default."""
    signatures = {name: _signature(name) for name in AUTOENCODERS}
    documented = set()
    for names, defaults, _ in _table(CHOOSING, "| parameter | default |"):
        names = re.findall(r"`(\w+)`", names)
        values = ast.literal_eval(f"({defaults},)")
        assert len(names) == len(values), names
        for name, value in zip(names, values, strict=True):
            owners = [sig for sig in signatures.values() if name in sig]
            assert owners, f"choosing.md documents {name!r}, which no estimator has"
            for signature in owners:
                assert signature[name] == value, f"{name}: choosing.md says {value!r}"
            documented.add(name)
    every = set().union(*signatures.values())
    assert every <= documented, f"undocumented: {sorted(every - documented)}"


def test_readme_estimator_table_matches_the_code():
    """Check that the estimator table lists each public estimator and its parameters."""
    rows = _table(README, "| estimator | what it adds |")
    listed = {re.fullmatch(r"`(\w+)`", row[0])[1]: row[2] for row in rows}
    public = {
        name
        for name in skae.__all__
        if inspect.isclass(getattr(skae, name)) and hasattr(getattr(skae, name), "fit")
    }
    assert set(listed) == public
    base = _signature("AutoencoderTransformer")
    for name, cell in listed.items():
        own = set(re.findall(r"`(\w+)`", cell))
        signature = _signature(name)
        assert own <= set(signature), f"{name}: {sorted(own - set(signature))}"
        if name in AUTOENCODERS:
            assert own == set(signature) - set(base), name


def test_docs_index_shows_the_readme_quick_start():
    """Check that the docs' front page shows the README's quick start, as tested."""
    readme = re.search(r"```python\n(.*?)```", README, flags=re.DOTALL)[1]
    index = (ROOT / "docs" / "index.rst").read_text()
    block = re.search(r"\.\. code-block:: python\n\n(.*?)\n\S", index, re.DOTALL)[1]
    assert inspect.cleandoc("\n" + block).strip() == readme.strip()
