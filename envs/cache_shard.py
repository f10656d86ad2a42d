"""One embedding cache shard: an uncompressed ``.npz`` that says what it holds, read back only if
every check passes.

Fields: ``format`` (:data:`FORMAT`), ``model_key`` and ``dim`` (the model the vectors came from),
``hashes`` (1-D unicode, sha256 of each text, unique), ``vectors`` (2-D little-endian float32,
one row per hash, ``dim`` wide) and ``checksum`` (sha256 over all of the above). The reader parses
each member's ``.npy`` header itself and reads the data straight from the file, so a forged header
cannot make it allocate more than the file holds, and a bad shard of any kind ends in
:class:`ShardError` with the reason, never a traceback.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib import format as npformat

FORMAT = "banditsim-embedding-shard/2"
FIELDS = ("format", "model_key", "dim", "hashes", "vectors", "checksum")
NORM_TOLERANCE = 1e-3
_F32 = np.dtype("<f4")


class ShardError(Exception):
    """A shard that must not be used; the message says why."""


def checksum(model_key: str, dim: int, hashes: list[str], vectors: np.ndarray) -> str:
    """sha256 over the format, model key, dimension, hashes and vector bytes of a shard."""
    h = hashlib.sha256()
    for part in (FORMAT, model_key, str(int(dim)), "\n".join(hashes)):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    h.update(np.ascontiguousarray(vectors, dtype=_F32))  # the array's buffer: no copy when already C-ordered
    return h.hexdigest()


def shard_bytes(hashes: list[str], vectors: np.ndarray, model_key: str) -> bytes:
    """The bytes of a shard holding ``vectors`` (n, dim) for ``hashes`` written by ``model_key``."""
    vectors = np.ascontiguousarray(vectors, dtype=_F32)
    dim = int(vectors.shape[1])
    buf = io.BytesIO()
    np.savez(buf, format=np.array(FORMAT), model_key=np.array(model_key), dim=np.array(dim, dtype=np.int64),
             hashes=np.array(hashes, dtype=str), vectors=vectors,
             checksum=np.array(checksum(model_key, dim, hashes, vectors)))
    return buf.getvalue()


def _npy_member(fh, info: zipfile.ZipInfo, file_size: int) -> np.ndarray:
    """The array stored (uncompressed) as ``info`` in the open zip file ``fh``, read straight
    from the file after checking its ``.npy`` header against the member's size."""
    field = info.filename[:-4]
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
        raise ShardError(f"'{field}' is compressed or encrypted (shards are written plain)")
    fh.seek(info.header_offset)
    local = fh.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise ShardError(f"'{field}' has no zip entry header")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    start = info.header_offset + 30 + name_len + extra_len
    if start + info.file_size > file_size:
        raise ShardError(f"'{field}' runs past the end of the file")
    fh.seek(start)
    version = npformat.read_magic(fh)
    if version == (1, 0):
        shape, fortran, dtype = npformat.read_array_header_1_0(fh)
    elif version == (2, 0):
        shape, fortran, dtype = npformat.read_array_header_2_0(fh)
    else:
        raise ShardError(f"'{field}' has .npy format version {version}")
    if dtype.hasobject or dtype.itemsize == 0:
        raise ShardError(f"'{field}' holds Python objects or empty items")
    count = int(np.prod(shape, dtype=object))
    held = start + info.file_size - fh.tell()
    if count * dtype.itemsize != held:
        raise ShardError(f"'{field}' holds {held} bytes, its header says {count * dtype.itemsize}")
    arr = np.empty(count, dtype=dtype)
    if fh.readinto(arr.view(np.uint8)) != held:
        raise ShardError(f"'{field}' is cut short")
    return arr.reshape(shape, order="F" if fortran else "C")


def _members(path: Path) -> dict[str, np.ndarray]:
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        infos = {i.filename: i for i in zipfile.ZipFile(fh).infolist()}
        out = {}
        for field in FIELDS:
            if f"{field}.npy" not in infos:
                raise ShardError(f"no '{field}' field")
            out[field] = _npy_member(fh, infos[f"{field}.npy"], size)
    return out


def _scalar_str(arr: np.ndarray, field: str) -> str:
    if arr.ndim != 0 or arr.dtype.kind != "U":
        raise ShardError(f"'{field}' is not a string")
    return str(arr[()])


def read_shard(path: Path, model_key: str, dim: int | None = None,
               unit_norm: bool = False) -> tuple[list[str], np.ndarray]:
    """Hashes and vectors of the shard at ``path``, if it is a whole shard written by ``model_key``
    with ``dim``-wide (any width when None), finite rows (of L2 norm 1 when ``unit_norm``).

    Raises :class:`ShardError` naming the first failed check; ``FileNotFoundError`` if it is gone."""
    try:
        data = _members(Path(path))
    except ShardError:
        raise
    except FileNotFoundError:
        raise
    except (OSError, ValueError, EOFError, SyntaxError, TypeError, OverflowError, struct.error,
            zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, NotImplementedError, RuntimeError) as exc:
        raise ShardError(f"not a readable .npz file ({type(exc).__name__}: {exc})") from None
    if _scalar_str(data["format"], "format") != FORMAT:
        raise ShardError(f"format {data['format'][()]!r}, expected {FORMAT!r}")
    if _scalar_str(data["model_key"], "model_key") != model_key:
        raise ShardError(f"written by model {data['model_key'][()]!r}, not {model_key!r}")
    d, vectors, hashes = data["dim"], data["vectors"], data["hashes"]
    if d.ndim != 0 or d.dtype.kind not in "iu":
        raise ShardError("'dim' is not an integer")
    if vectors.ndim != 2:
        raise ShardError(f"vectors are {vectors.ndim}-D, not 2-D")
    if vectors.dtype != _F32:
        raise ShardError(f"vectors are {vectors.dtype.str}, not little-endian float32")
    if vectors.shape[1] != int(d) or (dim is not None and int(d) != dim):
        raise ShardError(f"vectors are {vectors.shape[1]} wide, recorded dim {int(d)}, model dim {dim}")
    if vectors.shape[0] == 0:
        raise ShardError("no vectors")
    if hashes.ndim != 1 or hashes.dtype.kind != "U" or hashes.shape[0] != vectors.shape[0]:
        raise ShardError(f"{hashes.size} hashes for {vectors.shape[0]} vectors")
    keys = hashes.tolist()
    if len(set(keys)) != len(keys):
        raise ShardError("a hash appears twice")
    if _scalar_str(data["checksum"], "checksum") != checksum(model_key, int(d), keys, vectors):
        raise ShardError("checksum mismatch (the file was changed after it was written)")
    if not np.isfinite(vectors).all():
        raise ShardError("vectors contain NaN or infinity")
    if unit_norm:
        norms = np.linalg.norm(vectors, axis=1)
        if np.abs(norms - 1.0).max() > NORM_TOLERANCE:
            raise ShardError(f"a row has L2 norm {norms[np.argmax(np.abs(norms - 1.0))]:.4g}, not 1")
    return keys, vectors
