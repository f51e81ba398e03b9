"""Apply Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.config import Config


def alembic_config(engine: sa.Engine) -> Config:
    """An Alembic config pointing at the packaged migrations and running on `engine`."""
    config = Config()
    config.set_main_option("script_location", "backend:migrations")
    config.attributes["engine"] = engine
    return config


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Bring the database schema up to `revision`."""
    command.upgrade(alembic_config(engine), revision)


def downgrade(engine: sa.Engine, revision: str) -> None:
    """Take the database schema back to `revision`."""
    command.downgrade(alembic_config(engine), revision)
