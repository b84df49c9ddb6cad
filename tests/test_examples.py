"""A new user's first run: the README's Python runs, quietly; the examples agree.

The gallery's examples (``docs/examples/plot_*.py``) take minutes together, so
they run in the docs build, where ``docs/gallery_warnings.py`` turns any
warning into an error; here only their cheap properties are checked.
"""

# SPDX-License-Identifier: BSD-3-Clause

import ast
import importlib.util
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from benchmarks import bench_anomaly
from benchmarks.update_readme import ROOT

README = (ROOT / "README.md").read_text()
EXAMPLES = ROOT / "docs" / "examples"


def _python_blocks(text):
    """The ```python blocks of markdown `text`, each with its first line's number."""
    return [
        (text[: match.start(1)].count("\n"), match[1])
        for match in re.finditer(r"^```python\n(.*?)^```", text, re.DOTALL | re.M)
    ]


def _newcomer_data():
    """The names a snippet may use without defining them: digits in [0, 1]."""
    X, y = load_digits(return_X_y=True)
    X = X / 16
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    columns = [f"pixel{i}" for i in range(X.shape[1])]
    return {
        "X": X,
        "y": y,
        "X_train": X_train,
        "X_test": X_test,
        "y_train": y_train,
        "y_test": y_test,
        "df": pd.DataFrame(X, columns=columns),
    }


def _load_module(path):
    """Import the Python file at `path` as a module of its own."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BLOCKS = _python_blocks(README)


def test_readme_has_a_python_quick_start():
    """Check that the README shows Python code, so that the test below runs some."""
    assert BLOCKS


@pytest.mark.parametrize(
    ("line", "code"), BLOCKS, ids=[f"README.md:{line}" for line, _ in BLOCKS]
)
def test_readme_python_runs_without_warnings(line, code):
    """Check that a README snippet runs on digits with every warning an error.

    A ConvergenceWarning, a FutureWarning or any other warning in a first run
    tells a new user that something is wrong, so it fails the test.
    """
    namespace = _newcomer_data()
    # Line numbers in a traceback are the README's.
    compiled = compile("\n" * line + code, str(ROOT / "README.md"), "exec")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exec(compiled, namespace)


def test_gallery_warnings_hook_turns_warnings_into_errors():
    """Check that the docs build's hook makes warnings errors during an example only."""
    hook = _load_module(ROOT / "docs" / "gallery_warnings.py")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        filters = list(warnings.filters)
        hook.warnings_as_errors({}, "plot_example.py", "before")
        with pytest.raises(UserWarning, match="in an example"):
            warnings.warn("in an example", UserWarning, stacklevel=1)
        hook.warnings_as_errors({}, "plot_example.py", "after")
        assert warnings.filters == filters
        warnings.warn("after the example", UserWarning, stacklevel=1)
        # A "before" whose "after" never came is closed by the next one.
        hook.warnings_as_errors({}, "plot_a.py", "before")
        hook.warnings_as_errors({}, "plot_b.py", "before")
        hook.warnings_as_errors({}, "plot_b.py", "after")
        assert warnings.filters == filters


def test_gallery_examples_are_named_for_the_hook():
    """Check that every example runs in the docs build (plot_*.py), or is a GPU one."""
    names = [path.name for path in EXAMPLES.glob("*.py")]
    assert names
    assert all(re.match(r"(plot|gpu)_\w+\.py$", name) for name in names), names


def _literal_keywords(tree, function):
    """The literal keyword arguments of the calls to `function` in `tree`."""
    return [
        {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords}
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", None)) == function
    ]


def _constant(tree, name):
    """The value of the module-level constant `name` in `tree`."""
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            getattr(target, "id", None) == name for target in node.targets
        ):
            return ast.literal_eval(node.value)
    raise KeyError(name)


def test_anomaly_example_matches_its_benchmark():
    """Check that bench_anomaly measures the setting of the anomaly example.

    The README's ROC AUC comes from docs/results/anomaly.json, written by
    benchmarks/bench_anomaly.py; the example prints the same figure.
    """
    tree = ast.parse((EXAMPLES / "plot_anomaly_detection.py").read_text())
    (params,) = _literal_keywords(tree, "AutoencoderTransformer")
    seed = params.pop("random_state")
    assert params == bench_anomaly.PARAMS
    assert seed == bench_anomaly.SEED
    assert _constant(tree, "LEFT_OUT") == bench_anomaly.LEFT_OUT
    splits = _literal_keywords(tree, "train_test_split")
    assert splits
    assert all(
        split == {"test_size": bench_anomaly.TEST_SIZE, "random_state": seed}
        for split in splits
    )


def test_anomaly_benchmark_data_is_the_examples():
    """Check that the benchmark's split has the example's sizes and dtype."""
    data = bench_anomaly.make_data(bench_anomaly.LEFT_OUT)
    y = load_digits().target
    n_normal = np.sum(y != bench_anomaly.LEFT_OUT)
    assert len(data["X_anomalous"]) == np.sum(y == bench_anomaly.LEFT_OUT)
    assert len(data["X_train"]) + len(data["X_normal"]) == n_normal
    assert all(X.dtype == np.float32 for X in data.values())
    assert all(X.min() >= 0 and X.max() <= 1 for X in data.values())
