"""identification: the household registry look-up — `household_heads` (the keyed hash of each
household's head's name, for the exact name search; derived from `members`, refreshed by the
search itself) and the index of households by (status, region_code, id) for the status filter.

Revision ID: iden_0012
Revises: iden_0010
"""

import sqlalchemy as sa
from alembic import op

from services.identification.adapters.orm_registry import household_heads

revision = "iden_0012"
down_revision = "iden_0010"
branch_labels = None
depends_on = None

_STATUS_INDEX = "ix_households_status_region"


def _indexes(table: str) -> set[str]:
    return {str(i["name"]) for i in sa.inspect(op.get_bind()).get_indexes(table)}


def upgrade() -> None:
    bind = op.get_bind()
    if not sa.inspect(bind).has_table("household_heads"):
        household_heads.create(bind)
    if _STATUS_INDEX not in _indexes("households"):  # iden_0002 of a new database may have made it
        op.create_index(_STATUS_INDEX, "households", ["status", "region_code", "id"])


def downgrade() -> None:
    if _STATUS_INDEX in _indexes("households"):
        op.drop_index(_STATUS_INDEX, table_name="households")
    op.drop_table("household_heads")
