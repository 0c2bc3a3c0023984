"""Event payload contracts: per event type (`cn.fangfan.<domain>.<name>.v<version>`) a frozen
dataclass naming its fields, their wire types and which are required. Producers' events are
checked when written (`shared.db.UnitOfWork.add_event`); consumers read typed payloads with
`parse` (the whole contract) or `read` (their declared view, `reads`). docs/events.md.

    from shared import contracts
    from shared.contracts.assistance import VisitScheduled

    visit = contracts.parse(event, VisitScheduled)   # ContractViolation when off contract
    visit.due_date                                   # a datetime.date
"""

from shared.contracts import assistance, civil_affairs, identification, notification, subsidy
from shared.contracts._registry import (
    UNCHECKED_DOMAINS,
    ConsumerView,
    Contract,
    check,
    consumer_views,
    contract,
    contract_for,
    contracts,
    parse,
    read,
    reads,
    validate,
    version_of,
    wire,
)
from shared.contracts._schema import ContractViolation, FieldSpec, Problem, Shape, incompatibilities

__all__ = [
    "UNCHECKED_DOMAINS",
    "ConsumerView",
    "Contract",
    "ContractViolation",
    "FieldSpec",
    "Problem",
    "Shape",
    "assistance",
    "check",
    "civil_affairs",
    "consumer_views",
    "contract",
    "contract_for",
    "contracts",
    "identification",
    "incompatibilities",
    "notification",
    "parse",
    "read",
    "reads",
    "subsidy",
    "validate",
    "version_of",
    "wire",
]
