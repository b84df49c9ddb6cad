"""Choosing the latent size: the smallest code whose score is close to the best."""

# SPDX-License-Identifier: BSD-3-Clause

from functools import partial
from numbers import Real

import numpy as np

TOLERANCE_MODES = ("relative", "absolute", "std")


def _param_key(cv_results, param):
    """Return the `cv_results` key of `param`, allowing a pipeline prefix.

    ``"n_components"`` matches ``param_n_components`` or, failing that, the
    single key ending in ``__n_components`` (a step of a Pipeline).
    """
    key = f"param_{param}"
    if key in cv_results:
        return key
    matches = [k for k in cv_results if k.startswith("param_") and k.endswith(param)]
    matches = [k for k in matches if k[: -len(param)].endswith("__")]
    if len(matches) == 1:
        return matches[0]
    searched = sorted(k[len("param_") :] for k in cv_results if k.startswith("param_"))
    if not matches:
        raise ValueError(
            f"No searched parameter is named {param!r} or ends in '__{param}'; the "
            f"search varied {searched}. Pass one of them as `param`."
        )
    raise ValueError(
        f"Several searched parameters end in '__{param}': {matches}. Pass the full "
        "name (e.g. 'autoencoder__n_components') as `param`."
    )


def _pick_smallest_within(cv_results, *, tolerance, tolerance_mode, param, scoring):
    """Index of the smallest `param` value scoring within `tolerance` of the best.

    The refit callable behind :func:`smallest_within`; see there.
    """
    score_key = "mean_test_score" if scoring is None else f"mean_test_{scoring}"
    if score_key not in cv_results:
        raise ValueError(
            f"cv_results has no {score_key!r}. With several scorers, pass the name "
            "of the one to select on as `scoring`."
        )
    scores = np.asarray(cv_results[score_key], dtype=float)
    values = np.ma.asarray(cv_results[_param_key(cv_results, param)])
    # Candidates that failed to fit score NaN; those that do not set `param`
    # (a grid given as a list of dicts) are masked: neither can be chosen.
    usable = np.isfinite(scores) & ~np.ma.getmaskarray(values)
    if not usable.any():
        raise ValueError(
            f"No candidate both sets {param!r} and has a finite {score_key!r}."
        )
    best = int(np.flatnonzero(usable)[np.argmax(scores[usable])])
    if tolerance_mode == "relative":
        margin = tolerance * abs(scores[best])
    elif tolerance_mode == "absolute":
        margin = tolerance
    else:
        std_key = score_key.replace("mean_", "std_", 1)
        margin = tolerance * float(cv_results[std_key][best])
    close = np.flatnonzero(usable & (scores >= scores[best] - margin))
    try:
        sizes = np.array([float(v) for v in values.data[close]])
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"smallest_within compares the values of {param!r}, which must be "
            f"numbers; got {list(values.data[close])!r}."
        ) from exc
    smallest = close[sizes == sizes.min()]
    # Among candidates of the same size (other parameters varied too), the
    # best-scoring one wins.
    return int(smallest[np.argmax(scores[smallest])])


