"""docs/api.rst: every public name of skae and its public submodules is listed."""

# SPDX-License-Identifier: BSD-3-Clause

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import skae

API_PAGE = Path(__file__).resolve().parents[1] / "docs" / "api.rst"

# Public names that are not documented objects of their own.
NOT_DOCUMENTED = {"__version__"}


def _public_modules():
    """skae and its submodules whose names do not start with an underscore."""
    submodules = [
        f"skae.{info.name}"
        for info in pkgutil.iter_modules(skae.__path__)
        if not info.name.startswith("_")
    ]
    return ["skae", *sorted(submodules)]


def _public_names(module_name):
    """The public names of a module: its ``__all__``, else its own classes and
    functions whose names do not start with an underscore."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None)
    if names is None:
        names = [
            name
            for name, obj in vars(module).items()
            if not name.startswith("_")
            and (inspect.isclass(obj) or inspect.isfunction(obj))
            and obj.__module__ == module_name
        ]
    return {f"{module_name}.{name}" for name in names if name not in NOT_DOCUMENTED}


def _listed_names(text):
    """The full names of the objects that the autosummary tables of `text` list.

    Entries are relative to the module that the last ``.. module::`` or
    ``.. currentmodule::`` directive set.
    """
    listed = set()
    module = None
    in_table = False
    for line in text.splitlines():
        directive = re.match(r"\.\. (?:current)?module:: (\S+)", line)
        if directive:
            module, in_table = directive[1], False
        elif line.startswith(".. autosummary::"):
            in_table = True
        elif in_table and line.strip() and not line.startswith(" "):
            in_table = False
        elif in_table and line.strip() and not line.strip().startswith(":"):
            listed.add(f"{module}.{line.strip()}")
    return listed


@pytest.fixture(scope="module")
def listed():
    """The names that docs/api.rst lists."""
    return _listed_names(API_PAGE.read_text())


def test_listed_names_parses_autosummary_tables():
    """Check the parser on a page with two modules and an option."""
    text = """
.. currentmodule:: pkg

.. autosummary::
   :toctree: generated/

   First
   second

Prose, not a table entry.

.. module:: pkg.sub

.. autosummary::

   third
"""
    assert _listed_names(text) == {"pkg.First", "pkg.second", "pkg.sub.third"}


@pytest.mark.parametrize("module_name", _public_modules())
def test_api_page_lists_every_public_name(listed, module_name):
    """Check that each public name of a public module has an entry in api.rst."""
    try:
        public = _public_names(module_name)
    except ImportError as exc:  # an optional dependency that is not installed
        pytest.skip(f"{module_name} cannot be imported: {exc}")
    missing = sorted(public - listed)
    assert not missing, f"add to docs/api.rst: {missing}"


def test_api_page_lists_only_existing_names(listed):
    """Check that every entry of api.rst names an object that exists."""
    for name in sorted(listed):
        module_name, _, attribute = name.rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # an optional dependency that is not installed
            continue
        assert hasattr(module, attribute), f"{name} does not exist"
