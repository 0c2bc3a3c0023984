"""assistance: ID and phone numbers typed into free text before the scanner ran are masked in
place — measures' reasons, descriptions, outcomes and drop reasons, plan and measure history
notes, contact reassignment reasons, contacts' units, visit findings and attachments, employment
surveys, services, employers and posts (`shared.pii.mask_numbers_in_text`, as the API now does on
every write). Idempotent.

Revision ID: assi_0005
Revises: assi_0003
"""

from alembic import op

from shared.pii_backfill import mask_stored_free_text

revision = "assi_0005"
down_revision = "assi_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    mask_stored_free_text(conn, "measures", "id", text=["reason", "description", "outcome", "drop_reason"])
    mask_stored_free_text(conn, "plan_history", "id", text=["note"])
    mask_stored_free_text(conn, "measure_history", "id", text=["note"])
    mask_stored_free_text(conn, "contact_assignments", "id", text=["reason"])
    mask_stored_free_text(conn, "contacts", "id", text=["unit"])
    mask_stored_free_text(conn, "visits", "id", text=["findings"], json_typed=["attachments"])
    mask_stored_free_text(conn, "employment_records", "id", json_typed=["survey"])
    mask_stored_free_text(conn, "employment_services", "id", text=["detail"])
    mask_stored_free_text(conn, "placements", "id", text=["employer"])
    mask_stored_free_text(conn, "post_wages", "id", text=["post"])


def downgrade() -> None:
    """Nothing to undo: the clear numbers are gone (that is the point)."""
