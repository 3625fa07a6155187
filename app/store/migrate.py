"""`python -m app migrate`: upgrade the writer database to the newest revision."""

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

from app.core.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def upgrade(settings: Settings, revision: str = "head") -> None:
    """Programmatic config: no alembic.ini to ship, and the URL never leaves Settings."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["settings"] = settings
    command.upgrade(config, revision)


def main(settings: Settings) -> None:
    # Alembic announces each of its plugins at INFO; the revisions it runs are what matter.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    upgrade(settings)
