"""uploads.s3_version_id: the S3 version of the original that completion found and the worker reads.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("uploads", sa.Column("s3_version_id", sa.String(1024), nullable=True))


def downgrade() -> None:
    op.drop_column("uploads", "s3_version_id")