def smallest_within(
    tolerance=0.01, *, tolerance_mode="relative", param="n_components", scoring=None
):
    """Make a `refit` rule that picks the smallest latent size close to the best.

    A reconstruction score keeps improving as the code grows, so a search over
    `n_components` alone always picks the largest size, and even a downstream
    score often improves by tiny amounts long after it stops being worth the
    larger code. The returned callable, passed as `refit` to
    :class:`~sklearn.model_selection.GridSearchCV` (or any other
    scikit-learn search), chooses instead the candidate with the smallest
    `param` whose mean cross-validated score is within `tolerance` of the
    best candidate's.

    Read more in the :ref:`User Guide <model_selection>`.

    Parameters
    ----------
    tolerance : float, default=0.01
        How much worse than the best mean test score a candidate may be and
        still be chosen, in the unit set by `tolerance_mode`. 0 picks the
        smallest of the candidates tied with the best.

    tolerance_mode : {"relative", "absolute", "std"}, default="relative"
        How `tolerance` is measured. ``"relative"``: a fraction of the best
        score's magnitude (0.01 accepts scores down to 1% below the best).
        ``"absolute"``: in the unit of the score (0.01 accepts an accuracy
        one point below the best). ``"std"``: in standard deviations of the
        best candidate's scores over the cross-validation splits; with
        ``tolerance=1`` this is the "one standard error" rule of scikit-learn's
        example *Balance model complexity and cross-validated score*.

    param : str, default="n_components"
        Name of the searched parameter to minimise. A name without ``__`` also
        matches the single searched parameter ending in ``__<param>``, so the
        default works when the autoencoder is a step of a
        :class:`~sklearn.pipeline.Pipeline`.

    scoring : str or None, default=None
        With several scorers (`scoring` of the search given as a list or
        dict), the name of the one to select on. None uses
        ``mean_test_score``, the search's single score.

    Returns
    -------
    refit : callable
        A function of the search's `cv_results_` that returns the index of
        the chosen candidate. It can be pickled, like the search holding it.

    See Also
    --------
    sklearn.model_selection.GridSearchCV : Exhaustive search over a parameter
        grid, whose `refit` accepts this callable.

    Notes
    -----
    Selecting the size of the code honestly needs a score that does not grow
    with the code by construction. Put the autoencoder in a
    :class:`~sklearn.pipeline.Pipeline` that ends with the model you care
    about (a classifier, say) and search ``"<step>__n_components"`` with that
    model's score; then use this rule to trade a negligible loss of that score
    for a smaller code.

    When `refit` is a callable, the search sets `best_index_` and
    `best_params_` from it, but not `best_score_`; read the chosen
    candidate's score as ``cv_results_["mean_test_score"][best_index_]``.

    Candidates whose score is not finite (failed fits) or that do not set
    `param` are never chosen. Among candidates of the same size, the best
    scoring one is chosen.

    Examples
    --------
    The rule applied to hand-made search results: size 8 is the smallest
    within 1% of the best accuracy, 0.90.

    >>> from skae.model_selection import smallest_within
    >>> cv_results = {
    ...     "param_n_components": [2, 4, 8, 16],
    ...     "mean_test_score": [0.70, 0.85, 0.895, 0.90],
    ...     "std_test_score": [0.02, 0.02, 0.01, 0.01],
    ... }
    >>> int(smallest_within(0.01)(cv_results))
    2

    In a search, with the autoencoder's codes scored by a classifier:

    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.model_selection import GridSearchCV
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skae import AutoencoderTransformer
    >>> X, y = load_digits(return_X_y=True)
    >>> autoencoder = AutoencoderTransformer(
    ...     hidden_layer_sizes=(16,), max_iter=3, random_state=0
    ... )
    >>> pipe = make_pipeline(MinMaxScaler(), autoencoder, LogisticRegression())
    >>> search = GridSearchCV(
    ...     pipe,
    ...     {"autoencodertransformer__n_components": [2, 4, 8]},
    ...     cv=2,
    ...     refit=smallest_within(0.05),
    ... )
    >>> search.fit(X[:400], y[:400]).best_params_.keys()
    dict_keys(['autoencodertransformer__n_components'])
    """
    if (
        not isinstance(tolerance, Real)
        or isinstance(tolerance, bool)
        or not tolerance >= 0
    ):
        raise ValueError(f"tolerance must be a number >= 0; got {tolerance!r}.")
    if tolerance_mode not in TOLERANCE_MODES:
        raise ValueError(
            f"tolerance_mode must be one of {TOLERANCE_MODES}; got {tolerance_mode!r}."
        )
    if not isinstance(param, str) or not param:
        raise ValueError(f"param must be a parameter name; got {param!r}.")
    if scoring is not None and not isinstance(scoring, str):
        raise ValueError(f"scoring must be a scorer name or None; got {scoring!r}.")
    return partial(
        _pick_smallest_within,
        tolerance=float(tolerance),
        tolerance_mode=tolerance_mode,
        param=param,
        scoring=scoring,
    )
