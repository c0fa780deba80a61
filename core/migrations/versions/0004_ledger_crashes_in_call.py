"""task_ledger.crashes_in_call: deliveries that found a key `sending` with an expired lease.

A process that dies inside a non-idempotent downstream call (an SES send) leaves the
key in the state `sending` (a new value of the state column, which needs no schema
change); the delivery that finds it counts it here, whether it resends or gives up.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("task_ledger", sa.Column("crashes_in_call", sa.Integer, nullable=False, server_default="0"))


def downgrade() -> None:
    op.drop_column("task_ledger", "crashes_in_call")
