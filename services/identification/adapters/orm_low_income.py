"""Tables of the low-income side's tracked work (migration `iden_0016`): the twice-yearly joint
screening runs (one row per county and half-year, the lease that makes a run happen once) and
the monthly comparison tasks with the four departments (one row per county, month, department)."""

from __future__ import annotations

import sqlalchemy as sa

from services.identification.adapters.orm import metadata

__all__ = ["joint_screenings", "low_income_comparisons"]

_TS = sa.DateTime(timezone=True)

#: A joint screening run (两次集中排查, 003 §二(二)): its screening job and, once the job is done,
#: the result counts of both sides.
joint_screenings = sa.Table(
    "joint_screenings",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("county", sa.String(6), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),  # YYYY-H1 | YYYY-H2
    sa.Column("job_id", sa.String(36), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # running | completed | failed
    sa.Column("as_of", sa.Date, nullable=False),
    #: JSON: the schedule's month, its source, the policy in force
    sa.Column("schedule", sa.Text, nullable=False),
    #: JSON: counts by return-to-poverty category, low-income category, warning (None while running)
    sa.Column("result", sa.Text, nullable=True),
    sa.Column("started_by", sa.String(200), nullable=False),
    sa.Column("started_at", _TS, nullable=False),
    sa.Column("finished_at", _TS, nullable=True),
    sa.UniqueConstraint("county", "period", name="uq_joint_screenings_county_period"),
)

#: A monthly comparison task (每月比对, 003 §二(三)).
low_income_comparisons = sa.Table(
    "low_income_comparisons",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("county", sa.String(6), nullable=False),
    sa.Column("month", sa.String(7), nullable=False),  # YYYY-MM
    sa.Column("department", sa.String(40), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("due_on", sa.Date, nullable=False),
    #: JSON: the due day's value and source
    sa.Column("due_rule", sa.Text, nullable=False),
    #: JSON: how the data arrived (signals: source_dept, window, signal count; file: name, sha256, rows)
    sa.Column("receipt", sa.Text, nullable=True),
    sa.Column("received_at", _TS, nullable=True),
    sa.Column("received_by", sa.String(200), nullable=True),
    #: JSON: the matches counted (new signals, households flagged, leads, cases opened …)
    sa.Column("result", sa.Text, nullable=True),
    sa.Column("compared_at", _TS, nullable=True),
    sa.Column("compared_by", sa.String(200), nullable=True),
    sa.Column("overdue_at", _TS, nullable=True),
    #: JSON list of {action, from, to, by, at, note}
    sa.Column("history", sa.Text, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("created_at", _TS, nullable=False),
    sa.Column("updated_at", _TS, nullable=False),
    sa.UniqueConstraint("county", "month", "department", name="uq_low_income_comparisons_task"),
    sa.Index("ix_low_income_comparisons_month", "month", "county"),
)
