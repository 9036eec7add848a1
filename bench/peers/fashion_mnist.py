"""Fashion-MNIST loader shared by the benchmark peers: the official IDX gzip files, read with
gzip + numpy (no torchvision), images scaled to [0, 1] as float32."""
import gzip
import os
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]


def default_data_dir() -> str:
    """$SWEEP_DATA_DIR, else ../shared/datasets next to the repository (what bench/engine.sh uses)."""
    return os.environ.get("SWEEP_DATA_DIR") or str(REPO.parent / "shared" / "datasets")


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    # Header: two zero bytes, the element type (0x08 = unsigned byte), the number of dimensions,
    # then one big-endian uint32 per dimension.
    if data[0:2] != b"\x00\x00" or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: expected {shape} values, found {body.size}")
    return body.reshape(shape)


def load_train(data_dir: str) -> tuple[np.ndarray, np.ndarray]:
    """The 60,000 training images as float32 (N, 28, 28) in [0, 1] and the labels as int64 (N,)."""
    root = Path(data_dir) / "fashion-mnist"
    images = _read_idx(root / "train-images-idx3-ubyte.gz").astype(np.float32) / np.float32(255)
    labels = _read_idx(root / "train-labels-idx1-ubyte.gz").astype(np.int64)
    if len(images) != len(labels):
        raise ValueError(f"{root}: {len(images)} images but {len(labels)} labels")
    return images, labels
