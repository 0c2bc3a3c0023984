"""The fast row encoder of the bulk import (issue #19): an NDJSON line → a typed, validated
household (msgspec, in C) → the same COPY rows as the reference `RowEncoder`, byte for byte.

Only published wheels (msgspec, `cryptography`): nothing of ours is compiled, so `pip install -e .`
works on a machine with Python and pip alone. The reference path (`json.loads`, the
`import_rows.fast_canonical` checks, pydantic's `HouseholdImport`, `RowEncoder`) stays the
authority: `decode_line` answers only for lines it is *sure* the API accepts — exact JSON types,
plain decimal strings or integers for money, known keys, the ID number's check digit and birth
date, a village code — and returns None for anything else, which then goes the reference way.
So every refusal (its message and field path) comes from the reference path, and a line the fast
decoder accepts must give the rows the reference gives: tests/identification/unit/test_fast_rows.py
checks both with hypothesis (deterministic nonces and ids injected).

Where the reference converts (money `5000` → `"5000"`, schooling `"junior"` → `"compulsory"`),
this converts the same way. Money stays text: msgspec sees a JSON number only as an integer
(a float or an exponent is not accepted here, so `Decimal`-exactness is never at stake)."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, cast

import msgspec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from msgspec.structs import astuple

from services.identification.adapters.household_rows import (
    ID_NUMBER_CONTEXT,
    NAME_CONTEXT,
    PHONE_CONTEXT,
    PreparedBatch,
    RowEncoder,
    copy_escape,
    new_household_ids,
)
from services.identification.application.household_input import SCHOOLING_ALIASES
from services.identification.domain.columnar import PROFILE_VERSION
from services.identification.domain.low_income import ASSET_FLAGS
from services.identification.domain.model import (
    DibaoStatus,
    DisabilityKind,
    LaborCapacity,
    Residence,
    RiskType,
    Schooling,
    residence_of_region,
)
from services.identification.domain.risk import RISK_TYPE_ORDER
from shared.identifiers import InvalidRegionCode, validate_region_code

__all__ = ["FastHousehold", "FastRowEncoder", "decode_line"]

Meta = msgspec.Meta
# money: a string checked below (`_money_ok`: a regex per value inside msgspec costs ~3× the
# whole decode) or an integer that prints as the same digits
_Money = str | Annotated[int, Meta(ge=0, lt=10**12)]
_Earners = Annotated[int, Meta(ge=0, le=50)]
if TYPE_CHECKING:  # to a type checker these are strings; msgspec (at run time) checks the values
    _Labor = str
    _Kind = str
    _Schooling = str
    _Status = str
    _Risk = str
else:  # Literals of the enums' values, built from the enums so they cannot drift
    _Labor = Literal[tuple(x.value for x in LaborCapacity)]
    _Kind = Literal[tuple(x.value for x in DisabilityKind)]
    _Schooling = Literal[(*(x.value for x in Schooling), *SCHOOLING_ALIASES)]
    _Status = Literal[tuple(x.value for x in DibaoStatus)]
    _Risk = Literal[tuple(x.value for x in RiskType)]


class _Struct(msgspec.Struct, forbid_unknown_fields=True, omit_defaults=False):
    pass


class FastIncome(_Struct):
    wage: _Money = "0"
    business: _Money = "0"
    property: _Money = "0"
    transfer: _Money = "0"
    insurance_claims: _Money = "0"
    exempt: _Money = "0"
    unverified_earners: _Earners = 0


class FastExpenses(_Struct):
    compliant_oop_medical: _Money = "0"
    education: _Money = "0"
    employment_costs: _Money = "0"
    other_rigid: _Money = "0"


class FastAssets(_Struct):
    public_employee: bool = False
    village_cadre: bool = False
    commercial_property: bool = False
    car: bool = False
    company: bool = False
    large_deposits: bool = False
    private_school: bool = False
    supporters_able: bool = False
    illegal_conduct: bool = False
    refuses_work: bool = False
    refuses_asset_check: bool = False
    absent_over_year: bool = False


class FastMember(_Struct):
    id_number: str
    name: str
    relation: str
    labor_capacity: _Labor
    disability_grade: Annotated[int, Meta(ge=1, le=4)] | None = None
    disability_kind: _Kind | None = None
    serious_illness: bool = False
    schooling: _Schooling = "none"


class FastHousehold(_Struct):
    household_number: str
    region_code: str
    members: Annotated[list[FastMember], Meta(min_length=1, max_length=50)]
    phone: str | None = None
    escaped_poverty: bool = False
    income: FastIncome = msgspec.field(default_factory=FastIncome)
    expenses: FastExpenses = msgspec.field(default_factory=FastExpenses)
    last_year_income: FastIncome | None = None
    assets: FastAssets = msgspec.field(default_factory=FastAssets)
    dibao_status: _Status = "none"
    declared_risks: list[_Risk] = msgspec.field(default_factory=list)


_DECODER = msgspec.json.Decoder(FastHousehold)
_ASSETS = tuple(FastAssets.__struct_fields__)
_BLOCKING = tuple(ASSET_FLAGS)
_VILLAGES: dict[str, bool] = {}
_URBAN: dict[str, bool] = {}
_ID_CHECK = "10X98765432"
_BIRTHS: dict[str, bool] = {}
_BIRTHS_DAY: list[dt.date] = [dt.date.min]
_MIND = frozenset({"intellectual", "mental"})
_NON_COMPULSORY = frozenset({"senior_high", "vocational", "university", "postgraduate"})
_ABLE = frozenset({"ordinary", "skilled"})
_RISK_VALUES = tuple(r.value for r in RISK_TYPE_ORDER)
_NULL = "\\N"
_AMOUNT = r"(?:0|[1-9][0-9]{0,11})(?:\.[0-9]{1,2})?"
_MONEY_RUN = re.compile(rf"{_AMOUNT}(?:\x00{_AMOUNT})*\Z")
_NUMBER = re.compile(r"[0-9A-Za-z_\-]{1,64}\Z")
_PHONE = re.compile(r"1[3-9][0-9]{9}\Z")
_CHECK_CHARS = frozenset("0123456789X")


def _village_ok(region: str) -> bool:
    ok = _VILLAGES.get(region)
    if ok is None:
        try:
            validate_region_code(region, level="village")
            ok = True
        except InvalidRegionCode:
            ok = False
        if len(_VILLAGES) < 100_000:
            _VILLAGES[region] = ok
    return ok


def _born_ok(born: str) -> bool:
    """The birth date of an ID number (YYYYMMDD) is a real day, not in the future, from 1880 on
    (`shared.identifiers.validate_id_number`), memoised per day."""
    ok = _BIRTHS.get(born)
    if ok is None:
        today = dt.date.today()
        if _BIRTHS_DAY[0] != today:  # "not in the future" changes at midnight
            _BIRTHS.clear()
            _BIRTHS_DAY[0] = today
        try:
            d = dt.date(int(born[:4]), int(born[4:6]), int(born[6:]))
            ok = d <= today and d.year >= 1880
        except ValueError:
            ok = False
        _BIRTHS[born] = ok
    return ok


def _digits(d: FastIncome | FastExpenses) -> None:
    """Integer amounts as their digits, as the model dumps them (`Decimal(5000)` → "5000")."""
    for f in d.__struct_fields__:
        if f != "unverified_earners" and type(v := getattr(d, f)) is int:
            setattr(d, f, str(v))


def _money_ok(h: FastHousehold) -> bool:
    """Every amount of the household is a plain decimal string (no sign, no leading zero, ≤ 2
    places, ≤ 14 digits: `Money`'s max_digits) or an integer (then turned into its digits): one
    regex over all of them, joined by NUL (a value holding a NUL makes the count differ)."""
    last = h.last_year_income
    values = astuple(h.income)[:-1] + astuple(h.expenses)  # [:-1]: unverified_earners (an int)
    if last is not None:
        values += astuple(last)[:-1]
    try:
        text = "\x00".join(values)
    except TypeError:  # an integer amount
        for d in (h.income, h.expenses, last):
            if d is not None:
                _digits(d)
        return _money_ok(h)
    return text.count("\x00") == len(values) - 1 and _MONEY_RUN.match(text) is not None


def decode_line(line: str | bytes) -> FastHousehold | None:
    """The household of one NDJSON line when the fast path is sure the API accepts it as it is,
    else None (the reference path decides, and explains any refusal)."""
    try:
        h = _DECODER.decode(line)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    if not _NUMBER.match(h.household_number) or not _village_ok(h.region_code):
        return None
    if h.phone is not None and not _PHONE.match(h.phone):
        return None
    if not _money_ok(h):
        return None
    seen = set()
    for m in h.members:
        idn, name, relation = m.id_number, m.name, m.relation
        if not (0 < len(name) <= 100 and 0 < len(relation) <= 16):
            return None
        if not (len(idn) == 18 and idn.isascii() and idn[:17].isdigit() and idn[17] in _CHECK_CHARS):
            return None
        if idn in seen or not _born_ok(idn[6:14]) or _ID_CHECK[2 * int(idn[:17], 13) % 11] != idn[17]:
            return None  # the check digit: = id_check_digit (13 ≡ 2 mod 11: the GB 11643 weights)
        seen.add(idn)
    return h


class _Fen(dict[str, int]):
    """A validated amount (a plain decimal string) → integer fen, remembered (amounts repeat:
    "0.00" in most households); emptied at 200,000 amounts to keep a worker's memory flat."""

    def __missing__(self, v: str) -> int:
        i = v.find(".")
        if i < 0:
            fen = int(v) * 100
        else:
            frac = v[i + 1 :]
            fen = int(v[:i]) * 100 + int(frac) * (10 if len(frac) == 1 else 1)
        if len(self) >= 200_000:
            self.clear()
        self[v] = fen
        return fen


#: typed for `str | int` because a `_Money` field is: by the time a profile is computed,
#: `decode_line` has turned every integer amount into its digits (`_digits`)
_fen = cast("Callable[[str | int], int]", _Fen().__getitem__)


def _income_json(inc: FastIncome) -> str:
    return (
        f'{{"wage":"{inc.wage}","business":"{inc.business}","property":"{inc.property}",'
        f'"transfer":"{inc.transfer}","insurance_claims":"{inc.insurance_claims}","exempt":"{inc.exempt}",'
        f'"unverified_earners":{inc.unverified_earners}}}'
    )


_ASSETS_JSON: dict[tuple[bool, ...], tuple[str, bool]] = {}


def _assets_of(assets: FastAssets) -> tuple[str, bool]:
    """(the assets' JSON as the reference writes it, whether a negative-list flag blocks), by
    the 4,096 combinations of flags."""
    key = astuple(assets)
    found = _ASSETS_JSON.get(key)
    if found is None:
        text = "{" + ",".join(f'"{k}":{"true" if v else "false"}' for k, v in zip(_ASSETS, key, strict=True)) + "}"
        found = _ASSETS_JSON[key] = (text, any(getattr(assets, f) for f in _BLOCKING))
    return found


def _assets_json(assets: FastAssets) -> str:
    return _assets_of(assets)[0]


def _blocked(assets: FastAssets) -> bool:
    return _assets_of(assets)[1]


class FastRowEncoder:
    """`RowEncoder.encode_many` for a mix of `FastHousehold`s (decoded here) and canonical dicts
    (rows the reference path validated): the same PreparedBatch, byte for byte, given the same
    nonces and ids. Dicts are encoded by the reference `RowEncoder` itself, in place."""

    def __init__(
        self,
        aes: AESGCM,
        index_key: bytes,
        *,
        postgres: bool,
        source: str,
        now: dt.datetime,
        random: Callable[[int], bytes] | None = None,
        ids: Callable[[int], list[str]] | None = None,
    ) -> None:
        kw: dict[str, Any] = {"random": random} if random is not None else {}
        self.reference = RowEncoder(aes, index_key, postgres=postgres, source=source, now=now, ids=ids, **kw)
        self._random = self.reference._random
        self._ids = ids or new_household_ids
        self._encrypt = aes.encrypt
        key = (hashlib.sha256(index_key).digest() if len(index_key) > 64 else index_key).ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
        self.postgres = postgres
        self._source = source
        self._now = now.isoformat() if postgres else now.strftime("%Y-%m-%d %H:%M:%S.%f")

    def _mac(self, message: bytes) -> str:
        """HMAC-SHA256 hex with the key's pads hashed once (= hmac.digest, ~4× faster here)."""
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()

    def encode_many(self, items: list[FastHousehold | dict[str, Any]]) -> PreparedBatch:
        latest: dict[str, FastHousehold | dict[str, Any]] = {}
        for c in items:  # the last record of a number wins
            number = c.household_number if isinstance(c, FastHousehold) else c["household_number"]
            latest.pop(number, None)
            latest[number] = c
        batch = PreparedBatch(self.postgres)
        ids = self._ids(len(latest))
        sizes = [len(c.members) if isinstance(c, FastHousehold) else len(c["members"]) for c in latest.values()]
        nonces = self._random(12 * sum(2 * n + 1 for n in sizes))
        at = 0
        for hid, c in zip(ids, latest.values(), strict=True):
            if isinstance(c, FastHousehold):
                at = self._encode(batch, hid, c, nonces, at)
            else:
                at = self.reference.encode_one(batch, hid, c, nonces, at)
        return batch

    def _encode(self, batch: PreparedBatch, hid: str, h: FastHousehold, nonces: bytes, at: int) -> int:
        encrypt, mac = self._encrypt, self._mac
        pg = self.postgres
        inc, exp, last, assets = h.income, h.expenses, h.last_year_income, h.assets
        number, region, phone = h.household_number, h.region_code, h.phone
        facts = (
            f'{{"income":{_income_json(inc)},"expenses":{{"compliant_oop_medical":"{exp.compliant_oop_medical}",'
            f'"education":"{exp.education}","employment_costs":"{exp.employment_costs}",'
            f'"other_rigid":"{exp.other_rigid}"}},"last_year_income":'
            f"{'null' if last is None else _income_json(last)},"
            f'"assets":{_assets_json(assets)},"declared_risks":[' + ",".join(f'"{r}"' for r in h.declared_risks) + "]}"
        )
        escaped = h.escaped_poverty
        status = h.dibao_status
        parts = [number, region, phone or "", "1" if escaped else "0", status, facts]
        mrows: list[Any] = []  # COPY text lines (PostgreSQL) or row tuples (SQLite)
        persons = []
        ill = severe = schooling = able = False
        graded = 0
        all_none = True
        deps = []
        for i, m in enumerate(h.members):
            idn, name, relation, labor = m.id_number, m.name, m.relation, m.labor_capacity
            grade, kind, sick = m.disability_grade, m.disability_kind, m.serious_illness
            school = SCHOOLING_ALIASES.get(m.schooling, m.schooling)
            parts.append(f"{idn}\x1f{name}\x1f{relation}\x1f{labor}\x1f{grade}\x1f{kind}\x1f{sick}\x1f{school}")
            n1, n2 = nonces[at : at + 12], nonces[at + 12 : at + 24]
            id_enc = b"\x01" + n1 + encrypt(n1, idn.encode(), ID_NUMBER_CONTEXT)
            name_enc = b"\x01" + n2 + encrypt(n2, name.encode(), NAME_CONTEXT)
            at += 24
            born = f"{idn[6:10]}-{idn[10:12]}-{idn[12:14]}"
            sex = "male" if int(idn[16]) % 2 else "female"
            blind = mac(idn.encode())
            masked = idn[:6] + "********" + idn[14:]
            persons.append((blind, masked))
            if pg:
                mrows.append(
                    f"{hid}\t{i}\t\\\\x{id_enc.hex()}\t{blind}\t{masked}\t\\\\x{name_enc.hex()}\t{copy_escape(relation)}"
                    f"\t{sex}\t{born}\t{labor}\t{_NULL if grade is None else grade}\t{_NULL if kind is None else kind}"
                    f"\t{'t' if sick else 'f'}\t{school}\n"
                )
            else:
                mrows.append(
                    (hid, i, id_enc, blind, masked, name_enc, relation, sex, born, labor, grade, kind, sick, school)
                )
            # the screening profile (= domain.columnar.profile_of)
            if grade is not None:
                graded += 1
                if grade <= 2 or (grade == 3 and kind in _MIND):
                    severe = True
            if sick:
                ill = True
            if school in _NON_COMPULSORY:
                schooling = True
            if labor in _ABLE:
                able = True
            if labor != "none":
                all_none = False
            else:
                deps.append(f"{int(grade is not None)}{idn[6:14]}")
        digest = mac("\x1e".join(parts).encode())
        if phone:
            n3 = nonces[at : at + 12]
            phone_enc: bytes | None = b"\x01" + n3 + encrypt(n3, phone.encode(), PHONE_CONTEXT)
            phone_index: str | None = mac(phone.encode())
        else:
            phone_enc = phone_index = None
        at += 12
        profile = self._profile(h, region, ill, severe or graded >= 2, schooling, able, deps if all_none else ())
        if pg:
            p_enc = _NULL if phone_enc is None else "\\\\x" + phone_enc.hex()
            batch.households.append(
                f"{hid}\t{number}\t{region}\t{'t' if escaped else 'f'}\t{status}\t{p_enc}\t{phone_index or _NULL}"
                f"\t{copy_escape(facts)}\tregistered\t{self._source}\t1\t{self._now}\t{self._now}\t{digest}\t{profile}\n"
            )
            batch.members.append("".join(mrows))
        else:
            batch.households.append(
                (
                    hid,
                    number,
                    region,
                    escaped,
                    status,
                    phone_enc,
                    phone_index,
                    facts,
                    "registered",
                    self._source,
                    1,
                    self._now,
                    self._now,
                    digest,
                    profile,
                )
            )
            batch.members.append(mrows)
        batch.persons.append(persons)
        batch.regions.append(region)
        batch.numbers.append(number)
        batch.hashes.append(digest)
        batch.ids.append(hid)
        return at

    @staticmethod
    def _profile(
        h: FastHousehold, region: str, ill: bool, disabled: bool, schooling: bool, able: bool, deps: Any
    ) -> str:
        inc, exp, last, assets = h.income, h.expenses, h.last_year_income, h.assets
        wage, business = _fen(inc.wage), _fen(inc.business)
        counted = wage + business + _fen(inc.property) + _fen(inc.transfer) + _fen(inc.insurance_claims)
        medical, education = _fen(exp.compliant_oop_medical), _fen(exp.education)
        employment, other = _fen(exp.employment_costs), _fen(exp.other_rigid)
        found = set(h.declared_risks)
        if ill:
            found.add("illness")
        if disabled:
            found.add("disability")
        if schooling:
            found.add("schooling")
        if not able:
            found.add("lack_of_labor")
        last_counted = ""
        if last is not None:
            last_wage, last_business = _fen(last.wage), _fen(last.business)
            last_counted = str(
                last_wage + last_business + _fen(last.property) + _fen(last.transfer) + _fen(last.insurance_claims)
            )
            if wage < last_wage:
                found.add("unstable_employment")
            if business < last_business:
                found.add("industry_failure")
        urban = _URBAN.get(region)
        if urban is None:
            urban = _URBAN[region] = residence_of_region(region) is Residence.URBAN
        flags = (
            ("1" if h.escaped_poverty else "0")
            + ("1" if urban else "0")
            + ("1" if _blocked(assets) else "0")
            + ("1" if assets.supporters_able else "0")
        )
        return (
            f"{PROFILE_VERSION}|{len(h.members)}|{counted}|{inc.unverified_earners}|{medical + employment}"
            f"|{medical + education + other}|{education + other}|{last_counted}|{h.dibao_status}|{flags}"
            f"|{','.join(r for r in _RISK_VALUES if r in found)}|{';'.join(deps)}"
        )
