"""Tables of appeals (申诉/复核) and complaints (12345 投诉举报), and the alerts their sweep has
published (so each reminder and overdue notice goes out once). ID and phone numbers are kept
AES-GCM encrypted with a blind index for look-ups; free text is stored masked."""

from __future__ import annotations

import sqlalchemy as sa

from .orm import metadata

_TS = sa.DateTime(timezone=True)

appeals = sa.Table(
    "appeals",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("household_id", sa.String(64), nullable=False, index=True),
    sa.Column("region_code", sa.String(12), nullable=False, index=True),  # the household's village
    sa.Column("subject_kind", sa.String(40), nullable=False),
    sa.Column("subject_id", sa.String(64), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("decided_level", sa.String(10), nullable=False),
    sa.Column("review_level", sa.String(10), nullable=False),
    sa.Column("review_region", sa.String(12), nullable=False, index=True),
    sa.Column("grounds", sa.Text, nullable=False),  # masked (shared.pii.mask_numbers_in_text)
    sa.Column("attachments", sa.JSON, nullable=False),
    #: blind index of the appellant's resident ID number (a citizen's token `sub`)
    sa.Column("appellant_index", sa.String(64), nullable=True, index=True),
    sa.Column("filed_by", sa.String(200), nullable=False),
    sa.Column("filed_by_role", sa.String(16), nullable=False),
    sa.Column("received_on", sa.Date, nullable=False),
    sa.Column("deadline", sa.Date, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("history", sa.JSON, nullable=False),
    sa.Column("explanation", sa.JSON, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

complaints = sa.Table(
    "complaints",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("channel", sa.String(24), nullable=False),
    sa.Column("topic", sa.String(24), nullable=False),
    sa.Column("text", sa.Text, nullable=False),  # masked
    sa.Column("household_id", sa.String(64), nullable=True, index=True),
    sa.Column("person_id_enc", sa.LargeBinary, nullable=True),
    sa.Column("person_index", sa.String(64), nullable=True, index=True),
    sa.Column("contact_phone_enc", sa.LargeBinary, nullable=True),
    sa.Column("region_code", sa.String(12), nullable=False, index=True),  # the place complained about
    sa.Column("officer_level", sa.String(10), nullable=True),
    sa.Column("responsible_level", sa.String(10), nullable=False),
    sa.Column("responsible_region", sa.String(12), nullable=False, index=True),
    sa.Column("responsible_department", sa.String(40), nullable=True),
    sa.Column("escalated_level", sa.String(10), nullable=True),
    sa.Column("escalated_region", sa.String(12), nullable=True),
    sa.Column("state", sa.String(16), nullable=False, index=True),
    sa.Column("received_on", sa.Date, nullable=False),
    sa.Column("ack_due", sa.Date, nullable=False),
    sa.Column("reply_due", sa.Date, nullable=False),
    sa.Column("acknowledged_on", sa.Date, nullable=True),
    sa.Column("replied_on", sa.Date, nullable=True),
    sa.Column("reply", sa.Text, nullable=True),  # masked
    sa.Column("satisfaction", sa.String(24), nullable=True),
    sa.Column("reopen_count", sa.Integer, nullable=False),
    #: blind index of who filed it (a citizen by ID number, others by `role:sub`)
    sa.Column("complainant_index", sa.String(64), nullable=False, index=True),
    sa.Column("filed_by", sa.String(200), nullable=False),
    sa.Column("filed_by_role", sa.String(16), nullable=False),
    sa.Column("history", sa.JSON, nullable=False),
    sa.Column("explanation", sa.JSON, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
)

#: One row per published reminder/overdue alert: the primary key keeps replicas from sending twice.
grievance_alerts = sa.Table(
    "grievance_alerts",
    metadata,
    sa.Column("kind", sa.String(40), primary_key=True),  # appeal.reminder_due, complaint.overdue, …
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("ref_id", sa.String(36), nullable=False),
    sa.Column("region_code", sa.String(12), nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("published_at", _TS, nullable=False),
)

APPEALS_TABLES = (appeals, complaints, grievance_alerts)
