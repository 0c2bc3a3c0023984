"""subsidy: ID and phone numbers typed into decisions' notes and rejection reasons (the history
and `rejection_reason`) before the scanner ran are masked in place (`shared.pii`, as the API now
does on every write). Idempotent.

Revision ID: subs_0004
Revises: subs_0003
"""

from alembic import op

from shared.pii_backfill import mask_stored_free_text

revision = "subs_0004"
down_revision = "subs_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    mask_stored_free_text(op.get_bind(), "decisions", "seq", text=["rejection_reason"], json_text=["history"])


def downgrade() -> None:
    """Nothing to undo: the clear numbers are gone (that is the point)."""
