"""Tables of the loops between assistance and identification (migration `iden_0010`): what
identification has heard from assistance about each household (when measures started, each
measure's status, the last income update and its re-assessment), red marks and their
append-only history, and one lease row per scheduled screening (county, period)."""

from __future__ import annotations

import sqlalchemy as sa

from services.identification.adapters.orm import metadata

__all__ = ["household_loops", "household_marks", "household_measures", "scheduled_screenings"]

_BIGINT = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)

#: One row per household assistance has told identification about (or an officer marked red).
household_loops = sa.Table(
    "household_loops",
    metadata,
    sa.Column("household_id", sa.String(36), primary_key=True),
    sa.Column("region_code", sa.String(12), nullable=False),
    #: the day assistance measures were first in place (plan drawn up: first measure accepted)
    sa.Column("measures_since", sa.Date, nullable=True),
    #: the visit whose income was applied last (a visit of an earlier day does not overwrite it)
    sa.Column("income_visited_on", sa.Date, nullable=True),
    sa.Column("income_visit_id", sa.String(64), nullable=True),
    #: JSON: the latest re-assessment after an income update (warning, previous, rules, explanations)
    sa.Column("reassessment", sa.Text, nullable=True),
    #: a county officer's manual red mark (None: not marked)
    sa.Column("red_mark_reason", sa.Text, nullable=True),
    sa.Column("red_marked_by", sa.String(200), nullable=True),
    sa.Column("red_marked_at", _TS, nullable=True),
    sa.Column("updated_at", _TS, nullable=False),
)

#: Each assistance measure of a household with its latest status; a status only moves forward
#: (proposed → accepted → referred → in_progress → closed | dropped), so a late or redelivered
#: event cannot take a measure back.
household_measures = sa.Table(
    "household_measures",
    metadata,
    sa.Column("measure_id", sa.String(64), primary_key=True),
    sa.Column("household_id", sa.String(36), nullable=False, index=True),
    sa.Column("plan_id", sa.String(64), nullable=True),
    sa.Column("type", sa.String(32), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("changed_on", sa.Date, nullable=True),
    sa.Column("updated_at", _TS, nullable=False),
)

#: Append-only history of manual red marks (who, when, why).
household_marks = sa.Table(
    "household_marks",
    metadata,
    sa.Column("id", _BIGINT, primary_key=True, autoincrement=True),
    sa.Column("household_id", sa.String(36), nullable=False, index=True),
    sa.Column("action", sa.String(16), nullable=False),  # red_mark | red_unmark
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("by", sa.String(200), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("at", _TS, nullable=False),
)

#: The lease of a scheduled screening: the replica that inserts the (county, period) row starts
#: the county's screening job; every other replica finds the row and does nothing.
scheduled_screenings = sa.Table(
    "scheduled_screenings",
    metadata,
    sa.Column("county", sa.String(6), primary_key=True),
    sa.Column("period", sa.String(7), primary_key=True),  # YYYY-MM of the period's first month
    sa.Column("job_id", sa.String(36), nullable=True),
    sa.Column("started_by", sa.String(200), nullable=False),
    sa.Column("started_at", _TS, nullable=False),
)
