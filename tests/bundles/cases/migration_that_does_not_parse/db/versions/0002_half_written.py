"""A migration saved half-written."""
from alembic import op

revision = "0002"
down_revision = None


def upgrade():
    op.add_column("uploads",
