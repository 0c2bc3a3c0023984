"""subsidy: decisions recorded from civil affairs' payment orders keep the order's `payment_id`
(unique: at most one decision per order) and its `reference` (enrolment or relief request).
Idempotent: a column or index already there is left alone.

Revision ID: subs_0005
Revises: subs_0004
"""

import sqlalchemy as sa
from alembic import op

revision = "subs_0005"
down_revision = "subs_0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    insp = sa.inspect(op.get_bind())
    columns = {c["name"] for c in insp.get_columns("decisions")}
    with op.batch_alter_table("decisions") as batch:
        if "payment_id" not in columns:
            batch.add_column(sa.Column("payment_id", sa.String(64), nullable=True))
        if "reference" not in columns:
            batch.add_column(sa.Column("reference", sa.Text, nullable=True))
    if "ux_decisions_payment_id" not in {i["name"] for i in insp.get_indexes("decisions")}:
        op.create_index("ux_decisions_payment_id", "decisions", ["payment_id"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_decisions_payment_id", table_name="decisions")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("reference")
        batch.drop_column("payment_id")
