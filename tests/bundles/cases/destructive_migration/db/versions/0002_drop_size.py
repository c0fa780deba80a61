import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.drop_column("uploads", "size")


def downgrade() -> None:
    op.add_column("uploads", sa.Column("size", sa.BigInteger))
