"""identification: `household_duplicates` — one person in two households (一人多户) and matches
outside the caller's jurisdiction, to be resolved by the region covering both (keep/move/split).

Revision ID: iden_0008
Revises: iden_0007
"""

from alembic import op

from services.identification.adapters.orm_duplicates import household_duplicates

revision = "iden_0008"
down_revision = "iden_0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    household_duplicates.create(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    household_duplicates.drop(op.get_bind(), checkfirst=True)
