import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("uploads", sa.Column("owner", sa.String(64), nullable=False))
