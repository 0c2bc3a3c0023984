"""The DCI exchange's pure rules (domain/dci.py) as tables: search criteria → query or the
spec's rejection code, consent, subscription filters within the jurisdiction, where
notifications go, callback addresses (SSRF), the envelope checks, the Household record's
masking."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.identification.domain.dci import (
    DciRefusal,
    HouseholdView,
    ItemRejected,
    MemberView,
    SearchQuery,
    check_callback_address,
    check_envelope,
    has_consent,
    household_record,
    notify_uri_for,
    parse_search_criteria,
    parse_subscribe_criteria,
    subscription_codes,
)

ENROLLED = "fangfan:RegistryEventType:MonitoringEnrolled"


def _pred(name: str, op: str, value: Any, **kw: Any) -> dict[str, Any]:
    return {"expression1": {"attribute_name": name, "operator": op, "attribute_value": value}, **kw}


@pytest.mark.parametrize(
    ("name", "criteria", "expected"),
    [
        (
            "UIN → ID number",
            {"query_type": "idtype-value", "query": {"type": "UIN", "value": "34122119800101001x"}},
            SearchQuery(id_number="34122119800101001X"),
        ),
        (
            "NID is an ID number too",
            {"query_type": "idtype-value", "query": {"type": "nid", "value": "1"}},
            SearchQuery(id_number="1"),
        ),
        (
            "household id",
            {"query_type": "idtype-value", "query": {"type": "HOUSEHOLD_ID", "value": "h-1"}},
            SearchQuery(household_id="h-1"),
        ),
        (
            "unknown identifier",
            {"query_type": "idtype-value", "query": {"type": "BRN", "value": "1"}},
            "rjct.search_criteria.invalid",
        ),
        (
            "region + status, paged, sorted",
            {
                "query_type": "predicate",
                "query": [
                    _pred("region_code", "eq", "341221"),
                    _pred("household_status", "in", ["monitored"], condition="and"),
                ],
                "pagination": {"page_size": 50, "page_number": 3},
                "sort": [{"attribute_name": "registration_date", "sort_order": "desc"}],
            },
            SearchQuery(
                region="341221",
                statuses=("monitored",),
                page_size=50,
                page_number=3,
                sort_column="created_at",
                sort_desc=True,
            ),
        ),
        (
            "village 341221001200 is not cut to a prefix",
            {"query_type": "predicate", "query": [_pred("region_code", "eq", "341221001200")]},
            SearchQuery(region="341221001200"),
        ),
        (
            "7-digit region",
            {"query_type": "predicate", "query": [_pred("region_code", "eq", "3412210")]},
            "rjct.search_criteria.invalid",
        ),
        (
            "or is not offered",
            {"query_type": "predicate", "query": [_pred("warning", "eq", "red", condition="or")]},
            "rjct.search_criteria.invalid",
        ),
        (
            "expression is not offered",
            {"query_type": "expression", "query": {"type": "NoSql", "value": {}}},
            "rjct.search_criteria.invalid",
        ),
        (
            "page_size over 100",
            {"query_type": "predicate", "query": [_pred("warning", "eq", "red")], "pagination": {"page_size": 101}},
            "rjct.pagination.invalid",
        ),
        (
            "page_number 0",
            {
                "query_type": "predicate",
                "query": [_pred("warning", "eq", "red")],
                "pagination": {"page_size": 5, "page_number": 0},
            },
            "rjct.pagination.invalid",
        ),
        (
            "sort by a name",
            {"query_type": "predicate", "query": [_pred("warning", "eq", "red")], "sort": [{"attribute_name": "name"}]},
            "rjct.sort.invalid",
        ),
        # hostile input: refused as the spec's rejection, never a server error
        (
            "NUL in an identifier",
            {"query_type": "idtype-value", "query": {"type": "HOUSEHOLD_ID", "value": "a\x00b"}},
            "rjct.search_criteria.invalid",
        ),
        (
            "seq_num of any type",
            {
                "query_type": "predicate",
                "query": [_pred("warning", "eq", "red", seq_num="x"), _pred("category", "eq", "marginal", seq_num=2)],
            },
            SearchQuery(warning="red", category="marginal"),
        ),
        (
            "Infinity as page size",
            {
                "query_type": "predicate",
                "query": [_pred("warning", "eq", "red")],
                "pagination": {"page_size": float("inf")},
            },
            "rjct.pagination.invalid",
        ),
        (
            "page number past the cap",
            {
                "query_type": "predicate",
                "query": [_pred("warning", "eq", "red")],
                "pagination": {"page_size": 1, "page_number": 10**9},
            },
            "rjct.pagination.invalid",
        ),
    ],
)
def test_search_criteria(name: str, criteria: dict[str, Any], expected: SearchQuery | str) -> None:
    got = parse_search_criteria(criteria)
    if isinstance(expected, str):
        assert isinstance(got, ItemRejected), name
        assert got.code == expected
    else:
        assert got == expected, name


@pytest.mark.parametrize(
    ("consent", "expected"),
    [
        (None, False),
        ({"ts": "2024-03-04T10:00:00+08:00"}, False),
        ({"ts": "2024-03-04T10:00:00+08:00", "purpose": {}}, False),
        ({"ts": "2024-03-04T10:00:00", "purpose": {"code": "x"}}, False),  # no time zone
        ({"ts": "2024-03-04T10:00:00+08:00", "purpose": {"code": "social-assistance-check"}}, True),
        ({"ts": "2024-03-04T02:00:00Z", "purpose": {"text": "低保审核比对"}}, True),
    ],
)
def test_consent(consent: Any, expected: bool) -> None:
    assert has_consent({"consent": consent} if consent is not None else {}) is expected


@pytest.mark.parametrize(
    ("caller", "criteria", "expected"),
    [
        ("341221", {"reg_event_type": ENROLLED, "notify_record_type": "Household"}, "341221"),
        (
            "341221",
            {
                "reg_event_type": ENROLLED,
                "notify_record_type": "Household",
                "filter": [_pred("region_code", "eq", "341221001")],
            },
            "341221001",
        ),
        (
            "341221",
            {
                "reg_event_type": ENROLLED,
                "notify_record_type": "Household",
                "filter": [_pred("region_code", "eq", "341222")],
            },
            "rjct.notify_details.invalid",
        ),
        (
            "341221",
            {
                "reg_event_type": ENROLLED,
                "notify_record_type": "Household",
                "filter": [_pred("region_code", "eq", "34")],
            },
            "rjct.notify_details.invalid",
        ),
        ("341221", {"reg_event_type": "REGISTER", "notify_record_type": "Household"}, "rjct.notify_types.invalid"),
        ("341221", {"reg_event_type": ENROLLED, "notify_record_type": "Person"}, "rjct.notify_details.invalid"),
        (
            "",
            {
                "reg_event_type": ENROLLED,
                "notify_record_type": "Household",
                "filter": [_pred("region_code", "eq", "34")],
            },
            "34",
        ),
    ],
)
def test_subscribe_criteria(caller: str, criteria: dict[str, Any], expected: str) -> None:
    got = parse_subscribe_criteria(criteria, caller_region=caller)
    if expected.startswith("rjct."):
        assert isinstance(got, ItemRejected)
        assert got.code == expected
    else:
        assert not isinstance(got, ItemRejected)
        assert got.region == expected


@pytest.mark.parametrize(
    ("sender_uri", "notify"),
    [
        ("https://spmis.example.cn/dci/on-subscribe", "https://spmis.example.cn/dci/notify"),
        ("https://spmis.example.cn/registry/", "https://spmis.example.cn/registry/notify"),
        ("http://127.0.0.1:9000/cb/on-search?x=1", "http://127.0.0.1:9000/cb/notify?x=1"),
    ],
)
def test_notify_uri(sender_uri: str, notify: str) -> None:
    assert notify_uri_for(sender_uri) == notify


@pytest.mark.parametrize(
    ("address", "allowlist", "allowed"),
    [
        ("203.0.113.9", "", False),  # documentation range: not global
        ("8.8.8.8", "", True),
        ("127.0.0.1", "", False),
        ("127.0.0.1", "127.0.0.1/32,::1/128", True),
        ("10.1.2.3", "", False),
        ("169.254.169.254", "", False),
        ("::ffff:127.0.0.1", "127.0.0.1/32", True),
        ("::ffff:10.0.0.1", "", False),
    ],
)
def test_callback_addresses(address: str, allowlist: str, allowed: bool) -> None:
    if allowed:
        check_callback_address(address, allowlist)
    else:
        with pytest.raises(DciRefusal) as refused:
            check_callback_address(address, allowlist)
        assert refused.value.code == "err.sender_uri.invalid"


NOW = dt.datetime(2024, 3, 4, 2, 0, tzinfo=dt.UTC)
HEADER = {
    "message_id": "m",
    "message_ts": "2024-03-04T10:05:00+08:00",
    "action": "search",
    "sender_id": "s",
    "total_count": 1,
}


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({}, None),
        ({"action": "subscribe"}, "err.request.bad"),
        ({"version": "2.0.0"}, "err.version.not_supported"),
        ({"receiver_id": "someone"}, "err.receiver_id.invalid"),
        ({"is_msg_encrypted": True}, "err.encryption.invalid"),
        ({"message_ts": "2024-03-04T09:40:00+08:00"}, "err.request.bad"),  # 20 minutes old
        ({"total_count": "1"}, "err.request.bad"),
        ({"message_id": "m\x00"}, "err.request.bad"),
        ({"sender_id": ["s"]}, "err.request.bad"),
    ],
)
def test_envelope_checks(change: dict[str, Any], code: str | None) -> None:
    body = {"header": {**HEADER, **change}, "message": {}}
    if code is None:
        assert check_envelope(body, action="search", receiver_id="fangfan", now=NOW)[0]["sender_id"] == "s"
    else:
        with pytest.raises(DciRefusal) as refused:
            check_envelope(body, action="search", receiver_id="fangfan", now=NOW)
        assert refused.value.code == code


def test_unsubscribe_codes_take_the_spec_spelling_too() -> None:
    assert subscription_codes({"subscription_codes": ["a", "a", "b"]}) == ["a", "b"]
    assert subscription_codes({"sunscription_codes": ["c"]}) == ["c"]
    assert subscription_codes({"subscription_codes": []}) is None


def _view() -> HouseholdView:
    member = MemberView(
        0, "head", "M", dt.date(1980, 1, 1), None, None, "341221********001X", "34122119800101001X", "张伟"
    )
    return HouseholdView(
        "h1", "341221-000000001", "341221001201", "monitored", "marginal", None, None, "none",
        dt.date(2024, 3, 4), None, (member,), "138****5678", "13812345678",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("personal", "reveal", "value", "name", "phone"),
    [
        (False, False, None, None, None),
        (True, False, "341221********001X", None, "138****5678"),
        (True, True, "34122119800101001X", {"surname": "张", "given_name": "伟"}, "13812345678"),
    ],
)
def test_household_record_masking(
    personal: bool, reveal: bool, value: str | None, name: Any, phone: str | None
) -> None:
    record = household_record(_view(), personal=personal, reveal=reveal)
    assert record["household_identifier"] == "h1"
    assert record["household_status"] == "monitored"
    if not personal:
        assert "member_list" not in record
        assert "household_head_info" not in record
        return
    person = record["household_head_info"]["person"]
    assert person["identifier_value"] == value
    assert person.get("name") == name
    assert person["phone_number"] == phone
    assert record["member_list"][0]["household_member"]["relationship_head"] == "self"
