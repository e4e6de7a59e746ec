"""Backups and restores of the whole database, with each engine's own tool.

SQLite: the online backup API (a consistent copy while the app keeps writing). PostgreSQL:
`pg_dump --format=custom` and `pg_restore --clean` (the client tools of the server's version
must be on PATH). A restore replaces everything in the target database.

Media on disk (photos, signatures) go beside the database backup as `<backup>.media.tar`, and a
restore puts them back when that file is there. Media in object storage stay in the bucket: back
the bucket up with the store's own means (versioning or replication), as the README says.
"""

import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """Something a person must fix (a missing tool, a bad path); the message says what."""


def backup(database_url: str, target: Path) -> Path:
    """Write a backup of the database to `target`; returns it."""
    url = make_url(database_url)
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        source = _sqlite_path(database_url)
        with sqlite3.connect(source) as live, sqlite3.connect(target) as copy:
            live.backup(copy)
        copy.close()
        live.close()
        return target
    _run(_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target), _libpq(database_url))
    return target


def restore(database_url: str, source: Path) -> None:
    """Replace the database's contents with the backup at `source`."""
    if not source.is_file():
        raise BackupError(f"no backup at {source}")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(source) as saved, sqlite3.connect(_sqlite_path(database_url)) as live:
            saved.backup(live)
        saved.close()
        live.close()
        return
    _run(
        _tool("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",
        "--single-transaction",
        "--dbname",
        _libpq(database_url),
        str(source),
    )


def media_archive(target: Path) -> Path:
    return target.with_name(target.name + ".media.tar")


def backup_media(media_dir: Path, target: Path) -> Path | None:
    """The media folder as a tar beside the database backup (None when there is nothing to keep)."""
    if not media_dir.is_dir() or not any(media_dir.rglob("*")):
        return None
    archive = media_archive(target)
    with tarfile.open(archive, "w") as tar:
        tar.add(media_dir, arcname=".")
    return archive


def restore_media(source: Path, media_dir: Path) -> Path | None:
    """Put the media back from the tar beside the backup, if the backup has one; files are only ever
    written inside the media folder."""
    archive = media_archive(source)
    if not archive.is_file():
        return None
    media_dir.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(media_dir, filter="data")
    return archive


def _sqlite_path(database_url: str) -> str:
    path = make_url(database_url).database
    if not path or path == ":memory:":
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return path


def _libpq(database_url: str) -> str:
    """The connection URI the PostgreSQL tools understand (no SQLAlchemy driver suffix)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed; install the PostgreSQL client tools (Debian: postgresql-client)")
    return found


def _run(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our own arguments
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()[:500]}")
