"""Sign-in: a user row belongs to one identity-provider subject (the token's `sub`).

Rows created on first sign-in may have no email or name yet (a Cognito access token carries
neither), so both become nullable.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("subject", sa.String(255), nullable=True))
    op.create_unique_constraint("users_subject", "users", ["subject"])
    op.alter_column("users", "email", existing_type=sa.String(254), nullable=True)
    op.alter_column("users", "name", existing_type=sa.String(200), nullable=True)


def downgrade() -> None:
    op.execute("UPDATE users SET email = id || '@invalid' WHERE email IS NULL")
    op.execute("UPDATE users SET name = id WHERE name IS NULL")
    op.alter_column("users", "name", existing_type=sa.String(200), nullable=False)
    op.alter_column("users", "email", existing_type=sa.String(254), nullable=False)
    op.drop_constraint("users_subject", "users", type_="unique")
    op.drop_column("users", "subject")
