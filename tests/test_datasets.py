"""Tests for the dataset loaders in skae.datasets."""

# SPDX-License-Identifier: BSD-3-Clause

import gzip
import re
import struct
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from skae import datasets
from skae.datasets import _read_idx, load_fashion_mnist, load_mnist

N_TRAIN = 5
N_TEST = 3
REAL_FASHION_MNIST_TEST = Path(
    "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
)


def _write_idx(path, array, *, compress=True):
    """Write `array` (uint8) to `path` as an IDX file, gzip-compressed or not."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    opener = gzip.open if compress else open
    with opener(path, "wb") as file:
        file.write(header + array.tobytes())
    return path


def _make_subset(folder, subset, n_samples, *, compress=True, seed=0):
    """Write random images and labels of `subset` into `folder`; return them."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n_samples, 28, 28), dtype=np.uint8)
    # Make sure both ends of the uint8 range are present.
    images[0, 0, 0], images[0, 0, 1] = 0, 255
    labels = rng.integers(0, 10, size=n_samples, dtype=np.uint8)
    prefix = {"train": "train", "test": "t10k"}[subset]
    suffix = ".gz" if compress else ""
    folder.mkdir(parents=True, exist_ok=True)
    _write_idx(
        folder / f"{prefix}-images-idx3-ubyte{suffix}", images, compress=compress
    )
    _write_idx(
        folder / f"{prefix}-labels-idx1-ubyte{suffix}", labels, compress=compress
    )
    return images, labels


@pytest.fixture
def data_folder(tmp_path):
    """A folder holding tiny train (5 images) and test (3 images) IDX files."""
    folder = tmp_path / "data"
    train = _make_subset(folder, "train", N_TRAIN, seed=0)
    test = _make_subset(folder, "test", N_TEST, seed=1)
    return folder, {"train": train, "test": test}


@pytest.fixture
def no_default_folders(tmp_path, monkeypatch):
    """Point the system and user data folders at empty folders; unset $SKAE_DATA."""
    system = tmp_path / "system"
    user = tmp_path / "user"
    monkeypatch.setattr(datasets, "_SYSTEM_DATA_HOME", system)
    monkeypatch.setattr(datasets, "_USER_DATA_HOME", user)
    monkeypatch.delenv("SKAE_DATA", raising=False)
    return system, user


@pytest.mark.parametrize("loader", [load_fashion_mnist, load_mnist])
@pytest.mark.parametrize("subset", ["train", "test"])
def test_load_data_home_returns_bunch(data_folder, loader, subset):
    """Check that a loader returns the exact pixels and labels of `subset`."""
    folder, written = data_folder
    images, labels = written[subset]
    n_samples = len(labels)

    bunch = loader(subset=subset, data_home=folder)

    assert bunch.data.shape == (n_samples, 784)
    assert bunch.data.dtype == np.float32
    assert bunch.images.shape == (n_samples, 28, 28)
    assert bunch.images.dtype == np.float32
    assert bunch.target.shape == (n_samples,)
    assert bunch.target.dtype == np.int64
    assert bunch.data.min() == 0.0
    assert bunch.data.max() == 1.0
    assert_array_equal(bunch.data, images.reshape(n_samples, -1) / np.float32(255))
    assert_array_equal(np.rint(bunch.images * 255).astype(np.uint8), images)
    assert_array_equal(bunch.target, labels)
    assert len(bunch.feature_names) == 784
    assert bunch.feature_names[:2] == ["pixel_0_0", "pixel_0_1"]
    assert bunch.feature_names[-1] == "pixel_27_27"
    assert len(bunch.target_names) == 10
    assert "60000" in bunch.DESCR and "10000" in bunch.DESCR


def test_load_fashion_mnist_metadata(data_folder):
    """Check that Fashion-MNIST names its classes and states its MIT licence."""
    folder, _ = data_folder
    bunch = load_fashion_mnist(data_home=folder)
    assert bunch.target_names[0] == "T-shirt/top"
    assert bunch.target_names[-1] == "Ankle boot"
    assert "MIT" in bunch.DESCR and "Zalando SE" in bunch.DESCR


def test_load_mnist_metadata(data_folder):
    """Check that MNIST names its classes "0" to "9"."""
    folder, _ = data_folder
    bunch = load_mnist(data_home=folder)
    assert bunch.target_names == [str(digit) for digit in range(10)]
    assert "MNIST" in bunch.DESCR


def test_load_images_share_memory_with_data(data_folder):
    """Check that `images` is a view on `data`, not a second copy."""
    folder, _ = data_folder
    bunch = load_fashion_mnist(data_home=folder)
    assert np.shares_memory(bunch.images, bunch.data)


