"""uploads.variant_widths: the widths the worker made, so pages can write srcset without listing the bucket.

Widths depend on the image (never upscaled), so they are recorded when the worker makes them:
comma-separated, largest first, e.g. "1600,800,200"; NULL until the upload is ready.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("uploads", sa.Column("variant_widths", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("uploads", "variant_widths")
