"""Imputation of real mixed tables: categories, and multiple imputation.

Two parts, each one run (``--part``) under ten minutes on one thread:

* ``categories``: two real tables with categorical columns, shipped by
  packages: Palmer penguins (344 penguins; species, island and sex, four
  measurements and the year; with real missing values) and the 1996 American
  National Election Studies extract of statsmodels (``anes96``: party
  identification, education and vote, seven numbers). A further 10, 30 or 50%
  of the observed entries are removed completely at random (20 masks each,
  the same for every imputer; the results hold each score's mean and its
  standard error over the masks);
  every imputer fills the whole table (``fit_transform``), and is scored on
  the removed entries: the accuracy on categories and the RMSE on numbers,
  in units of each column's standard deviation. The imputers:
  ``AutoencoderImputer(categorical_features=...)`` with its defaults; the
  column's most frequent category and mean;
  ``IterativeImputer`` on the numbers and the one-hot encoded categories
  (standardised; each category's first column dropped, see
  :class:`OneHotIterativeImputer`), each category then the likeliest;
  and miceforest (LightGBM chained equations) predicting without mean
  matching, so that each fill is its best guess.
* ``draws``: multiple imputation. On 2,000 rows of a known 8-d Gaussian with
  values missing at random (more often where the always-observed first
  feature is high), the share of the removed values that the central 90%
  interval of 20 imputations covers (Weibull quantiles: 90% on average for
  draws of the true conditional distribution), and the interval's mean width
  against the true conditional distribution's; for skae, 20 imputers fitted
  with seeds 0-19 and one imputer's 20 draws, beside
  ``IterativeImputer(sample_posterior=True)`` with 20 seeds and miceforest's
  20 datasets. Then the two tables at 30% removed: the same coverage and
  spread for the numbers, and for categories how often the 20 imputations
  hold the true category, for skae's 20 imputers and miceforest's 20
  datasets (with its default mean matching).

Usage::

    python -m benchmarks.bench_impute_mixed --part categories --docs
    python -m benchmarks.bench_impute_mixed --part draws --docs
    python -m benchmarks.bench_impute_mixed --part categories --quick

miceforest is an optional dependency of the benchmarks (``pip install
'skae[benchmarks]'``); without it its rows are left out.
"""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import json
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer

from benchmarks.provenance import load_average, record_header
from skae import AutoencoderImputer

ROOT = Path(__file__).resolve().parent.parent
RESULTS = {
    "categories": ROOT / "docs" / "results" / "impute_categories.json",
    "draws": ROOT / "docs" / "results" / "impute_draws.json",
}
RATES = (0.1, 0.3, 0.5)
# Masks per table and rate. With 5, the accuracies of the best imputers
# differed by less than their standard errors over the masks: over 10
# masks, the difference between skae's and IterativeImputer's accuracy at
# 10 and 30% removed still had a standard error of 0.4 to 0.8 points.
REPEATS = 20
N_DRAWS = 20
DRAWS_RATE = 0.3
MICE_ITERATIONS = 5
QUICK = {"rates": (0.3,), "repeats": 1, "n_draws": 3, "max_iter": 5}


def load_table(name):
    """A real mixed table: the DataFrame (categories as pandas categoricals)
    and the names of its categorical columns.

    Parameters
    ----------
    name : {"penguins", "anes96"}
        Palmer penguins (package ``palmerpenguins``) or statsmodels' ANES 1996
        extract (``popul`` dropped: ``logpopul`` is its logarithm).
    """
    if name == "penguins":
        from palmerpenguins import load_penguins

        df = load_penguins()
        categorical = ["species", "island", "sex"]
    else:
        import statsmodels.api as sm

        df = sm.datasets.anes96.load_pandas().data.drop(columns="popul")
        categorical = ["PID", "educ", "vote"]
        df[categorical] = df[categorical].astype(int)
    df = df.astype({name: "category" for name in categorical})
    numeric = [name for name in df.columns if name not in categorical]
    return df.astype({name: float for name in numeric}), categorical


