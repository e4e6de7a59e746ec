import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import Session

from carecenter.db import make_engine
from carecenter.migrate import alembic_config, head_revisions, schema_is_current, upgrade_to_head
from carecenter.tables import metadata
from tests.factories import make_center, make_resident


def test_models_and_migrations_do_not_drift(engine: sa.Engine) -> None:
    """The same check as `alembic check`, on each database the suite runs against."""
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert diff == []
    assert schema_is_current(engine)


def test_upgrade_downgrade_upgrade_on_an_empty_file(tmp_sqlite_url: str) -> None:
    engine = make_engine(tmp_sqlite_url)
    assert not schema_is_current(engine)
    upgrade_to_head(tmp_sqlite_url)
    assert schema_is_current(engine)
    command.downgrade(alembic_config(tmp_sqlite_url), "base")
    assert sa.inspect(engine).get_table_names() == ["alembic_version"]
    upgrade_to_head(tmp_sqlite_url)
    assert schema_is_current(engine)
    assert len(head_revisions()) == 1  # no branches
    engine.dispose()


def test_a_contacts_opt_out_and_unusable_number_move_into_the_numbers_state(tmp_sqlite_url: str) -> None:
    """0006: what the contact rows said is kept as the number's state, not lost with the columns."""
    config = alembic_config(tmp_sqlite_url)
    command.upgrade(config, "0005")
    engine = make_engine(tmp_sqlite_url, sqlite_write_lock=False)
    with Session(engine) as session:  # centers and residents are as they were at 0005
        resident_id = make_resident(session, center=make_center(session)).id
    with engine.begin() as conn:
        for cid, phone, opt_in, unreachable in (
            (1, "+8613900000001", "opted_out", None),
            (2, "+8613900000002", "opted_in", "2026-11-20 08:00:00"),
            (3, "+8613900000003", "opted_in", None),
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO family_contact (id, resident_id, name, relation, phone, language, priority,"
                    " is_emergency_contact, sms_opt_in, visit_updates, created_at, unreachable_at, unreachable_code)"
                    " VALUES (:id, :resident, 'f', 'son', :phone, 'zh-CN', 1, 1, :opt_in, 0, '2026-11-01 00:00:00',"
                    " :unreachable, :code)"
                ),
                {
                    "id": cid,
                    "resident": resident_id,
                    "phone": phone,
                    "opt_in": opt_in,
                    "unreachable": unreachable,
                    "code": 21211 if unreachable else None,
                },
            )
    command.upgrade(config, "0006")
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT phone, opted_out_at IS NOT NULL, unreachable_code FROM sms_recipient ORDER BY phone")
        ).all()
        columns = {c["name"] for c in sa.inspect(conn).get_columns("family_contact")}
    assert [tuple(r) for r in rows] == [("+8613900000001", 1, None), ("+8613900000002", 0, 21211)]
    assert not columns & {"sms_opt_in", "unreachable_at", "unreachable_code"}
    command.downgrade(config, "0005")
    with engine.connect() as conn:
        back = conn.execute(sa.text("SELECT id, sms_opt_in, unreachable_code FROM family_contact ORDER BY id")).all()
    assert [tuple(r) for r in back] == [(1, "opted_out", None), (2, "opted_in", 21211), (3, "opted_in", None)]
    engine.dispose()
