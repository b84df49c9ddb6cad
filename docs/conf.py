"""Sphinx configuration of the skae documentation."""

# SPDX-License-Identifier: BSD-3-Clause

import inspect
import os
import re
import sys
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

DOCS = Path(__file__).resolve().parent
# Document this checkout, whether or not it is the installed copy of skae.
sys.path.insert(0, str(DOCS.parent))
# gallery_warnings, the hook named in sphinx_gallery_conf below.
sys.path.insert(0, str(DOCS))

import skae  # noqa: E402

# The gallery runs without a display.
os.environ.setdefault("MPLBACKEND", "Agg")

# -- Project -------------------------------------------------------------------

project = "skae"
author = "The skae developers"
copyright = "The skae developers"
release = skae.__version__
version = ".".join(release.split(".")[:2])

# -- General -------------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    # MathJax ships with the docs instead of coming from a CDN, so that the
    # formulas render offline (a built copy, a machine without network). The
    # package (PyPI) holds MathJax 3.2.2, the last 3.x release and the major
    # version sphinx.ext.mathjax targets, copies it to _static/mathjax/ and
    # points mathjax_path there, through Sphinx's public hooks only. Chosen
    # over Debian's libjs-mathjax (MathJax 2, and an apt step that
    # `pip install -e ".[docs]"` cannot bring) and over sphinx.ext.imgmath
    # (a LaTeX install in CI, and formulas as images).
    "sphinx-mathjax-offline",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

# `examples/` holds the gallery's sources: sphinx-gallery turns them into
# `auto_examples/`, so Sphinx must not read its README.rst as a page.
exclude_patterns = ["_build", "examples", "Thumbs.db", ".DS_Store"]
root_doc = "index"
default_role = "literal"
pygments_style = "sphinx"

# -- API pages (autosummary, autodoc, numpydoc) --------------------------------

autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": True}
autodoc_typehints = "none"  # numpydoc's Parameters section is the contract
# A subclass's __init__ has no docstring of its own: show its signature rather
# than object.__init__'s "Initialize self" text.
autodoc_inherit_docstrings = False
# autodoc documents every method below the class; numpydoc's table would list
# them twice.
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# -- Gallery (sphinx-gallery) --------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "examples",
    "gallery_dirs": "auto_examples",
    # plot_*.py run on every build (CPU, < 60 s each); gpu_*.py are only shown.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "FileNameSortKey",
    # "Examples using X" lists for the API pages (see _add_minigallery).
    "doc_module": ("skae",),
    "backreferences_dir": "generated",
    "image_scrapers": ("matplotlib",),
    # Any warning an example raises fails it, and the build; the filters are
    # restored after each example. The examples' own filters still apply.
    "reset_modules": ("matplotlib", "gallery_warnings.warnings_as_errors"),
    "reset_modules_order": "both",
    "remove_config_comments": True,
    "min_reported_time": 1,
}

# -- HTML ----------------------------------------------------------------------

html_theme = "alabaster"
html_title = f"skae {release}"
html_theme_options = {
    "description": "scikit-learn autoencoders: PCA, but nonlinear.",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "230px",
}
html_sidebars = {
    "**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]
}
html_static_path = []
html_show_sourcelink = False

# -- Links to scikit-learn and PyTorch, without intersphinx --------------------

# intersphinx needs the network to fetch objects.inv. Instead, the references
# that skae's and scikit-learn's docstrings make to those projects are turned
# into plain links here, so that they resolve offline and raise no warning.
SKLEARN_URL = "https://scikit-learn.org/stable/"
TORCH_URL = "https://docs.pytorch.org/docs/stable/"

# Labels of scikit-learn's docs cited by the docstrings skae inherits from
# scikit-learn (set_output, score, get_metadata_routing, ...). Other labels in
# those docstrings link to a search of scikit-learn's docs, so that a new
# scikit-learn release cannot break the build; a label missing from skae's own
# pages stays a warning.
SKLEARN_LABELS = {
    "accuracy_score": ("modules/model_evaluation.html#accuracy-score", "accuracy"),
    "df_output_transform": (
        "modules/df_output_transform.html",
        "Pandas/Polars Output for Transformers",
    ),
    "metadata_routing": ("metadata_routing.html", "Metadata Routing"),
    "sphx_glr_auto_examples_miscellaneous_plot_set_output.py": (
        "auto_examples/miscellaneous/plot_set_output.html",
        "Introducing the set_output API",
    ),
}


