"""
=========================================================
Serving an autoencoder pipeline without torch, with ONNX
=========================================================

A pipeline that holds a skae autoencoder can be exported to `ONNX
<https://onnx.ai>`_ with `skl2onnx <https://onnx.ai/sklearn-onnx/>`_, like
any scikit-learn pipeline, and served with `onnxruntime
<https://onnxruntime.ai>`_ alone: the serving machine needs neither torch nor
scikit-learn. This example trains a pipeline on digits, exports it and the
autoencoder's decoder, and checks that onnxruntime gives the estimators'
results. See :ref:`onnx` for what is converted and how.
"""

# SPDX-License-Identifier: BSD-3-Clause

# %%
# Train
# -----
#
# A scaler, an autoencoder that compresses the 64 pixels into 16 codes, and a
# logistic regression on the codes. Models are trained in float32, as they
# will be served.
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import onnxruntime
import skl2onnx
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

import skae.onnx  # registers skae's converters with skl2onnx
from skae import AutoencoderTransformer

# Few epochs keep the example fast; the autoencoder warns that it could
# train longer.

X, y = load_digits(return_X_y=True)
X = X.astype(np.float32)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

pipe = make_pipeline(
    MinMaxScaler(),
    AutoencoderTransformer(
        n_components=16,
        hidden_layer_sizes=(64,),
        early_stopping=True,
        max_iter=300,
        random_state=0,
    ),
    LogisticRegression(max_iter=1000),
).fit(X_train, y_train)
print(f"test accuracy: {pipe.score(X_test, y_test):.3f}")

# %%
# Export
# ------
#
# ``import skae.onnx`` registered a converter for each skae estimator with
# skl2onnx, so ``skl2onnx.to_onnx`` converts the whole pipeline; one sample
# row tells it the input's width and dtype (the batch size stays free).
# ``zipmap=False`` gives the probabilities as a matrix, as ``predict_proba``
# returns them, instead of one dictionary per row.
onx = skl2onnx.to_onnx(pipe, X_train[:1], options={"zipmap": False})
folder = Path(tempfile.mkdtemp())
path = folder / "digits_pipeline.onnx"
path.write_bytes(onx.SerializeToString())
print(f"{path.name}: {path.stat().st_size / 1024:.0f} KiB")
print("operators:", sorted({node.op_type for node in onx.graph.node}))

# %%
# Serve with onnxruntime only
# ---------------------------
#
# This part needs only ``onnxruntime`` and ``numpy``: it could run in a
# container without torch, skorch or scikit-learn. The model's input is
# ``"X"``; its outputs are the labels and the probabilities.
session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
label, proba = session.run(None, {"X": X_test})

# %%
# The served model gives the pipeline's predictions, to float rounding.
print("labels equal:", bool(np.array_equal(label, pipe.predict(X_test))))
difference = np.abs(proba - pipe.predict_proba(X_test)).max()
print(f"largest difference of the probabilities: {difference:.1e}")

# %%
# Export the decoder
# ------------------
#
# ``inverse_transform`` is converted by :func:`skae.onnx.to_onnx_decoder`:
# codes in, reconstructions out (here in the scaler's [0, 1] units).
scaler, autoencoder = pipe[0], pipe[1]
Z_test = autoencoder.transform(scaler.transform(X_test))
decoder = skae.onnx.to_onnx_decoder(autoencoder, Z_test[:1])
decoder_session = onnxruntime.InferenceSession(
    decoder.SerializeToString(), providers=["CPUExecutionProvider"]
)
(X_reconstructed,) = decoder_session.run(None, {"X": Z_test})
expected = autoencoder.inverse_transform(Z_test)
print(f"largest difference: {np.abs(X_reconstructed - expected).max():.1e}")

# %%
# Test digits, and their reconstructions from 16 codes by the served decoder:
fig, axes = plt.subplots(2, 8, figsize=(8, 2.4))
for i in range(8):
    axes[0, i].imshow(scaler.transform(X_test[i : i + 1]).reshape(8, 8), "gray_r")
    axes[1, i].imshow(X_reconstructed[i].reshape(8, 8), "gray_r")
for ax in axes.ravel():
    ax.set_axis_off()
axes[0, 0].set_title("test digits", loc="left", fontsize=9)
axes[1, 0].set_title("decoded by onnxruntime", loc="left", fontsize=9)
fig.tight_layout()
plt.show()
