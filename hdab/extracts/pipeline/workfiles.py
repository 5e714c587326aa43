"""A job's work files: private to the service, encrypted at rest under a key that is never stored.

Until the pseudonymise step has run, the work files hold national identifiers (the ``_person``
column). So every work folder is made 0700 and every work file 0600 as it is created (never by
changing the process's umask, which other threads share), and every Parquet artifact is encrypted
with Parquet modular encryption (AES-GCM, footer and every column): each file gets a random data
key, wrapped in the file's footer under the job's key. The job's key is derived by HKDF-SHA-256
from the pseudonym master secret and the job's id (:func:`job_key`), so any worker can run any step
of any job, and it exists only in memory: nothing beside the files can open them.

Why pyarrow writes and reads them, and not DuckDB: DuckDB writes encrypted Parquet only with its
httpfs extension loaded (for OpenSSL), which is not installable from a package index for the
DuckDB we run; pyarrow's Parquet encryption is the format's reference implementation. DuckDB
streams each query's rows to pyarrow (:func:`store`) and reads the artifacts back as Arrow
datasets (:func:`dataset`), so the steps' SQL is unchanged.

DuckDB's own spill files are not encrypted: they go to the job's ``.spill`` folder (0700), which
goes with the work folder.
"""

from __future__ import annotations

import base64
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pyarrow.parquet.encryption as pe
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

FOLDER_MODE = 0o700
FILE_MODE = 0o600
SPILL = ".spill"  # DuckDB's temp_directory inside the job's work folder
_KEY_NAME = "hdab-work"  # the master key's name in the files' key material (not the key)
_WRAP_AAD = b"hdab-workfile-v1:"
BATCH_ROWS = 262_144


def job_key(master: str, job_id: str) -> bytes:
    """The job's work-file key: HKDF-SHA-256 from the master secret, its own salt, and the job's id.

    The same job gives the same key in every worker (a step may run anywhere); another job, or the
    permit's pseudonym key (another salt), gives an unrelated one.
    """
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"hdab-workfile-v1", info=job_id.encode("utf-8")
    ).derive(master.encode("utf-8"))


def private_folder(path: Path) -> Path:
    """Make ``path`` (and its missing parents) and leave it 0700, whatever the umask."""
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    os.chmod(path, FOLDER_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty, 0600 from the start (truncating one that is there)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # a file that was there keeps its mode through O_CREAT
    finally:
        os.close(fd)
    return path


def write_text(path: Path, text: str) -> None:
    """Write a small work file (a receipt, counts) whole or not at all, 0600."""
    tmp = private_file(path.with_name(path.name + ".tmp"))
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def remove(folder: Path) -> bool:
    """Remove a work folder and all in it (the spill folder too); True when there was one."""
    if not folder.exists() and not folder.is_symlink():
        return False
    if folder.is_symlink() or not folder.is_dir():
        folder.unlink(missing_ok=True)
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return True


class _JobKeyWrapper(pe.KmsClient):  # type: ignore[misc]  # pyarrow has no type information
    """Wraps each file's data key under the job's key (AES-GCM): the only "KMS" is this process."""

    def __init__(self, key: bytes) -> None:
        super().__init__()
        self._aead = AESGCM(key)

    def wrap_key(self, key_bytes: bytes, master_key_identifier: str) -> str:
        nonce = os.urandom(12)
        aad = _WRAP_AAD + master_key_identifier.encode("utf-8")
        return base64.b64encode(nonce + self._aead.encrypt(nonce, key_bytes, aad)).decode("ascii")

    def unwrap_key(self, wrapped_key: str, master_key_identifier: str) -> bytes:
        raw = base64.b64decode(wrapped_key)
        aad = _WRAP_AAD + master_key_identifier.encode("utf-8")
        return self._aead.decrypt(raw[:12], raw[12:], aad)


def _factory(key: bytes) -> Any:
    return pe.CryptoFactory(lambda _config: _JobKeyWrapper(key))


@dataclass(frozen=True)
class WorkFolder:
    """One dataset's folder of a job's work files, and the key they are encrypted under (memory only)."""

    path: Path
    key: bytes = field(repr=False)

    def artifact(self, name: str) -> Path:
        return self.path / f"{name}.parquet"


def store(
    con: duckdb.DuckDBPyConnection,
    query: str,
    folder: WorkFolder,
    name: str,
    params: dict[str, Any] | None = None,
) -> Path:
    """Write a query's rows to the artifact ``name``, encrypted, 0600, whole or not at all."""
    path = folder.artifact(name)
    tmp = private_file(path.with_name(path.name + ".tmp"))
    properties = _factory(folder.key).file_encryption_properties(
        pe.KmsConnectionConfig(),
        pe.EncryptionConfiguration(
            footer_key=_KEY_NAME, uniform_encryption=True, plaintext_footer=False, double_wrapping=False
        ),
    )
    try:
        reader = con.sql(query, params=params or {}).to_arrow_reader(BATCH_ROWS)
        with pq.ParquetWriter(
            str(tmp), reader.schema, compression="zstd", encryption_properties=properties
        ) as writer:
            for batch in reader:
                writer.write_batch(batch)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    tmp.replace(path)
    return path


def dataset(path: Path, key: bytes) -> Any:
    """An artifact as an Arrow dataset DuckDB can query (decrypted as it is read, never on disk)."""
    decryption = ds.ParquetDecryptionConfig(
        _factory(key), pe.KmsConnectionConfig(), pe.DecryptionConfiguration()
    )
    options = ds.ParquetFragmentScanOptions(decryption_config=decryption)
    return ds.dataset(str(path), format=ds.ParquetFileFormat(default_fragment_scan_options=options))
