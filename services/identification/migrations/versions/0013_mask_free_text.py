"""identification: ID and phone numbers typed into free text before the scanner ran are masked in
place — applications' reasons, case reasons, objections and investigators, review notes, signal
payloads (`shared.pii.mask_numbers_in_text`, as the API now does on every write). Idempotent.
The audit log's reasons were masked when written (and are hash-chained: left alone).

Revision ID: iden_0013
Revises: iden_0012
"""

from alembic import op

from shared.pii_backfill import mask_stored_free_text

revision = "iden_0013"
down_revision = "iden_0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    mask_stored_free_text(conn, "applications", "id", text=["reason"])
    mask_stored_free_text(conn, "cases", "id", text=["reason"], json_text=["objections", "investigators"])
    mask_stored_free_text(conn, "case_history", "id", text=["note"])
    mask_stored_free_text(conn, "signals", "id", json_text=["payload"])


def downgrade() -> None:
    """Nothing to undo: the clear numbers are gone (that is the point)."""
