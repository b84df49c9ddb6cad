"""Categorical features of a table: which they are, their categories and codes.

The imputer's network reads numbers: these functions turn the categorical
features of a DataFrame, an object array or a numeric array into codes (a
category's index among its feature's categories, NaN where missing) and back,
as :class:`~sklearn.preprocessing.OrdinalEncoder` does, keeping pandas
categoricals as such.
"""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np
import pandas as pd


def categorical_mask(X, categorical_features):
    """Which columns of `X` are categorical (a boolean mask), or None for none.

    `categorical_features` is None, ``"from_dtype"`` (the columns of a
    DataFrame whose dtype is ``"category"``; none for other inputs), or an
    array-like of bools (a mask), ints (indices) or strs (feature names), as
    in :class:`~sklearn.ensemble.HistGradientBoostingRegressor`.
    """
    columns = getattr(X, "columns", None)
    if categorical_features is None:
        return None
    if isinstance(categorical_features, str):  # "from_dtype"
        if columns is None or not hasattr(X, "dtypes"):
            return None
        mask = np.array([isinstance(t, pd.CategoricalDtype) for t in X.dtypes])
        return mask if mask.any() else None
    shape = X.shape if hasattr(X, "iloc") else np.asarray(X).shape
    if len(shape) != 2:
        return None  # validate_data says what is wrong
    n_features = shape[1]
    features = np.asarray(categorical_features)
    if features.size == 0:
        return None
    mask = np.zeros(n_features, dtype=bool)
    if features.dtype.kind == "b":
        if features.shape != (n_features,):
            raise ValueError(
                f"categorical_features as a boolean mask needs one entry per "
                f"feature: {n_features}, got {features.size}."
            )
        mask[:] = features
    elif features.dtype.kind in "iu":
        if features.min() < 0 or features.max() >= n_features:
            raise ValueError(
                f"categorical_features holds indices out of range for "
                f"{n_features} features: {features.tolist()}."
            )
        mask[features] = True
    elif features.dtype.kind in "UO" and all(isinstance(f, str) for f in features):
        if columns is None:
            raise ValueError(
                "categorical_features names features, but X has no feature "
                "names: pass indices or a boolean mask instead."
            )
        names = [str(name) for name in columns]
        unknown = sorted(set(map(str, features)) - set(names))
        if unknown:
            raise ValueError(
                f"categorical_features names {unknown}, which are not features "
                f"of X; its features are {names}."
            )
        mask[np.isin(names, features)] = True
    else:
        raise ValueError(
            "categorical_features must be 'from_dtype', None, or an array-like "
            f"of bool, int or str; got {categorical_features!r}."
        )
    return mask if mask.any() else None


def encode_categories(X, is_categorical, categories, missing_values):
    """`X` with each categorical feature's values replaced by their codes.

    Parameters
    ----------
    X : DataFrame or array-like of shape (n_samples, n_features)
        The data; an object array's other features must convert to floats.

    is_categorical : ndarray of shape (n_features,)
        Which features are categorical.

    categories : list of ndarray or None
        The categories of each categorical feature; None finds them: a pandas
        categorical's dtype's, else the observed values, sorted.

    missing_values : float
        The placeholder of missing values, beside NaN, None and pandas' NA.

    Returns
    -------
    X_codes : DataFrame or ndarray
        `X` with codes (floats, NaN where missing) in its categorical
        features: a DataFrame for a DataFrame, else a float array.

    categories : list of ndarray
        The categories of each categorical feature.
    """
    if hasattr(X, "iloc"):
        X_codes = X.copy(deep=False)
    else:
        X = np.asarray(X)
        if X.dtype.kind in "biuf":
            X_codes = X.astype(X.dtype if X.dtype.kind == "f" else np.float64)
        else:
            X_codes = np.empty(X.shape, dtype=np.float64)
            for j in np.flatnonzero(~is_categorical):
                X_codes[:, j] = _numbers(X[:, j], j)
    fit = categories is None
    categories = [] if fit else categories
    for i, j in enumerate(np.flatnonzero(is_categorical)):
        column = X.iloc[:, j] if hasattr(X, "iloc") else X[:, j]
        name = _feature_name(X, j)
        missing = _missing(column, missing_values)
        if fit:
            categories.append(_fit_categories(column, missing, name))
        codes = _codes(column, missing, categories[i], name)
        if hasattr(X_codes, "iloc"):
            X_codes.isetitem(j, codes)
        else:
            X_codes[:, j] = codes
    return X_codes, categories


def decode_categories(X, categories):
    """The codes in columns ``categories.keys()`` of `X` as their categories.

    A DataFrame gets pandas categoricals of the categories; an array stays a
    float array in its dtype when every category is a number, else becomes an
    object array of floats and categories.
    """
    if isinstance(X, pd.DataFrame):
        for j, values in categories.items():
            codes = X.iloc[:, j].to_numpy().astype(np.intp)
            X.isetitem(j, pd.Categorical.from_codes(codes, values))
        return X
    numeric = all(values.dtype.kind in "biuf" for values in categories.values())
    X_out = X.astype(X.dtype if numeric else object)
    for j, values in categories.items():
        X_out[:, j] = values[X[:, j].astype(np.intp)]
    return X_out


def _numbers(column, j):
    """A numeric feature of an object array as floats (missing as NaN)."""
    column = np.where(pd.isna(column), np.nan, column)
    try:
        return column.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"AutoencoderImputer needs numbers in the features that are not "
            f"categorical, but feature {j} has {exc}. Name the categorical "
            "features in categorical_features."
        ) from exc


def _feature_name(X, j):
    """How an error names feature `j`: its name, else its index."""
    columns = getattr(X, "columns", None)
    return repr(columns[j]) if columns is not None else str(j)


def _missing(column, missing_values):
    """Where a column of any dtype holds a missing value."""
    missing = np.asarray(pd.isna(column), dtype=bool)
    if not (isinstance(missing_values, float) and np.isnan(missing_values)):
        missing |= np.asarray(column == missing_values, dtype=bool)
    return missing


def _fit_categories(column, missing, name):
    """The categories of a column: its dtype's for a pandas categorical one,
    else its observed values, sorted (as OrdinalEncoder's)."""
    if isinstance(getattr(column, "dtype", None), pd.CategoricalDtype):
        return column.cat.categories.to_numpy()
    observed = np.asarray(column)[~missing]
    try:
        return np.unique(observed)
    except TypeError as exc:
        raise TypeError(
            f"The categories of feature {name} cannot be sorted ({exc}): give "
            "its values one type, e.g. all str."
        ) from exc


def _codes(column, missing, categories, name):
    """A column's category codes as floats, NaN where missing; refuse values
    that are not among `categories`."""
    values = np.asarray(column, dtype=object)
    codes = pd.Index(categories).get_indexer(values).astype(np.float64)
    unknown = (codes < 0) & ~missing
    if unknown.any():
        found = sorted({str(v) for v in values[unknown]})
        raise ValueError(
            f"Found unknown categories {found[:5]} in feature {name}: an "
            "imputer leaves observed values as they are, so it only takes the "
            "categories seen at fit."
        )
    codes[missing] = np.nan
    return codes
