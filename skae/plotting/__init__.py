"""Displays of fitted autoencoders: reconstructions, codes, training and samples.

Each display follows scikit-learn's visualization API: ``from_estimator``
computes what it draws through the estimator's public methods (so that a
model on a GPU is plotted from NumPy arrays), ``plot(ax=...)`` draws and
returns the display, and the matplotlib objects are kept as attributes
(``ax_``, ``figure_``, and the artists). matplotlib is an optional
dependency, imported when a display draws: ``pip install skae[plot]``.
"""

# SPDX-License-Identifier: BSD-3-Clause

from skae.plotting._codes import CodeActivationDisplay, LatentSpaceDisplay
from skae.plotting._generative import LatentTraversalDisplay, SampleGridDisplay
from skae.plotting._history import TrainingHistoryDisplay
from skae.plotting._reconstruction import ReconstructionDisplay

__all__ = [
    "CodeActivationDisplay",
    "LatentSpaceDisplay",
    "LatentTraversalDisplay",
    "ReconstructionDisplay",
    "SampleGridDisplay",
    "TrainingHistoryDisplay",
]
