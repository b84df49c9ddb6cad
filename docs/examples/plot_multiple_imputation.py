"""
====================================================
Multiple imputation and Rubin's rules
====================================================

A value filled in by an imputer is a guess, and an analysis of the filled
table that treats it as observed is too sure of itself: its standard errors
are too small. Multiple imputation (Rubin, 1987) fills the table several
times, each time with values *drawn* from their distribution given what is
observed, analyses each filled table, and pools the results with Rubin's
rules, so that the spread between the imputations enters the standard
errors.

:class:`~skae.AutoencoderImputer` draws such values with
``sample_posterior=True``; imputers with different ``random_state`` give
different draws. This example regresses the diabetes progression score of
scikit-learn's diabetes data on three of its features, after removing values
of those features at random (more often for patients whose progression is
high), and compares the coefficients of the complete data, of the complete
cases, of one deterministic imputation and of 20 imputations pooled.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# Values missing at random
# ------------------------
#
# The table holds the three features and the target: an imputation model
# must see the variables of the analysis, the outcome included, or the
# relations it fills in are weaker than the data's. Each feature value is
# removed with a probability that grows with the target, so the removed
# values are missing at random (given the observed target), not completely
# at random, and the complete cases are not a random sample.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats
from sklearn.datasets import load_diabetes

from skae import AutoencoderImputer

data = load_diabetes(as_frame=True)
features = ["bmi", "bp", "s5"]
df = data.frame[[*features, "target"]].copy()
df[features] = (df[features] - df[features].mean()) / df[features].std()
df["target"] = (df["target"] - df["target"].mean()) / df["target"].std()
rng = np.random.RandomState(0)
probability = 0.45 / (1 + np.exp(-2 * df["target"].to_numpy()))
removed = rng.rand(len(df), len(features)) < probability[:, None]
df_missing = df.copy()
df_missing[features] = df[features].mask(removed)
print(f"{removed.mean():.0%} of the feature values removed")
print(f"{removed.any(axis=1).mean():.0%} of the rows have a missing value")


# %%
# The analysis: least squares, with standard errors
# -------------------------------------------------
def regression(table):
    """Least-squares coefficients of the features and their variances."""
    X = np.column_stack([np.ones(len(table)), table[features].to_numpy()])
    y = table["target"].to_numpy()
    coefficients, *_ = np.linalg.lstsq(X, y, rcond=None)
    residuals = y - X @ coefficients
    noise = residuals @ residuals / (len(y) - X.shape[1])
    variances = np.diag(noise * np.linalg.inv(X.T @ X))
    return coefficients[1:], variances[1:]


def interval(coefficients, variances, df_t=np.inf):
    """Coefficients and the half-widths of their 95% intervals."""
    return coefficients, stats.t.ppf(0.975, df_t) * np.sqrt(variances)


results = {
    "complete data": interval(*regression(df)),
    "complete cases": interval(*regression(df_missing.dropna())),
}

# %%
# One imputation
# --------------
#
# The deterministic imputer fills each value with its best guess. The
# coefficients come out close, but the intervals are those of a table
# without a missing value: too narrow.
imputer = AutoencoderImputer(random_state=0).set_output(transform="pandas")
results["one imputation"] = interval(*regression(imputer.fit_transform(df_missing)))

# %%
# Twenty imputations, pooled by Rubin's rules
# -------------------------------------------
#
# Each imputer draws the missing values (``sample_posterior=True``) and
# differs from the others by its seed, both in its network and in its draws.
# The pooled coefficient is the mean of the 20 estimates; its variance is the
# mean of their variances (within) plus the variance between the estimates,
# times ``1 + 1/m``; the interval uses Rubin's degrees of freedom.
m = 20
estimates, variances = [], []
for seed in range(m):
    imputer = AutoencoderImputer(sample_posterior=True, random_state=seed)
    filled = imputer.set_output(transform="pandas").fit_transform(df_missing)
    coefficients, coefficient_variances = regression(filled)
    estimates.append(coefficients)
    variances.append(coefficient_variances)
estimates, variances = np.array(estimates), np.array(variances)
within = variances.mean(axis=0)
between = estimates.var(axis=0, ddof=1)
total = within + (1 + 1 / m) * between
degrees = (m - 1) * (1 + within / ((1 + 1 / m) * between)) ** 2
results["20 imputations, Rubin"] = interval(estimates.mean(axis=0), total, degrees)
share = (1 + 1 / m) * between / total
print("share of each pooled variance due to the missing values:")
print(pd.Series(share, index=features).round(2).to_string())

# %%
# The coefficients
# ----------------
#
# The complete cases under-represent patients with a high score, and their
# coefficients move away from the complete data's. A single imputation takes
# its guesses for observations: its intervals are as narrow as if nothing
# were missing. The pooled intervals add the variance between the
# imputations (the share printed above), the uncertainty that the missing
# values bring; with 20 imputations that share is estimated well enough for
# intervals.
table = pd.DataFrame(
    {
        name: [f"{c:+.3f} ± {h:.3f}" for c, h in zip(*result, strict=True)]
        for name, result in results.items()
    },
    index=features,
)
print(table.T.to_string())

fig, ax = plt.subplots(figsize=(7, 3.5))
offsets = np.linspace(-0.25, 0.25, len(results))
for offset, (name, (coefficients, half_widths)) in zip(
    offsets, results.items(), strict=True
):
    ax.errorbar(
        np.arange(len(features)) + offset,
        coefficients,
        yerr=half_widths,
        fmt="o",
        capsize=3,
        label=name,
    )
ax.set_xticks(np.arange(len(features)), features)
ax.set_ylabel("coefficient (95% interval)")
ax.legend(fontsize="small")
ax.set_title(f"Diabetes score on three features, {removed.mean():.0%} of them removed")
fig.tight_layout()
plt.show()
