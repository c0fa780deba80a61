"""An expand/contract pair of Alembic migrations after the repository's own (0005): the release tests deploy,
roll back and roll forward across them."""
from __future__ import annotations

EXPAND = ('"""Expand: uploads.caption, which no code needs yet."""\nimport sqlalchemy as sa\nfrom alembic import op\n\n'
          'revision = "0006"\ndown_revision = "0005"\n\n\ndef upgrade():\n'
          '    op.add_column("uploads", sa.Column("caption", sa.String(200), nullable=True))\n')
CONTRACT = ('"""Contract: the caption goes again."""\nfrom alembic import op\n\nrevision = "0007"\n'
            'down_revision = "0006"\ncontract_of = "0006"\n\n\ndef upgrade():\n'
            '    op.drop_column("uploads", "caption")\n')
