"""assistance: each job recommendation's outcome, and the one sanction per person after three
refused offers (`employment.offers_refused`). Idempotent: a table already there is left alone.

Revision ID: assi_0006
Revises: assi_0005
"""

import sqlalchemy as sa
from alembic import op

from services.assistance.adapters.orm_job_offers import job_offer_outcomes, job_offer_sanctions

revision = "assi_0006"
down_revision = "assi_0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    for table in (job_offer_outcomes, job_offer_sanctions):
        if table.name not in existing:
            table.create(bind)


def downgrade() -> None:
    for table in ("job_offer_sanctions", "job_offer_outcomes"):
        op.drop_table(table)
