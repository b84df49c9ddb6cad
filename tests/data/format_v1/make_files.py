"""Write the files of tests/data/format_v1 (run once, on skae 0.1.0's main).

Each file is a small fitted estimator saved by that version's `skae.save`,
beside the outputs it gave (``outputs.npz``): test_persistence checks that
today's `skae.load` reads each file to the same outputs. Kept as the record of
how they were made; running it again on a newer skae writes newer files.
"""

# SPDX-License-Identifier: BSD-3-Clause

import pathlib
import warnings

import numpy as np

import skae

HERE = pathlib.Path(__file__).parent


def data():
    """60 rows of 16 values in [0, 1] (4x4 images), and 3 labels."""
    rng = np.random.RandomState(0)
    X = rng.rand(60, 16).astype(np.float32)
    y = np.digitize(X[:, 0], [0.33, 0.66])
    return X, y


def estimators():
    """One small estimator per kind, and the conv network of two of them."""
    small = {
        "n_components": 3,
        "hidden_layer_sizes": (8,),
        "max_iter": 3,
        "random_state": 0,
    }
    conv = {"image_shape": (4, 4), "conv_channels": (2,)}
    return {
        "AutoencoderTransformer": skae.AutoencoderTransformer(**small),
        "AutoencoderTransformer_conv": skae.AutoencoderTransformer(**small, **conv),
        "DenoisingAutoencoder": skae.DenoisingAutoencoder(**small),
        "SparseAutoencoder": skae.SparseAutoencoder(**small, sparsity="kl"),
        "VariationalAutoencoder": skae.VariationalAutoencoder(**small),
        "VariationalAutoencoder_random": skae.VariationalAutoencoder(
            **small, init="random", likelihood="bernoulli"
        ),
        "VariationalAutoencoder_conv": skae.VariationalAutoencoder(**small, **conv),
        "AutoencoderImputer": skae.AutoencoderImputer(**small),
        "AutoencoderImputer_conv": skae.AutoencoderImputer(**small, **conv),
        "AutoencoderClassifier": skae.AutoencoderClassifier(
            skae.AutoencoderTransformer(**small),
            head_hidden_layer_sizes=(4,),
            max_iter=3,
            random_state=0,
        ),
    }


def outputs(estimator, X):
    """What a loaded estimator must give again."""
    if isinstance(estimator, skae.AutoencoderClassifier):
        return {"predict_proba": estimator.predict_proba(X)}
    if isinstance(estimator, skae.AutoencoderImputer):
        X_missing = X.copy()
        X_missing[::4, ::3] = np.nan
        return {"transform": estimator.transform(X_missing)}
    result = {"transform": estimator.transform(X)}
    result["inverse_transform"] = estimator.inverse_transform(result["transform"])
    result["score_samples"] = estimator.score_samples(X)
    return result


def main():
    X, y = data()
    arrays = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, estimator in estimators().items():
            if isinstance(estimator, skae.AutoencoderClassifier):
                estimator.fit(X, y)
            elif isinstance(estimator, skae.AutoencoderImputer):
                X_missing = X.copy()
                X_missing[1::5, 1::2] = np.nan
                estimator.fit(X_missing)
            else:
                estimator.fit(X)
            skae.save(estimator, HERE / f"{name}.skae")
            for method, value in outputs(estimator, X).items():
                arrays[f"{name}.{method}"] = value
    np.savez(HERE / "outputs.npz", **arrays)


if __name__ == "__main__":
    main()
