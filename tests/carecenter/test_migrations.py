from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import Session, SQLModel

from carecenter.centers.models import Center
from carecenter.db import make_engine
from carecenter.migrate import alembic_config, head_revisions, include_name, schema_is_current, upgrade_to_head
from carecenter.residents.models import FamilyContact, Gender, Relation, Resident
from carecenter.tables import metadata


def test_models_and_migrations_do_not_drift(engine: sa.Engine) -> None:
    """The same check as `alembic check`, on each database the suite runs against."""
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True, "include_name": include_name}), metadata
        )
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


def row_as_of_now(session: Session, record: SQLModel) -> int:
    """A row written with the columns its table has at the current revision (the model has more now)."""
    values = record.model_dump(exclude={"id"})
    table = sa.Table(str(type(record).__tablename__), sa.MetaData(), autoload_with=session.connection())
    values = {name: value for name, value in values.items() if name in table.c and name != "alert_thresholds"}
    new_id = session.execute(sa.insert(table).values(**values).returning(table.c.id)).scalar_one()
    session.commit()
    return int(new_id)


def center_as_of_now(session: Session) -> int:
    return row_as_of_now(session, Center(name="老中心", town="老镇", district="房山区", time_zone="Asia/Shanghai"))


def resident_as_of_0006(session: Session, center_id: int | None) -> int:
    assert center_id is not None
    resident = Resident(
        name="王秀英",
        gender=Gender.female,
        birth_date=date(1940, 5, 1),
        center_id=center_id,
        created_at=datetime.now(UTC),
    )
    return row_as_of_now(session, resident)


def test_centers_before_0009_get_the_default_catalogue(tmp_sqlite_url: str) -> None:
    """0009: a center's care plans name services by code; existing centers get the default catalogue."""
    config = alembic_config(tmp_sqlite_url)
    command.upgrade(config, "0008")
    engine = make_engine(tmp_sqlite_url, sqlite_write_lock=False)
    with Session(engine) as session:
        center_id = center_as_of_now(session)
    command.upgrade(config, "0009")
    with engine.connect() as conn:
        codes = conn.execute(sa.text("SELECT code FROM service_offering WHERE center_id = :c"), {"c": center_id})
        assert {"meals", "bathing", "medication", "welfare_visit"} <= set(codes.scalars())
        assert conn.execute(sa.text("SELECT welfare_visit_age, welfare_visit_days FROM center")).one() == (80, 7)
    engine.dispose()


def test_devices_registered_before_0007_keep_working_over_http(tmp_sqlite_url: str) -> None:
    """0007: existing devices post over the HTTP API, existing residents are not enrolled in watch-off alerts."""
    config = alembic_config(tmp_sqlite_url)
    command.upgrade(config, "0006")
    engine = make_engine(tmp_sqlite_url, sqlite_write_lock=False)
    with Session(engine) as session:
        center_id = center_as_of_now(session)
        resident_id = resident_as_of_0006(session, center_id)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO device (kind, serial, model, reporting_interval_seconds, resident_id, center_id, key_hash,"
                " key_prefix, key_rotated_at, created_at) VALUES ('watch', 'SN-1', '', 300, :resident, :center,"
                " 'h', 'dk_', '2026-11-01 00:00:00', '2026-11-01 00:00:00')"
            ),
            {"resident": resident_id, "center": center_id},
        )
    command.upgrade(config, "0007")
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT protocol, connected_at FROM device")).one() == ("http", None)
        assert conn.execute(sa.text("SELECT watch_removed_alert FROM resident")).scalar_one() in (0, False)
    engine.dispose()


def test_a_contacts_opt_out_and_unusable_number_move_into_the_numbers_state(tmp_sqlite_url: str) -> None:
    """0006: what the contact rows said is kept as the number's state, not lost with the columns."""
    config = alembic_config(tmp_sqlite_url)
    command.upgrade(config, "0005")
    engine = make_engine(tmp_sqlite_url, sqlite_write_lock=False)
    with Session(engine) as session:  # centers are as they were at 0005
        resident_id = resident_as_of_0006(session, center_as_of_now(session))
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


def test_later_migrations_keep_the_rows_under_a_cascade(tmp_sqlite_url: str) -> None:
    """After 0018 a family contact goes with its resident: a later migration that rebuilt `resident`
    on SQLite (drop and copy) would be refused, or would take the contacts with it."""
    config = alembic_config(tmp_sqlite_url)
    command.upgrade(config, "0018")
    engine = make_engine(tmp_sqlite_url, sqlite_write_lock=False)
    with Session(engine) as session:
        resident_id = resident_as_of_0006(session, center_as_of_now(session))
        row_as_of_now(
            session,
            FamilyContact(resident_id=resident_id, name="王强", relation=Relation.son, phone="+8613900000001"),
        )
    upgrade_to_head(tmp_sqlite_url)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT resident_id FROM family_contact")).scalars().all() == [resident_id]
        assert conn.execute(sa.text("SELECT home_code_version, home_code_active FROM resident")).one() == (0, 0)
    engine.dispose()


def test_rows_that_go_with_their_row_say_so_in_the_migrated_schema(engine: sa.Engine) -> None:
    """0018 on both databases: the foreign keys the services no longer clear by hand cascade."""
    inspector = sa.inspect(engine)
    rules = {
        (table, fk["constrained_columns"][0]): (fk.get("options") or {}).get("ondelete")
        for table in ("family_contact", "family_link", "service_offering", "device_command", "duty_shift_staff")
        for fk in inspector.get_foreign_keys(table)
    }
    assert rules[("family_contact", "resident_id")] == "CASCADE"
    assert rules[("family_link", "contact_id")] == "CASCADE"
    assert rules[("service_offering", "center_id")] == "CASCADE"
    assert rules[("device_command", "device_id")] == "CASCADE"
    assert rules[("duty_shift_staff", "shift_id")] == "CASCADE"
    assert rules[("family_link", "created_by")] in (None, "NO ACTION")  # a record keeps its author
