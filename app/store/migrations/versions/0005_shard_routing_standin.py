"""Stand-in for the shard-routing revision "0005" built on another branch; it changes nothing.

Only here so revision "0006" (resharding) has its parent on this branch. When the real "0005"
lands, this file is deleted: two files claiming revision "0005" would stop alembic.

Revision ID: 0005
Revises: 0004
"""

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
