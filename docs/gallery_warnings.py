"""A sphinx-gallery hook that runs each example with warnings turned into errors.

``docs/conf.py`` names :func:`warnings_as_errors` in ``reset_modules``: any
warning an example raises (a ``ConvergenceWarning``, a deprecation) then fails
the example, and so the docs build, as it would fail a user who copies it.
"""

# SPDX-License-Identifier: BSD-3-Clause

import warnings

# The filters in force while an example runs, left when it ends.
_context = []


def warnings_as_errors(gallery_conf, fname, when):
    """Turn warnings into errors before an example; restore the filters after it.

    Parameters
    ----------
    gallery_conf : dict
        sphinx-gallery's configuration (unused).

    fname : str
        The example's file (unused).

    when : {"before", "after"}
        Whether the example is about to run or has run.
    """
    # An example whose "after" never came leaves its context open: close it.
    while _context:
        _context.pop().__exit__(None, None, None)
    if when == "before":
        context = warnings.catch_warnings()
        context.__enter__()
        _context.append(context)
        warnings.simplefilter("error")