def make_data(name, rate, *, repeat=0, random_state=0):
    """The table with a further `rate` of its observed entries removed.

    Returns
    -------
    data : dict
        ``df`` (complete where observed), ``df_missing``, ``removed`` (a
        boolean array of the entries removed), ``categorical`` (names) and
        ``scale`` (each numeric column's standard deviation).
    """
    df, categorical = load_table(name)
    rng = np.random.RandomState([random_state + repeat, round(rate * 1000)])
    removed = (rng.rand(*df.shape) < rate) & df.notna().to_numpy()
    numeric = [c for c in df.columns if c not in categorical]
    return {
        "df": df,
        "df_missing": df.mask(removed),
        "removed": removed,
        "categorical": categorical,
        "scale": df[numeric].std(),
    }


class OneHotIterativeImputer:
    """IterativeImputer on the numbers and the one-hot columns of categories.

    Each categorical column is one-hot encoded without its first category
    (whose column would be one minus the others': with it, each column is
    regressed on its own block's, which are missing with it, and every fill
    stays at the columns' means). All columns are standardised; a missing
    category makes its columns missing, and is filled with the category
    filled highest (the first one's being one minus the others'). Not a
    scikit-learn estimator: the benchmark's baseline.
    """

    def __init__(self, categorical, *, sample_posterior=False, random_state=0):
        self.categorical = categorical
        self.sample_posterior = sample_posterior
        self.random_state = random_state

    def fit_transform(self, df):
        """Fill `df`; return a DataFrame of the same columns and dtypes."""
        parts, layout = [], {}
        for name in df.columns:
            if name in self.categorical:
                categories = df[name].cat.categories
                one_hot = np.array(pd.get_dummies(df[name]), dtype=float)[:, 1:]
                one_hot[df[name].isna().to_numpy()] = np.nan
                layout[name] = (len(parts), categories)
                parts.append(one_hot)
            else:
                layout[name] = (len(parts), None)
                parts.append(df[[name]].to_numpy(dtype=float))
        widths = [part.shape[1] for part in parts]
        starts = np.concatenate([[0], np.cumsum(widths)])
        X = np.hstack(parts)
        mean, std = np.nanmean(X, axis=0), np.nanstd(X, axis=0)
        std[std == 0] = 1
        imputer = IterativeImputer(
            max_iter=10,
            sample_posterior=self.sample_posterior,
            random_state=self.random_state,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            X_filled = imputer.fit_transform((X - mean) / std) * std + mean
        out = df.copy()
        for name, (part, categories) in layout.items():
            block = X_filled[:, starts[part] : starts[part + 1]]
            if categories is None:
                out[name] = block[:, 0]
            else:
                first = 1 - block.sum(axis=1, keepdims=True)
                codes = np.hstack([first, block]).argmax(axis=1)
                filled = pd.Categorical.from_codes(codes, categories)
                out[name] = out[name].where(df[name].notna(), filled)
        return out


class MiceForest:
    """miceforest's imputation kernel as a fit_transform of DataFrames.

    Without `mean_match` (``mean_match_candidates=0``) each fill is the
    model's prediction (the likeliest category). With it, numbers are drawn
    by miceforest's default predictive mean matching, and categories from
    the predicted class probabilities (its ``"fast"`` strategy: the default
    one failed on anes96's education with miceforest 6.0.5, a KDTree given
    NaN).
    """

    def __init__(self, *, num_datasets=1, mean_match=False, random_state=0):
        self.num_datasets = num_datasets
        self.mean_match = mean_match
        self.random_state = random_state

    def fit_transform(self, df):
        """Fill `df`; the first dataset (see :meth:`datasets` for all)."""
        return self.datasets(df)[0]

    def datasets(self, df):
        """Every dataset miceforest completes `df` into."""
        import miceforest

        categorical = [
            c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)
        ]
        options = {"mean_match_candidates": 0}
        if self.mean_match:
            options = {"mean_match_strategy": dict.fromkeys(categorical, "fast")}
        kernel = miceforest.ImputationKernel(
            df.reset_index(drop=True),
            num_datasets=self.num_datasets,
            random_state=self.random_state,
            **options,
        )
        kernel.mice(MICE_ITERATIONS, num_threads=1, verbose=False)
        return [
            kernel.complete_data(i).set_index(df.index)
            for i in range(self.num_datasets)
        ]


