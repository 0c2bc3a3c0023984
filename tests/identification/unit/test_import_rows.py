"""The bulk import's fast path agrees with the API's pydantic model: what it accepts it
normalises exactly as `HouseholdImport` does, and every row it is unsure of (all bad rows among
them) is decided by the model, so the bulk path refuses exactly what the API refuses — with the
same field paths and messages. Rows it writes decrypt with the service's `FieldCipher`."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
from pydantic import ValidationError

from services.identification.adapters.households import ID_NUMBER_CONTEXT, NAME_CONTEXT, PHONE_CONTEXT, RowEncoder
from services.identification.adapters.import_worker import prepare_ndjson
from services.identification.api.schemas import HouseholdImport
from services.identification.application.import_rows import fast_canonical, validate_canonical
from shared.auth import Principal
from shared.cli.generate import generate_households
from shared.pii import FieldCipher

ITEMS = list(generate_households(1500, "341221", seed=3))
PROVINCE = Principal(sub="p", role="province", region="34")


def _model(obj: dict[str, Any]) -> dict[str, Any] | None:
    try:
        return HouseholdImport.model_validate(obj).model_dump(mode="json")
    except ValidationError:
        return None


def test_fast_path_normalises_like_the_model_on_a_generated_county() -> None:
    for item in ITEMS:
        assert fast_canonical(copy.deepcopy(item)) == _model(item), item["household_number"]


def _csv_like(item: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(item)
    out["escaped_poverty"] = "true" if item["escaped_poverty"] else "false"
    for m in out["members"]:
        m["serious_illness"] = "true" if m["serious_illness"] else "false"
        if m["disability_grade"] is not None:
            m["disability_grade"] = str(m["disability_grade"])
        for k in ("disability_grade", "disability_kind"):
            if m[k] is None:
                del m[k]
    out["assets"] = {k: "true" for k, v in item["assets"].items() if v}
    return out


def _variants(item: dict[str, Any]) -> list[dict[str, Any]]:
    m0 = item["members"][0]
    bad_check = m0["id_number"][:17] + ("0" if m0["id_number"][17] != "0" else "1")
    return [
        _csv_like(item),
        item | {"income": {"wage": 5000, "unverified_earners": "2"}},
        item | {"income": {"wage": 5000.5}},  # floats: the model decides
        item | {"income": {"wage": "0050"}},
        item | {"income": {"wage": "-3"}},
        item | {"income": {"wage": "1.234"}},
        item | {"income": {"wage": "1e3"}},
        item | {"income": None},
        item | {"escaped_poverty": "yes"},
        item | {"escaped_poverty": 1},
        item | {"dibao_status": "poor"},
        item | {"dibao_status": ["none"]},
        item | {"declared_risks": ["housing", "flood"]},
        item | {"colour": "red"},
        item | {"members": []},
        item | {"members": [m0, m0]},
        item | {"members": [m0 | {"id_number": bad_check}]},
        item | {"members": [m0 | {"id_number": m0["id_number"][:6] + "19800230" + m0["id_number"][14:]}]},
        item | {"members": [m0 | {"id_number": m0["id_number"].lower()}]},
        item | {"members": [m0 | {"labor_capacity": "strong"}]},
        item | {"members": [m0 | {"schooling": "senior"}]},
        item | {"members": [m0 | {"disability_grade": 5}]},
        item | {"members": [m0 | {"disability_grade": True}]},
        item | {"members": [m0 | {"name": ""}]},
        item | {"members": [m0 | {"nickname": "x"}]},
        item | {"region_code": "341221001"},
        item | {"region_code": 341221001201},
        item | {"phone": "12345"},
        item | {"phone": None},
        item | {"household_number": "a b"},
        item | {"last_year_income": None},
        {k: v for k, v in item.items() if k not in ("income", "expenses", "assets", "phone")},
    ]


@pytest.mark.parametrize("i", range(0, 1500, 150))
def test_accepts_and_refuses_exactly_what_the_model_does(i: int) -> None:
    for obj in _variants(ITEMS[i]):
        fast = fast_canonical(copy.deepcopy(obj))
        want = _model(obj)
        if fast is not None:
            assert fast == want, obj
        canon, errors = validate_canonical(7, copy.deepcopy(obj), None, PROVINCE)
        if want is None or len({m["id_number"] for m in want["members"]}) < len(want["members"]):
            assert canon is None, obj
            assert errors, obj
            assert all(e["line"] == 7 and e["path"] is not None for e in errors)
        else:
            assert canon == want, obj
            assert errors == [], obj


def test_bad_rows_carry_the_models_paths_and_messages() -> None:
    item = ITEMS[0]
    m0 = item["members"][0]
    bad = m0["id_number"][:17] + ("0" if m0["id_number"][17] != "0" else "1")
    _, errors = validate_canonical(4, item | {"members": [m0 | {"id_number": bad}]}, None, PROVINCE)
    assert errors[0]["path"] == "members.0.id_number"
    assert "check digit" in errors[0]["message"]
    assert bad not in json.dumps(errors)
    _, errors = validate_canonical(6, item | {"members": [m0, m0]}, None, PROVINCE)
    assert errors == [
        {"line": 6, "household_number": item["household_number"], "path": "members.1.id_number",
         "message": "the same ID number as members[0]"}
    ]  # fmt: skip
    _, errors = validate_canonical(9, item, None, Principal(sub="c", role="county", region="341225"))
    assert [e["path"] for e in errors] == ["region_code"]


@pytest.mark.parametrize("postgres", [True, False])
def test_encoded_rows_decrypt_with_the_service_cipher(postgres: bool) -> None:
    cipher = FieldCipher(b"k" * 32, b"i" * 32)
    item = next(h for h in ITEMS if h.get("phone"))
    canon = HouseholdImport.model_validate(item).model_dump(mode="json")
    batch = RowEncoder.for_cipher(cipher, postgres=postgres, source="import", now=dt.datetime.now(dt.UTC)).encode_many(
        [canon]
    )
    m0 = canon["members"][0]
    if postgres:
        cols = batch.members[0].split("\n")[0].split("\t")
        id_enc, index, name_enc = bytes.fromhex(cols[2][3:]), cols[3], bytes.fromhex(cols[5][3:])
        phone_enc = bytes.fromhex(batch.households[0].split("\t")[5][3:])
    else:
        row = batch.members[0][0]
        id_enc, index, name_enc = row[2], row[3], row[5]
        phone_enc = batch.households[0][5]
    assert cipher.decrypt(id_enc, context=ID_NUMBER_CONTEXT) == m0["id_number"]
    assert cipher.decrypt(name_enc, context=NAME_CONTEXT) == m0["name"]
    assert cipher.decrypt(phone_enc, context=PHONE_CONTEXT) == canon["phone"]
    assert index == cipher.blind_index(m0["id_number"])


def test_ndjson_chunk_reports_lines_and_skips_committed_ones() -> None:
    lines = [json.dumps(h, ensure_ascii=False) for h in ITEMS[:6]]
    lines[2] = "{not json"
    data = ("\n".join(lines) + "\n\n").encode()
    keys = (b"k" * 32, b"i" * 32)
    now = dt.datetime.now(dt.UTC)
    r = prepare_ndjson(data, 11, 0, PROVINCE, True, now, keys=keys)
    assert (r.first_line, r.rows, r.failed, len(r.batch or [])) == (11, 6, 1, 5)
    assert r.errors[0]["line"] == 13
    assert r.errors[0]["message"].startswith("not JSON")
    r = prepare_ndjson(data, 11, 13, PROVINCE, True, now, keys=keys)
    assert (r.rows, r.failed, len(r.batch or [])) == (3, 0, 3)