def _external_link(node):
    """Return the URL and title of an unresolved reference, or None.

    The title is None where the reference's own text should be kept.
    """
    domain, kind = node.get("refdomain"), node.get("reftype")
    target = node.get("reftarget", "")
    if domain == "std" and kind == "term":
        # scikit-learn's glossary holds the terms (fit, random_state, ...).
        anchor = re.sub(r"[^a-zA-Z0-9._]+", "-", " ".join(target.split()))
        return f"{SKLEARN_URL}glossary.html#term-{anchor}", None
    if domain == "std" and kind == "ref":
        if target in SKLEARN_LABELS:
            path, title = SKLEARN_LABELS[target]
            return SKLEARN_URL + path, title
        if "docstring of sklearn." in (node.source or ""):
            return f"{SKLEARN_URL}search.html?q={target}", None
    if domain == "py" and kind in {"class", "func", "obj"}:
        # Only public classes and functions have a page of their own.
        public = not any(part.startswith("_") for part in target.split("."))
        if public and target.startswith("sklearn.") and target[8:].count(".") == 1:
            return f"{SKLEARN_URL}modules/generated/{target}.html", None
        if public and target.startswith("torch."):
            return f"{TORCH_URL}generated/{target}.html", None
    return None


def _resolve_external(app, env, node, contnode):
    """Link references to scikit-learn and PyTorch objects to their online docs."""
    link = _external_link(node)
    if link is None:
        return None
    uri, title = link
    if title is not None and not node.get("refexplicit"):
        # A bare :ref:`label` shows the label; show the page's title instead.
        contnode = nodes.inline(title, title)
    reference = nodes.reference("", "", internal=False, refuri=uri)
    reference.append(contnode)
    return reference


# -- Front page: the estimators, from the registry ----------------------------

# Included by index.rst; git-ignored. Not a .rst file, so that Sphinx does not
# read it as a page of its own.
ESTIMATOR_TABLE = DOCS / "_estimators.inc"


def _write_estimator_table(app):
    """Write the front page's table of estimators from skae's registry.

    One row per class of ``skae._registry.ESTIMATORS``, with the first line of
    its docstring, so that a newly registered kind appears on the front page
    without editing it. The file is rewritten only when it changes: an
    unchanged table then does not make Sphinx reread index.rst.
    """
    from skae._registry import ESTIMATORS

    rows = []
    for cls in ESTIMATORS:
        if getattr(skae, cls.__name__, None) is not cls:
            logging.getLogger(__name__).warning(
                "skae._registry.ESTIMATORS lists %s, which skae does not export: "
                "the front page cannot link to it",
                cls.__name__,
            )
        summary = inspect.getdoc(cls).splitlines()[0]
        rows += [f"   * - :class:`~skae.{cls.__name__}`", f"     - {summary}"]
    text = "\n".join(
        [
            ".. Generated by docs/conf.py from skae._registry.ESTIMATORS; do not edit.",
            "",
            ".. list-table::",
            "   :header-rows: 1",
            "   :widths: 30 70",
            "",
            "   * - estimator",
            "     - what it is",
            *rows,
        ]
    )
    text += "\n"
    if not ESTIMATOR_TABLE.is_file() or ESTIMATOR_TABLE.read_text() != text:
        ESTIMATOR_TABLE.write_text(text)


def _add_minigallery(app, what, name, obj, options, lines):
    """End the page of each skae class or function with the examples using it."""
    if what not in {"class", "function"} or not name.startswith("skae."):
        return
    # sphinx-gallery writes these files before any page is read.
    examples = DOCS / sphinx_gallery_conf["backreferences_dir"] / f"{name}.examples"
    if examples.is_file() and examples.stat().st_size > 0:
        lines += ["", f".. minigallery:: {name}", "   :add-heading:", ""]


def setup(app):
    """Connect the hooks above; the minigallery runs after numpydoc's rewrite."""
    app.connect("builder-inited", _write_estimator_table)
    app.connect("missing-reference", _resolve_external)
    app.connect("autodoc-process-docstring", _add_minigallery, priority=600)
