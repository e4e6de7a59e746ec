"""`python main.py backup` and `restore`: a round trip gives back exactly the data backed up."""

import os
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from bench.harness import database_url, seed
from carecenter.media.store import DiskStore
from main import main
from tests.factories import jpeg_bytes

KINDS = ["sqlite"] + (
    ["postgresql"] if os.environ.get("CARECENTER_TEST_DATABASE_URL", "").startswith("postgresql") else []
)


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = {
            table.name: [tuple(row) for row in conn.execute(table.select().order_by(*table.primary_key.columns))]
            for table in SQLModel.metadata.sorted_tables
        }
    engine.dispose()
    return rows


@pytest.mark.parametrize("kind", KINDS)
def test_a_backup_restores_exactly_what_was_saved(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = database_url(kind, tmp_path, name="carecenter_backup")
    seed(url, residents=25, now=datetime.now(UTC))
    before = snapshot(url)
    assert len(before["resident"]) == 25 and len(before["device"]) == 26
    monkeypatch.setenv("CARECENTER_DATABASE_URL", url)
    media = tmp_path / "media"
    monkeypatch.setenv("CARECENTER_MEDIA_DIR", str(media))
    photo = jpeg_bytes()
    key = DiskStore(media).put(photo)
    backup = tmp_path / "saved.dump"
    assert main(["backup", "--out", str(backup)]) == 0
    written = capsys.readouterr().out
    assert backup.stat().st_size > 0 and "backup written" in written and "saved.dump.media.tar" in written

    engine = sa.create_engine(url)  # the day after: changes that the restore must undo
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE resident SET name = 'changed'"))
        conn.execute(sa.text("DELETE FROM device WHERE kind = 'gateway'"))
    engine.dispose()
    assert snapshot(url) != before

    assert main(["restore", str(backup)]) == 2  # not without --yes
    assert "--yes" in capsys.readouterr().err
    shutil.rmtree(media)  # the disk with the photos is gone too
    assert main(["restore", str(backup), "--yes"]) == 0
    assert snapshot(url) == before
    assert DiskStore(media).get(key) == photo and "media restored" in capsys.readouterr().out


def test_a_missing_backup_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CARECENTER_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    assert main(["restore", str(tmp_path / "nothing.dump"), "--yes"]) == 2
    assert "no backup at" in capsys.readouterr().err