def _has_miceforest():
    """Whether the optional miceforest is installed."""
    try:
        import miceforest  # noqa: F401
    except ImportError:
        return False
    return True


# skae ending on its last weights rather than on their average.
LAST_WEIGHTS = "skae, average_decay=0"


def make_estimator(name, categorical, *, quick=False, random_state=0):
    """The imputer `name` of the categories part, unfitted."""
    if name in ("skae", LAST_WEIGHTS):
        imputer = AutoencoderImputer(
            categorical_features=categorical, random_state=random_state
        )
        if name == LAST_WEIGHTS:
            imputer.set_params(average_decay=0.0)
        if quick:
            imputer.set_params(max_iter=QUICK["max_iter"])
        return imputer.set_output(transform="pandas")
    if name == "mean / most frequent":
        return _SimpleTable(categorical)
    if name == "IterativeImputer (one-hot)":
        return OneHotIterativeImputer(categorical, random_state=random_state)
    return MiceForest(random_state=random_state)


class _SimpleTable:
    """Each column's mean, or its most frequent category."""

    def __init__(self, categorical):
        self.categorical = categorical

    def fit_transform(self, df):
        """Fill `df`."""
        out = df.copy()
        for name in df.columns:
            if name in self.categorical:
                out[name] = df[name].fillna(df[name].mode().iloc[0])
            else:
                out[name] = df[name].fillna(df[name].mean())
        return out


def score(df_filled, data):
    """Accuracy on the removed categories and RMSE (sd units) on the removed
    numbers of a filled table."""
    df, removed = data["df"], data["removed"]
    hits, squares = [], []
    for j, name in enumerate(df.columns):
        rows = removed[:, j]
        if not rows.any():
            continue
        truth, filled = df[name][rows], df_filled[name][rows]
        if name in data["categorical"]:
            hits.append(truth.astype(object).to_numpy() == filled.astype(object))
        else:
            error = (filled.to_numpy(float) - truth.to_numpy(float)) / data["scale"][
                name
            ]
            squares.append(error**2)
    return {
        "accuracy": float(np.mean(np.concatenate(hits))),
        "rmse_standardised": float(np.sqrt(np.mean(np.concatenate(squares)))),
        "n_removed_categories": int(sum(len(h) for h in hits)),
        "n_removed_numbers": int(sum(len(s) for s in squares)),
    }


def run_categories(*, quick=False, random_state=0, log=print):
    """The categories part; the JSON-ready record."""
    names = ["skae", LAST_WEIGHTS, "mean / most frequent", "IterativeImputer (one-hot)"]
    if _has_miceforest():
        names.append("miceforest")
    rates = QUICK["rates"] if quick else RATES
    repeats = QUICK["repeats"] if quick else REPEATS
    results, tables = [], {}
    for table in ("penguins", "anes96"):
        df, categorical = load_table(table)
        tables[table] = {
            "n_rows": len(df),
            "categorical": categorical,
            "numeric": [c for c in df.columns if c not in categorical],
            "real_missing": int(df.isna().sum().sum()),
        }
        for rate in rates:
            runs = {name: [] for name in names}
            for repeat in range(repeats):
                data = make_data(table, rate, repeat=repeat, random_state=random_state)
                for name in names:
                    estimator = make_estimator(
                        name, categorical, quick=quick, random_state=random_state
                    )
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        start = time.perf_counter()
                        filled = estimator.fit_transform(data["df_missing"])
                        fit_time = time.perf_counter() - start
                    scores = {**score(filled, data), "fit_time": fit_time}
                    runs[name].append(scores)
                    log(
                        f"{table} rate={rate} repeat={repeat} {name:<28s} "
                        f"accuracy={scores['accuracy']:.3f} "
                        f"rmse={scores['rmse_standardised']:.3f} fit={fit_time:.1f}s"
                    )
            for name in names:
                row = {
                    key: float(np.mean([run[key] for run in runs[name]]))
                    for key in runs[name][0]
                }
                for key in ("accuracy", "rmse_standardised"):
                    if repeats > 1:
                        row[f"{key}_sem"] = _sem([run[key] for run in runs[name]])
                # skae's score less this imputer's, mask by mask: the mean and
                # its standard error (the masks' own difficulty cancels).
                if repeats > 1 and name != "skae":
                    row["skae_minus"] = {
                        key: _paired(runs["skae"], runs[name], key)
                        for key in ("accuracy", "rmse_standardised")
                    }
                results.append({"table": table, "rate": rate, "imputer": name, **row})
    return {"tables": tables, "rates": list(rates), "repeats": repeats}, results


