"""Loaders for the image datasets used in skae's examples and benchmarks."""

# SPDX-License-Identifier: BSD-3-Clause

import gzip
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

__all__ = ["load_fashion_mnist", "load_mnist"]

# Folders searched after `data_home` and $SKAE_DATA. Module-level so that tests can
# point them at empty temporary folders; the home folder is expanded at call time.
_SYSTEM_DATA_HOME = Path("/usr/share/datasets")
_USER_DATA_HOME = Path("~/skae_data")

_SUBSETS = {"train": "train", "test": "t10k"}

# IDX type codes (3rd byte of the magic number) -> big-endian numpy dtypes.
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


@dataclass(frozen=True)
class _DatasetInfo:
    """Static facts about one IDX dataset: names, description, how to get it."""

    name: str
    title: str
    target_names: tuple[str, ...]
    descr: str
    how_to_get: str


_FASHION_MNIST = _DatasetInfo(
    name="fashion-mnist",
    title="Fashion-MNIST",
    target_names=(
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
    descr="""\
.. _fashion_mnist_dataset:

Fashion-MNIST dataset
---------------------

Grey-scale 28x28 images of Zalando's article photos in 10 classes, made as a
drop-in replacement for MNIST (same image size, file format and split sizes).

=================   ===============================
Classes             10
Samples total       70000 (60000 train, 10000 test)
Dimensionality      784 (28x28 pixels)
Features            float32 in [0, 1] (uint8 / 255)
=================   ===============================

Use the official split: fit on the 60,000 ``subset="train"`` images and
measure on the 10,000 ``subset="test"`` images.

- Source: https://github.com/zalandoresearch/fashion-mnist (on Debian and
  Ubuntu: ``apt-get install dataset-fashion-mnist``).
- Licence: MIT (Expat), Copyright (c) 2017 Zalando SE.

.. rubric:: References

- Han Xiao, Kashif Rasul and Roland Vollgraf. "Fashion-MNIST: a Novel Image
  Dataset for Benchmarking Machine Learning Algorithms". arXiv:1708.07747, 2017.
""",
    how_to_get=(
        "On Debian/Ubuntu, run `apt-get install dataset-fashion-mnist` (the files "
        "land in /usr/share/datasets/fashion-mnist). Otherwise, get the four IDX "
        "files from https://github.com/zalandoresearch/fashion-mnist."
    ),
)

_MNIST = _DatasetInfo(
    name="mnist",
    title="MNIST",
    target_names=tuple(str(digit) for digit in range(10)),
    descr="""\
.. _mnist_dataset:

MNIST dataset
-------------

Grey-scale 28x28 images of handwritten digits 0 to 9, size-normalised and
centred, taken from NIST's Special Databases 1 and 3.

=================   ===============================
Classes             10
Samples total       70000 (60000 train, 10000 test)
Dimensionality      784 (28x28 pixels)
Features            float32 in [0, 1] (uint8 / 255)
=================   ===============================

Use the official split: fit on the 60,000 ``subset="train"`` images and
measure on the 10,000 ``subset="test"`` images.

- Source: http://yann.lecun.com/exdb/mnist/ (Yann LeCun, Corinna Cortes and
  Christopher J.C. Burges). No Debian package ships it.
- Licence: the source states none; MNIST is commonly redistributed under
  Creative Commons Attribution-Share Alike 3.0.

.. rubric:: References

- Yann LeCun, Léon Bottou, Yoshua Bengio and Patrick Haffner. "Gradient-based
  learning applied to document recognition". Proceedings of the IEEE, 86(11),
  1998.
""",
    how_to_get=(
        "No Debian/Ubuntu package ships MNIST: get the four IDX files from the "
        "dataset's site, http://yann.lecun.com/exdb/mnist/, or a mirror."
    ),
)


def _read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file, gzip-compressed when its name ends in ``.gz``.

    Parameters
    ----------
    path : str or os.PathLike
        The IDX file, e.g. ``train-images-idx3-ubyte.gz``.

    Returns
    -------
    array : ndarray
        The values, of the shape written in the header and the dtype coded in
        the magic number, in native byte order (uint8 for (Fashion-)MNIST).
        Read-only when no byte swap was needed, as it then views the bytes read.

    Raises
    ------
    ValueError
        If the file is not a valid IDX file: bad magic number, or a payload
        that does not match the header's dimensions.
    """
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as file:
                raw = file.read()
        else:
            raw = path.read_bytes()
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise ValueError(f"{path} is not a valid gzip file: {exc}") from exc

    # Header: two zero bytes, a type code, the number of dimensions, then one
    # big-endian uint32 per dimension.
    if (
        len(raw) < 4
        or raw[0] != 0
        or raw[1] != 0
        or raw[2] not in _IDX_DTYPES
        or raw[3] == 0
    ):
        raise ValueError(
            f"{path} is not an IDX file: bad magic number {raw[:4].hex() or '(empty)'}"
            " (expected 0x0000 followed by a type code such as 0x08 for uint8 and "
            "the number of dimensions)."
        )
    dtype = _IDX_DTYPES[raw[2]]
    ndim = raw[3]
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise ValueError(
            f"{path} is corrupt: its IDX header declares {ndim} dimensions but "
            f"the file holds only {len(raw)} bytes."
        )
    shape = tuple(int(n) for n in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) - header_size != expected:
        raise ValueError(
            f"{path} is corrupt: its IDX header declares shape {shape}, i.e. "
            f"{expected} bytes of data, but the file holds "
            f"{len(raw) - header_size} bytes after the header."
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(shape)
    return array.astype(dtype.newbyteorder("="), copy=False)


def _candidate_folders(name: str, data_home: str | os.PathLike | None) -> list[Path]:
    """Return the folders to search for dataset ``name``, in order.

    Parameters
    ----------
    name : str
        The dataset's folder name, e.g. ``"fashion-mnist"``.

    data_home : str, os.PathLike or None
        The folder given by the user. When not None, only it and its ``name``
        sub-folder are searched.

    Returns
    -------
    folders : list of Path
        The folders, most specific first.
    """
    if data_home is not None:
        data_home = Path(data_home).expanduser()
        return [data_home, data_home / name]
    folders = []
    env_home = os.environ.get("SKAE_DATA")
    if env_home:
        env_home = Path(env_home).expanduser()
        folders += [env_home / name, env_home]
    folders += [_SYSTEM_DATA_HOME / name, _USER_DATA_HOME.expanduser() / name]
    return folders


def _find_file(folder: Path, stem: str) -> Path | None:
    """Return ``folder/stem.gz`` or ``folder/stem`` if either is a file, else None.

    Parameters
    ----------
    folder : Path
        The folder to look in.

    stem : str
        The uncompressed file name, e.g. ``"train-images-idx3-ubyte"``.

    Returns
    -------
    path : Path or None
        The first file found, the gzip-compressed one preferred.
    """
    for file_name in (f"{stem}.gz", stem):
        path = folder / file_name
        if path.is_file():
            return path
    return None


def _load_idx_dataset(
    info: _DatasetInfo,
    *,
    subset: str,
    data_home: str | os.PathLike | None,
    return_X_y: bool,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Find, read and wrap one subset of an MNIST-like IDX dataset.

    Parameters
    ----------
    info : _DatasetInfo
        The dataset's names, description and how to get it.

    subset : {"train", "test"}
        Which official split to load.

    data_home : str, os.PathLike or None
        The folder to search instead of the default ones.

    return_X_y : bool
        If True, return ``(data, target)`` instead of a Bunch.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch` or tuple of ndarray
        See :func:`load_fashion_mnist`.
    """
    if subset not in _SUBSETS:
        raise ValueError(
            f"subset must be one of {sorted(_SUBSETS)}; got {subset!r} instead."
        )
    prefix = _SUBSETS[subset]
    images_stem = f"{prefix}-images-idx3-ubyte"
    labels_stem = f"{prefix}-labels-idx1-ubyte"

    folders = _candidate_folders(info.name, data_home)
    for folder in folders:
        images_path = _find_file(folder, images_stem)
        labels_path = _find_file(folder, labels_stem)
        if images_path is not None and labels_path is not None:
            break
    else:
        searched = "\n".join(f"  - {folder}" for folder in folders)
        raise FileNotFoundError(
            f"{info.title} {subset!r} files not found: looked for {images_stem}"
            f"[.gz] and {labels_stem}[.gz] in:\n{searched}\n"
            f"{info.how_to_get} Copy them (train-images-idx3-ubyte.gz, "
            "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz and "
            "t10k-labels-idx1-ubyte.gz, gzip-compressed or not) into one of the "
            "folders above, or point $SKAE_DATA or `data_home` at the folder "
            f"holding them (directly or in a '{info.name}' sub-folder). "
            "skae never downloads data."
        )

    images = _read_idx(images_path)
    labels = _read_idx(labels_path)
    if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{images_path} and {labels_path} do not match: expected images of "
            "shape (n_samples, height, width) and labels of shape (n_samples,), "
            f"got {images.shape} and {labels.shape}."
        )

    n_samples, height, width = images.shape
    # One float32 allocation, scaled in place: no float64 copy of the data.
    data = images.reshape(n_samples, height * width).astype(np.float32)
    data /= 255
    target = labels.astype(np.int64)
    if return_X_y:
        return data, target

    feature_names = [
        f"pixel_{row}_{col}" for row in range(height) for col in range(width)
    ]
    return Bunch(
        data=data,
        target=target,
        # A view on `data`, so that the images cost no extra memory.
        images=data.reshape(n_samples, height, width),
        feature_names=feature_names,
        target_names=list(info.target_names),
        DESCR=info.descr,
    )


