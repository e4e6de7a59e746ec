import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from carecenter.db import make_engine
from carecenter.migrate import alembic_config, head_revisions, schema_is_current, upgrade_to_head
from carecenter.tables import metadata


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
