"""Torch modules, one file per network family. Nothing here knows of scikit-learn."""