def _paired(ours, theirs, key):
    """Mean and standard error of ``ours[i][key] - theirs[i][key]`` over masks."""
    differences = [a[key] - b[key] for a, b in zip(ours, theirs, strict=True)]
    return {"mean": float(np.mean(differences)), "sem": _sem(differences)}


def _sem(values):
    """The standard error of the mean of `values` (two or more)."""
    return float(np.std(values, ddof=1) / np.sqrt(len(values)))


# -- multiple imputation ----------------------------------------------------


def make_gaussian(n_samples=2000, n_features=8, *, random_state=0):
    """Rows of a known Gaussian, values missing at random, and the true
    conditional mean and variance of each missing value.

    The first feature is always observed; each other value is missing with
    probability ``0.6 * sigmoid(1.5 * x0)``, so more often where ``x0`` is
    high (missing at random, not completely at random).
    """
    rng = np.random.RandomState(random_state)
    A = rng.normal(size=(n_features, n_features))
    covariance = A @ A.T / n_features + 0.3 * np.eye(n_features)
    sd = np.sqrt(np.diag(covariance))
    covariance /= np.outer(sd, sd)
    X = rng.multivariate_normal(np.zeros(n_features), covariance, size=n_samples)
    probability = 0.6 / (1 + np.exp(-1.5 * X[:, :1]))
    missing = rng.rand(n_samples, n_features) < probability
    missing[:, 0] = False
    mean, variance = np.zeros_like(X), np.zeros_like(X)
    for i in np.flatnonzero(missing.any(axis=1)):
        m, o = missing[i], ~missing[i]
        gain = covariance[np.ix_(m, o)] @ np.linalg.inv(covariance[np.ix_(o, o)])
        mean[i, m] = gain @ X[i, o]
        variance[i, m] = np.diag(
            covariance[np.ix_(m, m)] - gain @ covariance[np.ix_(o, m)]
        )
    return {
        "X": X,
        "X_missing": np.where(missing, np.nan, X),
        "missing": missing,
        "mean": mean,
        "variance": variance,
        "covariance": covariance,
    }


def interval_scores(draws, truth, scale=1.0):
    """Coverage of the central 90% interval of `draws` (one row per draw) and
    its mean width and the draws' mean spread, in units of `scale`."""
    low, high = np.quantile(draws, [0.05, 0.95], axis=0, method="weibull")
    return {
        "coverage": float(np.mean((low <= truth) & (truth <= high))),
        "width": float(np.mean((high - low) / scale)),
        "spread": float(np.mean(draws.std(axis=0, ddof=1) / scale)),
    }


def _skae_draws(X, n_draws, *, refit, quick, **params):
    """`n_draws` imputations by skae: by `n_draws` imputers of seeds 0, 1, ...
    (`refit`), or by one imputer's transform with those seeds."""
    make = AutoencoderImputer(sample_posterior=True, random_state=0, **params)
    if quick:
        make.set_params(max_iter=QUICK["max_iter"])
    draws = []
    imputer = None
    for seed in range(n_draws):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if refit or imputer is None:
                imputer = make.set_params(random_state=seed).fit(X)
            draws.append(imputer.set_params(random_state=seed).transform(X))
    return draws