def load_fashion_mnist(
    *,
    subset: str = "train",
    data_home: str | os.PathLike | None = None,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load the Fashion-MNIST dataset (classification) from local IDX files.

    Each sample is a 28x28 grey-scale image of a Zalando article in one of 10
    classes. The official split has 60,000 training and 10,000 test images.

    =================   ==================
    Classes                             10
    Samples (train)                  60000
    Samples (test)                   10000
    Dimensionality                     784
    Features            float32 in [0, 1]
    =================   ==================

    The data are never downloaded: the four IDX files
    ``{train,t10k}-images-idx3-ubyte.gz`` and ``{train,t10k}-labels-idx1-ubyte.gz``
    (or the same names without ``.gz``) are searched for, in order, in:

    1. ``data_home`` or ``data_home/fashion-mnist``, when `data_home` is given
       (and nowhere else);
    2. ``$SKAE_DATA/fashion-mnist`` or ``$SKAE_DATA``, when the environment
       variable ``SKAE_DATA`` is set;
    3. ``/usr/share/datasets/fashion-mnist``, where Debian's and Ubuntu's
       package installs them (``apt-get install dataset-fashion-mnist``);
    4. ``~/skae_data/fashion-mnist``.

    Parameters
    ----------
    subset : {"train", "test"}, default="train"
        Which official split to load: the 60,000 training images or the
        10,000 test images.

    data_home : str or os.PathLike, default=None
        The folder holding the IDX files, directly or in a ``fashion-mnist``
        sub-folder. By default the folders listed above are searched.

    return_X_y : bool, default=False
        If True, returns ``(data, target)`` instead of a Bunch object. See
        below for more information about the `data` and `target` objects.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : ndarray of shape (n_samples, 784)
            The flattened images, float32 in [0, 1] (the raw uint8 values
            divided by 255). `n_samples` is 60000 for ``subset="train"`` and
            10000 for ``subset="test"``.
        target : ndarray of shape (n_samples,)
            The class labels, int64 in 0 to 9.
        images : ndarray of shape (n_samples, 28, 28)
            The same values as `data`, as images (a view on `data`).
        feature_names : list of str
            The names of the pixels, ``"pixel_<row>_<column>"``.
        target_names : list of str
            The names of the 10 classes: "T-shirt/top", "Trouser",
            "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
            "Ankle boot".
        DESCR : str
            The full description of the dataset, with its source and licence.

    (data, target) : tuple if ``return_X_y`` is True
        A tuple of two ndarrays: `data` of shape (n_samples, 784) and dtype
        float32, and `target` of shape (n_samples,) and dtype int64.

    Raises
    ------
    FileNotFoundError
        If the files of `subset` are in none of the folders searched. The
        message lists those folders and how to get the files.

    ValueError
        If `subset` is not "train" or "test", or if a file is not a valid IDX
        file.

    See Also
    --------
    load_mnist : Load the MNIST handwritten digits, stored in the same format.

    Notes
    -----
    The Fashion-MNIST files are Copyright (c) 2017 Zalando SE and released
    under the MIT licence.

    Examples
    --------
    The lines that read the files are skipped where the data are not installed.

    >>> from skae.datasets import load_fashion_mnist
    >>> bunch = load_fashion_mnist(subset="test")  # doctest: +SKIP
    >>> bunch.data.shape, bunch.data.dtype  # doctest: +SKIP
    ((10000, 784), dtype('float32'))
    >>> bunch.images.shape, bunch.target_names[0]  # doctest: +SKIP
    ((10000, 28, 28), 'T-shirt/top')
    >>> X, y = load_fashion_mnist(return_X_y=True)  # doctest: +SKIP
    >>> X.shape, y.shape  # doctest: +SKIP
    ((60000, 784), (60000,))
    """
    return _load_idx_dataset(
        _FASHION_MNIST, subset=subset, data_home=data_home, return_X_y=return_X_y
    )


def load_mnist(
    *,
    subset: str = "train",
    data_home: str | os.PathLike | None = None,
    return_X_y: bool = False,
) -> Bunch | tuple[np.ndarray, np.ndarray]:
    """Load the MNIST handwritten digits dataset (classification) from local files.

    Each sample is a 28x28 grey-scale image of a handwritten digit from 0 to 9.
    The official split has 60,000 training and 10,000 test images.

    =================   ==================
    Classes                             10
    Samples (train)                  60000
    Samples (test)                   10000
    Dimensionality                     784
    Features            float32 in [0, 1]
    =================   ==================

    The data are never downloaded: the four IDX files
    ``{train,t10k}-images-idx3-ubyte.gz`` and ``{train,t10k}-labels-idx1-ubyte.gz``
    (or the same names without ``.gz``), copied from the dataset's site
    http://yann.lecun.com/exdb/mnist/ or a mirror, are searched for, in order,
    in:

    1. ``data_home`` or ``data_home/mnist``, when `data_home` is given (and
       nowhere else);
    2. ``$SKAE_DATA/mnist`` or ``$SKAE_DATA``, when the environment variable
       ``SKAE_DATA`` is set;
    3. ``/usr/share/datasets/mnist``;
    4. ``~/skae_data/mnist``.

    Parameters
    ----------
    subset : {"train", "test"}, default="train"
        Which official split to load: the 60,000 training images or the
        10,000 test images.

    data_home : str or os.PathLike, default=None
        The folder holding the IDX files, directly or in a ``mnist``
        sub-folder. By default the folders listed above are searched.

    return_X_y : bool, default=False
        If True, returns ``(data, target)`` instead of a Bunch object. See
        below for more information about the `data` and `target` objects.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object, with the following attributes.

        data : ndarray of shape (n_samples, 784)
            The flattened images, float32 in [0, 1] (the raw uint8 values
            divided by 255). `n_samples` is 60000 for ``subset="train"`` and
            10000 for ``subset="test"``.
        target : ndarray of shape (n_samples,)
            The digits, int64 in 0 to 9.
        images : ndarray of shape (n_samples, 28, 28)
            The same values as `data`, as images (a view on `data`).
        feature_names : list of str
            The names of the pixels, ``"pixel_<row>_<column>"``.
        target_names : list of str
            The names of the 10 classes, "0" to "9".
        DESCR : str
            The full description of the dataset, with its source.

    (data, target) : tuple if ``return_X_y`` is True
        A tuple of two ndarrays: `data` of shape (n_samples, 784) and dtype
        float32, and `target` of shape (n_samples,) and dtype int64.

    Raises
    ------
    FileNotFoundError
        If the files of `subset` are in none of the folders searched. The
        message lists those folders and how to get the files.

    ValueError
        If `subset` is not "train" or "test", or if a file is not a valid IDX
        file.

    See Also
    --------
    load_fashion_mnist : Load Fashion-MNIST, a drop-in replacement for MNIST.

    Examples
    --------
    The lines that read the files are skipped where the data are not installed.

    >>> from skae.datasets import load_mnist
    >>> bunch = load_mnist(subset="test")  # doctest: +SKIP
    >>> bunch.data.shape, bunch.data.dtype  # doctest: +SKIP
    ((10000, 784), dtype('float32'))
    >>> bunch.target_names  # doctest: +SKIP
    ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']
    >>> X, y = load_mnist(return_X_y=True)  # doctest: +SKIP
    >>> X.shape, y.shape  # doctest: +SKIP
    ((60000, 784), (60000,))
    """
    return _load_idx_dataset(
        _MNIST, subset=subset, data_home=data_home, return_X_y=return_X_y
    )
