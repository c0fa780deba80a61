"""users.email_verified and email_verifications: sign-up proves the address with a mailed, single-use link.

email_verified is NOT NULL with a server default of true, so every existing account counts as verified, and
so does any the previous release creates while a rolling deployment still runs it (that release logs new
accounts in at once, and its inserts do not name the column). The new sign-up writes false until the link is
followed. email_verifications keeps the SHA-256 of each link's token, never the token, with its expiry.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("email_verified", sa.Boolean, nullable=False, server_default=sa.true()))
    op.create_table(
        "email_verifications",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        mysql_charset="utf8mb4",
    )
    op.create_index("ix_email_verifications_user_id", "email_verifications", ["user_id"])


def downgrade() -> None:
    op.drop_table("email_verifications")  # its index with it (MariaDB keeps one its foreign key needs)
    op.drop_column("users", "email_verified")