def run_draws(*, quick=False, random_state=0, log=print):
    """The multiple-imputation part; the JSON-ready settings and rows."""
    n_draws = QUICK["n_draws"] if quick else N_DRAWS
    gaussian = make_gaussian(500 if quick else 2000, random_state=random_state)
    missing, X = gaussian["missing"], gaussian["X"]
    truth = X[missing]
    oracle_rng = np.random.RandomState(random_state)
    oracle = gaussian["mean"][missing] + np.sqrt(
        gaussian["variance"][missing]
    ) * oracle_rng.normal(size=(n_draws, missing.sum()))
    rows = [{"data": "gaussian", "imputer": "true conditional distribution"}]
    rows[0].update(interval_scores(oracle, truth))
    methods = {
        "skae, 20 imputers (seeds 0-19)": lambda: _skae_draws(
            gaussian["X_missing"], n_draws, refit=True, quick=quick
        ),
        "skae, one imputer's 20 draws": lambda: _skae_draws(
            gaussian["X_missing"], n_draws, refit=False, quick=quick
        ),
        "IterativeImputer(sample_posterior=True), 20 seeds": lambda: [
            IterativeImputer(sample_posterior=True, random_state=seed).fit_transform(
                gaussian["X_missing"]
            )
            for seed in range(n_draws)
        ],
    }
    if _has_miceforest():
        columns = [f"x{j}" for j in range(X.shape[1])]

        def mice():
            frame = pd.DataFrame(gaussian["X_missing"], columns=columns)
            kernel = MiceForest(
                num_datasets=n_draws, mean_match=True, random_state=random_state
            )
            return [d.to_numpy() for d in kernel.datasets(frame)]

        methods["miceforest, 20 datasets"] = mice
    for name, draw in methods.items():
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            draws = np.stack([d[missing] for d in draw()])
        row = {"data": "gaussian", "imputer": name, **interval_scores(draws, truth)}
        row["time"] = time.perf_counter() - start
        row["rmse_of_mean"] = float(np.sqrt(np.mean((draws.mean(0) - truth) ** 2)))
        rows.append(row)
        log(f"draws gaussian {name:<52s} {_say(row)}")
    for table in ("penguins", "anes96"):
        data = make_data(table, DRAWS_RATE, random_state=random_state)
        categorical = data["categorical"]
        methods = {
            "skae, 20 imputers (seeds 0-19)": partial(
                _skae_table_draws, data, n_draws, quick
            )
        }
        if _has_miceforest():
            kernel = MiceForest(
                num_datasets=n_draws, mean_match=True, random_state=random_state
            )
            methods["miceforest, 20 datasets"] = partial(
                kernel.datasets, data["df_missing"]
            )
        for name, draw in methods.items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                frames = draw()
            row = {"data": table, "imputer": name, "time": time.perf_counter() - start}
            row.update(_table_spread(frames, data, categorical))
            rows.append(row)
            log(f"draws {table} {name:<52s} {_say(row)}")
    settings = {
        "n_draws": n_draws,
        "gaussian": {
            "n_samples": int(X.shape[0]),
            "n_features": int(X.shape[1]),
            "missing": float(missing.mean()),
        },
        "tables_rate": DRAWS_RATE,
    }
    return settings, rows


def _skae_table_draws(data, n_draws, quick):
    """skae's imputations of a table by `n_draws` imputers of seeds 0, 1, ..."""
    imputer = AutoencoderImputer(
        categorical_features=data["categorical"], sample_posterior=True
    ).set_output(transform="pandas")
    if quick:
        imputer.set_params(max_iter=QUICK["max_iter"])
    return [
        imputer.set_params(random_state=seed).fit_transform(data["df_missing"])
        for seed in range(n_draws)
    ]


def _table_spread(frames, data, categorical):
    """Coverage and spread of the numbers, and how often the imputations of
    a category hold the true one, over the removed entries of a table."""
    df, removed = data["df"], data["removed"]
    numbers, truths, scales, hits, held = [], [], [], [], []
    for j, name in enumerate(df.columns):
        rows = removed[:, j]
        if not rows.any():
            continue
        truth = df[name][rows]
        values = [frame[name][rows] for frame in frames]
        if name in categorical:
            draws = np.stack([v.astype(object).to_numpy() for v in values])
            equal = draws == truth.astype(object).to_numpy()
            hits.append(equal.mean(axis=0))
            held.append(equal.any(axis=0))
        else:
            numbers.append(np.stack([v.to_numpy(float) for v in values]))
            truths.append(truth.to_numpy(float))
            scales.append(np.full(rows.sum(), data["scale"][name]))
    scores = interval_scores(
        np.concatenate(numbers, axis=1),
        np.concatenate(truths),
        np.concatenate(scales),
    )
    scores["category_hit_rate"] = float(np.mean(np.concatenate(hits)))
    scores["category_held"] = float(np.mean(np.concatenate(held)))
    return scores


