"""`python -m app migrate`: upgrade every shard's writer to the newest revision.

Every shard gets the same schema (the global tables are simply empty off the home shard). Shards
are migrated one after the other, each reported on its own line; a shard that fails is named
and the others are still migrated (every revision is additive, so a mix of heads is safe for
the old code), and the job exits non-zero so the release stops.
"""

import logging
import sys
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

from app.core.settings import Settings
from app.store.routing import safe_url
from app.store.shards import Shard

MIGRATIONS = Path(__file__).parent / "migrations"


class MigrationFailed(Exception):
    """One or more shards could not be migrated; the message names each."""


def head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return str(ScriptDirectory.from_config(config).get_current_head())


def upgrade(settings: Settings, revision: str = "head", *, url: str | None = None) -> None:
    """Programmatic config: no alembic.ini to ship, and the URL never leaves Settings.
    `url`: one shard's writer; default the settings' database."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["settings"] = settings
    config.attributes["url"] = url
    command.upgrade(config, revision)


def upgrade_all(
    settings: Settings,
    revision: str = "head",
    shards: list[Shard] | None = None,
    out: Callable[[str], None] = lambda line: None,
) -> list[str]:
    """Migrate every shard; returns (and passes to `out` as it goes) one report line per shard.
    Raises MigrationFailed naming every shard that failed, after trying them all."""
    if revision == "head":
        revision = head()
    report: list[str] = []
    failed: list[str] = []
    for shard in settings.shard_list() if shards is None else shards:
        try:
            upgrade(settings, revision, url=shard.writer_url)
        except Exception as exc:
            line = f"shard {shard.name} ({safe_url(shard.writer_url)}): FAILED: {exc!r}"
            failed.append(line)
        else:
            line = f"shard {shard.name} ({safe_url(shard.writer_url)}): at {revision}"
        out(line)
        report.append(line)
    if failed:
        raise MigrationFailed(f"{len(failed)} of {len(report)} shards failed to migrate: " + "; ".join(failed))
    return report


def main(settings: Settings) -> None:
    # Alembic announces each of its plugins at INFO; the revisions it runs are what matter.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    try:
        upgrade_all(settings, out=lambda line: print(line, flush=True))
    except MigrationFailed as exc:
        print(f"migrate: {exc}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
