"""notification: ID and phone numbers typed into subscriptions' descriptions before the scanner
ran are masked in place (`shared.pii`, as the API now does on every write). Idempotent.

Revision ID: noti_0003
Revises: noti_0002
"""

from alembic import op

from shared.pii_backfill import mask_stored_free_text

revision = "noti_0003"
down_revision = "noti_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    mask_stored_free_text(op.get_bind(), "subscriptions", "id", text=["description"])


def downgrade() -> None:
    """Nothing to undo: the clear numbers are gone (that is the point)."""