def _say(row):
    """One log line's scores."""
    return " ".join(
        f"{key}={value:.3f}" for key, value in row.items() if isinstance(value, float)
    )


# -- tables -----------------------------------------------------------------

TABLE_NAMES = {"penguins": "Palmer penguins", "anes96": "ANES 1996 (statsmodels)"}


def _markdown(header, rows):
    """A markdown pipe table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def _provenance(record):
    """The sentence that says when, how and on what a record was run."""
    hardware = record["hardware"]
    return (
        f"Run of {record['created'][:10]}: `{record['command']}` on "
        f"{hardware['cpu']}, one thread (load average "
        f"{hardware['load_average_at_start'][0]} at the start, "
        f"{hardware['load_average_at_end'][0]} at the end); "
        f"{record['total_time'] / 60:.1f} min in all."
    )


def categories_table(record):
    """The categories part as markdown: what was run, then the table."""
    settings = record["settings"]
    described = "; ".join(
        f"{TABLE_NAMES[name]}: {table['n_rows']} rows, categories "
        f"{', '.join(f'`{c}`' for c in table['categorical'])}, numbers "
        f"{', '.join(f'`{c}`' for c in table['numeric'])}, "
        f"{table['real_missing']} values missing"
        for name, table in settings["tables"].items()
    )
    text = (
        f"{described}. A further 10, 30 or 50% of the observed entries removed "
        f"at random ({settings['repeats']} masks each, averaged, the same for "
        "every imputer); each imputer fills the whole table. Accuracy on the "
        "removed categories; RMSE on the removed numbers, in units of each "
        "column's standard deviation; ± their standard errors over the masks "
        "(for skae's differences with each imputer, over the masks' paired "
        "differences: positive accuracy, negative RMSE favour skae); "
        "fit: wall seconds. skae: `AutoencoderImputer(categorical_features=...)`, "
        "its defaults (training ends on a moving average of the weights over "
        "the last hundred or so batches), and ending on its last weights "
        "instead (`average_decay=0`); IterativeImputer on the standardised "
        "numbers and one-hot columns (less each one's first), each category "
        "the likeliest; miceforest "
        f"without mean matching, {MICE_ITERATIONS} iterations. " + _provenance(record)
    )
    rows = [
        [
            TABLE_NAMES[row["table"]],
            f"{row['rate']:.0%}",
            row["imputer"],
            _with_sem(row, "accuracy"),
            _with_sem(row, "rmse_standardised"),
            _paired_cell(row, "accuracy", 100, "{:+.2f} ± {:.2f}"),
            _paired_cell(row, "rmse_standardised", 1, "{:+.3f} ± {:.3f}"),
            f"{row['fit_time']:.1f}",
        ]
        for row in record["results"]
    ]
    header = [
        "table",
        "removed",
        "imputer",
        "accuracy",
        "RMSE (sd units)",
        "skae's accuracy less this one's (points, paired)",
        "skae's RMSE less this one's (paired)",
        "fit (s)",
    ]
    return text + "\n\n" + _markdown(header, rows) + "\n"


def _paired_cell(row, key, scale, template):
    """skae's paired difference with this imputer's `key`, scaled; empty for
    skae itself and in records that predate it."""
    if "skae_minus" not in row:
        return ""
    paired = row["skae_minus"][key]
    return template.format(scale * paired["mean"], scale * paired["sem"])


def _with_sem(row, key):
    """A score of the categories part, ± its standard error where recorded
    (not for one mask, nor in records that predate it)."""
    if f"{key}_sem" not in row:
        return f"{row[key]:.3f}"
    return f"{row[key]:.3f} ± {row[f'{key}_sem']:.3f}"


def draws_table(record):
    """The multiple-imputation part as markdown: what was run, then the tables."""
    settings = record["settings"]
    gaussian = settings["gaussian"]
    text = (
        f"Gaussian: {gaussian['n_samples']:,} rows of a known "
        f"{gaussian['n_features']}-d Gaussian (unit variances), "
        f"{gaussian['missing']:.0%} of the values missing at random (more often "
        "where the first, always observed, feature is high). Coverage: share of "
        f"the removed values inside the central 90% interval of "
        f"{settings['n_draws']} imputations (Weibull quantiles, which cover 90% "
        "on average for draws of the true distribution); width: the interval's "
        "mean width; spread: the imputations' mean standard deviation. "
        + _provenance(record)
    )
    gaussian_rows = [
        [
            row["imputer"],
            f"{row['coverage']:.3f}",
            f"{row['width']:.3f}",
            f"{row['spread']:.3f}",
            f"{row['rmse_of_mean']:.3f}" if "rmse_of_mean" in row else "",
            f"{row['time']:.1f}" if "time" in row else "",
        ]
        for row in record["results"]
        if row["data"] == "gaussian"
    ]
    header = [
        "imputations",
        "coverage",
        "width",
        "spread",
        "RMSE of their mean",
        "time (s)",
    ]
    tables_text = (
        f"The two tables above, {settings['tables_rate']:.0%} of their observed "
        "entries removed at random: coverage, width and spread of the numbers' "
        "imputations, in units of each column's standard deviation; for "
        "categories, the share of the imputations that hold the true category "
        "(hit rate) and the share of removed categories that at least one "
        "imputation holds. miceforest with its default mean matching for numbers, "
        "categories drawn from its class probabilities."
    )
    table_rows = [
        [
            TABLE_NAMES[row["data"]],
            row["imputer"],
            f"{row['coverage']:.3f}",
            f"{row['width']:.3f}",
            f"{row['spread']:.3f}",
            f"{row['category_hit_rate']:.3f}",
            f"{row['category_held']:.3f}",
            f"{row['time']:.1f}",
        ]
        for row in record["results"]
        if row["data"] != "gaussian"
    ]
    table_header = [
        "table",
        "imputations",
        "coverage",
        "width",
        "spread",
        "category hit rate",
        "category held",
        "time (s)",
    ]
    return (
        text
        + "\n\n"
        + _markdown(header, gaussian_rows)
        + "\n\n"
        + tables_text
        + "\n\n"
        + _markdown(table_header, table_rows)
        + "\n"
    )


RENDERERS = {"categories": categories_table, "draws": draws_table}


def run(part, *, quick=False, random_state=0, log=print, command=None):
    """Run one part; return the JSON-ready record."""
    packages = ("miceforest", "lightgbm", "palmerpenguins", "statsmodels")
    header = record_header(
        f"impute_{part}", seed=random_state, packages=packages, command=command
    )
    start = time.perf_counter()
    runner = run_categories if part == "categories" else run_draws
    settings, results = runner(quick=quick, random_state=random_state, log=log)
    header["hardware"]["load_average_at_end"] = load_average()
    return {
        **header,
        "quick": quick,
        "settings": settings,
        "results": results,
        "total_time": time.perf_counter() - start,
    }


def main(argv=None):
    """Run a part and write its JSON, or print the tables of a JSON file."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_impute_mixed",
        description=__doc__.splitlines()[0],
    )
    parser.add_argument("--part", choices=sorted(RESULTS), default="categories")
    parser.add_argument("--quick", action="store_true", help="smoke run")
    parser.add_argument("--seed", type=int, default=0, help="the one random seed")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    parser.add_argument(
        "--docs", action="store_true", help="write docs/results/impute_<part>.json"
    )
    parser.add_argument("--table", type=Path, help="print the tables of a JSON file")
    args = parser.parse_args(argv)
    if args.table:
        record = json.loads(args.table.read_text())
        print(RENDERERS[record["benchmark"].removeprefix("impute_")](record), end="")
        return
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(1)
    threadpool_limits(1)
    record = run(
        args.part,
        quick=args.quick,
        random_state=args.seed,
        log=lambda line: print(line, flush=True),
    )
    text = json.dumps(record, indent=1) + "\n"
    if args.out:
        args.out.write_text(text)
    if args.docs:
        RESULTS[args.part].write_text(text)
        print(f"Wrote {RESULTS[args.part]}")
    print(RENDERERS[args.part](record), end="")


if __name__ == "__main__":
    main()