@pytest.mark.parametrize("loader", [load_fashion_mnist, load_mnist])
def test_load_return_X_y(data_folder, loader):
    """Check that return_X_y=True returns the Bunch's data and target."""
    folder, _ = data_folder
    X, y = loader(data_home=folder, return_X_y=True)
    bunch = loader(data_home=folder)
    assert X.dtype == np.float32
    assert y.dtype == np.int64
    assert_array_equal(X, bunch.data)
    assert_array_equal(y, bunch.target)


def test_load_uncompressed_files(tmp_path):
    """Check that IDX files without the .gz suffix are read too."""
    images, labels = _make_subset(tmp_path, "train", N_TRAIN, compress=False)
    X, y = load_fashion_mnist(data_home=tmp_path, return_X_y=True)
    assert_array_equal(X, images.reshape(N_TRAIN, -1) / np.float32(255))
    assert_array_equal(y, labels)


@pytest.mark.parametrize(
    "loader, name", [(load_fashion_mnist, "fashion-mnist"), (load_mnist, "mnist")]
)
def test_load_data_home_subfolder(tmp_path, loader, name):
    """Check that data_home may hold the files in a sub-folder named after the set."""
    _, labels = _make_subset(tmp_path / name, "test", N_TEST)
    bunch = loader(subset="test", data_home=tmp_path)
    assert_array_equal(bunch.target, labels)


@pytest.mark.parametrize("in_subfolder", [True, False])
def test_load_skae_data_env_var(
    tmp_path, monkeypatch, no_default_folders, in_subfolder
):
    """Check that $SKAE_DATA is searched, directly and in its <name> sub-folder."""
    env_home = tmp_path / "env"
    folder = env_home / "fashion-mnist" if in_subfolder else env_home
    _, labels = _make_subset(folder, "train", N_TRAIN)
    monkeypatch.setenv("SKAE_DATA", str(env_home))
    bunch = load_fashion_mnist()
    assert_array_equal(bunch.target, labels)


def test_load_default_folders(no_default_folders):
    """Check that the system then the user folder are searched without data_home."""
    system, user = no_default_folders
    _, user_labels = _make_subset(user / "mnist", "train", N_TRAIN, seed=2)
    assert_array_equal(load_mnist().target, user_labels)

    _, system_labels = _make_subset(system / "mnist", "train", N_TRAIN + 1, seed=3)
    assert_array_equal(load_mnist().target, system_labels)


def test_load_data_home_searched_alone(tmp_path, monkeypatch, data_folder):
    """Check that an explicit data_home is the only folder searched."""
    folder, _ = data_folder
    monkeypatch.setenv("SKAE_DATA", str(folder))
    monkeypatch.setattr(datasets, "_SYSTEM_DATA_HOME", folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileNotFoundError, match="not found") as excinfo:
        load_fashion_mnist(data_home=empty)
    searched = re.findall(r"^  - (.*)$", str(excinfo.value), flags=re.MULTILINE)
    assert searched == [str(empty), str(empty / "fashion-mnist")]


def test_load_fashion_mnist_missing_files(tmp_path, monkeypatch, no_default_folders):
    """Check that missing files raise FileNotFoundError listing folders and a fix."""
    system, user = no_default_folders
    env_home = tmp_path / "env"
    monkeypatch.setenv("SKAE_DATA", str(env_home))
    with pytest.raises(
        FileNotFoundError, match="apt-get install dataset-fashion-mnist"
    ) as excinfo:
        load_fashion_mnist()
    message = str(excinfo.value)
    for folder in [
        env_home / "fashion-mnist",
        env_home,
        system / "fashion-mnist",
        user / "fashion-mnist",
    ]:
        assert f"  - {folder}\n" in message
    assert "SKAE_DATA" in message
    assert "train-images-idx3-ubyte" in message


def test_load_mnist_missing_files(no_default_folders):
    """Check that missing MNIST files raise FileNotFoundError naming the source."""
    system, _ = no_default_folders
    with pytest.raises(FileNotFoundError, match=r"yann\.lecun\.com/exdb/mnist") as exc:
        load_mnist(subset="test")
    assert str(system / "mnist") in str(exc.value)
    assert "t10k-images-idx3-ubyte" in str(exc.value)


