import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.alter_column("uploads", "filename", type_=sa.String(50), existing_type=sa.String(255))
