"""Running Alembic from the app and the CLI, and checking the schema is at head."""

import logging
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from carecenter.devices.models import DEVICE_FACTS_VERSION
from carecenter.readings.partitions import is_partition

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """What Alembic compares: the tables the models declare, not the partitions of `reading` nor
    the number that says when devices changed (its migration's own, kept out of the models so that
    emptying every model's rows leaves it)."""
    return not (type_ == "table" and name is not None and (is_partition(name) or name == DEVICE_FACTS_VERSION))


def alembic_config(database_url: str) -> Config:
    """An Alembic config that works from any working directory, installed or not."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade_to_head(database_url: str) -> None:
    """Apply every pending migration, saying which (the servers' logging keeps Alembic quiet)."""
    steps = logging.getLogger("alembic.runtime.migration")
    level = steps.level
    steps.setLevel(logging.INFO)
    try:
        command.upgrade(alembic_config(database_url), "head")
    finally:
        steps.setLevel(level)


def head_revisions() -> set[str]:
    return set(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())


def current_revisions(engine: sa.Engine) -> set[str]:
    with engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def schema_is_current(engine: sa.Engine) -> bool:
    return current_revisions(engine) == head_revisions()