def test_load_missing_labels_file(tmp_path):
    """Check that an images file without its labels file is not enough."""
    _make_subset(tmp_path, "train", N_TRAIN)
    (tmp_path / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte"):
        load_fashion_mnist(data_home=tmp_path)


@pytest.mark.parametrize("loader", [load_fashion_mnist, load_mnist])
@pytest.mark.parametrize("subset", ["validation", "TRAIN", None])
def test_load_invalid_subset(data_folder, loader, subset):
    """Check that an invalid subset raises ValueError naming the valid values."""
    folder, _ = data_folder
    with pytest.raises(ValueError, match=r"subset must be one of \['test', 'train'\]"):
        loader(subset=subset, data_home=folder)


def test_read_idx_round_trip(tmp_path):
    """Check that _read_idx returns the array written, shape and dtype included."""
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    result = _read_idx(_write_idx(tmp_path / "a-idx3-ubyte.gz", array))
    assert result.dtype == np.uint8
    assert_array_equal(result, array)


def test_read_idx_other_dtype(tmp_path):
    """Check that _read_idx decodes big-endian non-uint8 IDX types."""
    array = np.array([-1.5, 0.0, 2.25], dtype=">f4")
    path = tmp_path / "floats-idx1"
    path.write_bytes(struct.pack(">BBBBI", 0, 0, 0x0D, 1, 3) + array.tobytes())
    result = _read_idx(path)
    assert result.dtype == np.float32
    assert result.dtype.isnative
    assert_array_equal(result, array)


@pytest.mark.parametrize(
    "content",
    [
        struct.pack(">BBBBI", 8, 0, 0x08, 1, 3) + bytes(3),  # non-zero first byte
        struct.pack(">BBBBI", 0, 0, 0x07, 1, 3) + bytes(3),  # unknown type code
        struct.pack(">BBBB", 0, 0, 0x08, 0) + bytes(3),  # no dimension
        b"\x00\x00\x08",  # shorter than a magic number
        b"",
    ],
)
def test_read_idx_bad_magic(tmp_path, content):
    """Check that a bad magic number raises ValueError naming the file."""
    path = tmp_path / "bad-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=rf"{re.escape(str(path))}.*bad magic number"):
        _read_idx(path)


@pytest.mark.parametrize("n_bytes_off", [-1, 1])
def test_read_idx_wrong_payload_length(tmp_path, n_bytes_off):
    """Check that a truncated or overlong payload raises ValueError naming the file."""
    path = tmp_path / "train-images-idx3-ubyte.gz"
    header = struct.pack(">BBBBIII", 0, 0, 0x08, 3, 2, 28, 28)
    with gzip.open(path, "wb") as file:
        file.write(header + bytes(2 * 28 * 28 + n_bytes_off))
    with pytest.raises(
        ValueError, match=rf"{re.escape(str(path))} is corrupt.*\(2, 28, 28\)"
    ):
        _read_idx(path)


def test_read_idx_truncated_header(tmp_path):
    """Check that a header cut before its dimensions raises ValueError."""
    path = tmp_path / "short-idx3-ubyte"
    path.write_bytes(struct.pack(">BBBBI", 0, 0, 0x08, 3, 2))
    with pytest.raises(
        ValueError, match=rf"{re.escape(str(path))} is corrupt.*3 dimensions"
    ):
        _read_idx(path)


def test_read_idx_bad_gzip(tmp_path):
    """Check that a .gz file that is not gzip data raises ValueError naming it."""
    path = tmp_path / "train-images-idx3-ubyte.gz"
    path.write_bytes(b"not gzip data at all")
    with pytest.raises(
        ValueError, match=rf"{re.escape(str(path))} is not a valid gzip file"
    ):
        _read_idx(path)


def test_load_corrupt_file_names_file(tmp_path):
    """Check that a loader reports which dataset file is corrupt."""
    _make_subset(tmp_path, "test", N_TEST)
    labels_path = tmp_path / "t10k-labels-idx1-ubyte.gz"
    with gzip.open(labels_path, "wb") as file:
        file.write(struct.pack(">BBBBI", 0, 0, 0x08, 1, N_TEST) + bytes(N_TEST - 1))
    with pytest.raises(ValueError, match=rf"{re.escape(str(labels_path))} is corrupt"):
        load_fashion_mnist(subset="test", data_home=tmp_path)


def test_load_mismatched_images_and_labels(tmp_path):
    """Check that images and labels of different lengths raise ValueError."""
    _make_subset(tmp_path, "train", N_TRAIN)
    _write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(N_TRAIN + 1))
    with pytest.raises(ValueError, match="do not match"):
        load_fashion_mnist(data_home=tmp_path)


@pytest.mark.skipif(
    not REAL_FASHION_MNIST_TEST.exists(),
    reason="Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)",
)
def test_load_fashion_mnist_real_test_set(no_default_folders, monkeypatch):
    """Check that the installed Fashion-MNIST test set has 10000 images, 10 classes."""
    monkeypatch.setattr(
        datasets, "_SYSTEM_DATA_HOME", REAL_FASHION_MNIST_TEST.parents[1]
    )
    bunch = load_fashion_mnist(subset="test")
    assert bunch.data.shape == (10000, 784)
    assert bunch.data.dtype == np.float32
    assert 0.0 <= bunch.data.min() < bunch.data.max() <= 1.0
    assert bunch.target.shape == (10000,)
    assert_array_equal(np.unique(bunch.target), np.arange(10))
    assert len(bunch.target_names) == 10
