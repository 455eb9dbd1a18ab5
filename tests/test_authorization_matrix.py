"""The authorization matrix, generated from the permission table and checked through the API.

Every caller (each role, an API key, the public) × objects in its own organization, below it, beside
it and in another district × every exposed model × read list / read one / count / aggregate /
nested relations / create / update / delete. The expected answer comes from an independent reading
of the declared table: the rows' organizations are found with plain ORM reads and the callers'
areas by walking parent links here, not by the code under test. Any difference is a leak (or a
wrongful refusal) and is listed in the failure.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from strawberry.utils.str_converters import to_camel_case

from api import db
from api.auth import apikeys
from api.models.case import AgencyBatch, AgencyBatchCase, Case, CaseEvent, Evaluation
from api.models.funding import Funding, FundingPurpose, RoomInspection
from api.models.item import GuideRevision, Item, ItemAssignment, ItemLocal, Material, Power, WindowItem
from api.models.org import AreaOutline, ConstructionStatus, Organization, OrgKind, Tier, Window
from api.models.query import OperationKind, PersistedQuery
from api.models.report import Report
from api.models.staff import DutyShift, Staff
from api.models.user import Role, User
from api.services.identifiers import id_number_check_char
from api.services.users import create_user
from api.settings import Settings
from schema.generator.ids import to_global_id
from schema.generator.policy import PUBLIC, Grant, Op, key_allows
from schema.generator.spec import Exposure
from schema.specs import EXPOSURES
from tests.conftest import DEMO_PASSWORD, GraphQLClient, serving
from tests.factories import make_district, make_item

REFUSED = {"UNAUTHENTICATED", "FORBIDDEN", "NOT_FOUND"}
# An allowed write may still break a domain rule (a window at a region): that is not a refusal.
RULE_ERRORS = {"VALIDATION_FAILED", "CONSTRAINT", "CONFLICT"}
KEY_SCOPES = frozenset({"read:*", "write:*"})
CHILD_TIER = {
    Tier.REGION: (Tier.CENTER, OrgKind.ADMINISTRATION),
    Tier.CENTER: (Tier.HALL, OrgKind.SUB_DISTRICT),
    Tier.HALL: (Tier.ROOM, OrgKind.VILLAGE),
    Tier.ROOM: (Tier.ROOM, OrgKind.VILLAGE),  # invalid under a room: refused or a rule error
}


@dataclass
class Who:
    label: str
    role: str
    org_code: str | None
    username: str | None = None  # signed-in user; None with a key or for the public
    key: str | None = None
    org_id: int | None = None
    area: set[int] = field(default_factory=set)

    def grant(self, exposure: Exposure, op: Op) -> Grant | None:
        found = exposure.access.grant_for(self.role)
        if found is None or op not in found.ops:
            return None
        scope, explicit = exposure.scope_name, exposure.explicit_write_scope
        if self.key is not None and not key_allows(KEY_SCOPES, op, scope, explicit):
            return None
        return found


CALLERS = [
    Who("public", PUBLIC, None),
    Who("admin@district", "ADMIN", "QJL", username="admin"),
    Who("supervisor@district", "SUPERVISOR", "QJL", username="supervisor"),
    Who("clerk@center", "CLERK", "QJL-ZWFW", username="clerk"),
    Who("clerk@hall", "CLERK", "QJL-H1", username="hall_clerk"),
    Who("agent@room", "AGENT", "QJL-H1-R01", username="agent"),
    Who("integrator-key@district", "INTEGRATOR", "QJL"),
    # Above both districts: the same area rule, one level up.
    Who("supervisor@province", "SUPERVISOR", "PRV", username="province_supervisor"),
    Who("integrator-key@province", "INTEGRATOR", "PRV"),
]


class World:
    """The database as the test reads it: organizations, rows' organizations, samples."""

    def __init__(self) -> None:
        self.parent: dict[int, int | None] = {}
        self.code: dict[int, str] = {}
        self.orgs_of: dict[type, dict[int, set[int]]] = {}
        self.fk: dict[tuple[type, str], dict[int, int | None]] = {}

    async def load(self) -> None:
        for pk, parent, code in await Organization.all().values_list("id", "parent_id", "code"):
            self.parent[pk] = parent
            self.code[pk] = code
        self.users = dict(await User.all().values_list("username", "id"))
        # Saved reports are shared by their owners, not by areas: (owner, visibility, role, organization)
        self.reports = {
            pk: rest
            for pk, *rest in await Report.all().values_list(
                "id", "owner_id", "visibility", "role", "organization_id"
            )
        }
        for exposure in EXPOSURES:
            model = exposure.model
            rows: dict[int, set[int]] = {pk: set() for pk in await model.all().values_list("id", flat=True)}
            for path in exposure.access.scope:
                column = "id" if path == "id" else f"{path}_id"
                for pk, org in await model.all().values_list("id", column):
                    if org is not None:
                        rows[pk].add(org)
            self.orgs_of[model] = rows
            for relation in exposure.forward():
                values = await model.all().values_list("id", relation.column)
                self.fk[(model, relation.name)] = dict(values)

    def area(self, org_id: int | None) -> set[int]:
        if org_id is None:
            return set()
        return {pk for pk in self.parent if self._under(pk, org_id)}

    def _under(self, pk: int | None, top: int) -> bool:
        while pk is not None:
            if pk == top:
                return True
            pk = self.parent[pk]
        return False

    def readable(self, who: Who, exposure: Exposure, pk: int) -> bool:
        found = who.grant(exposure, Op.READ)
        if found is None:
            return False
        if exposure.model is Report:
            return self.opens(who, pk)
        if found.everywhere or not exposure.access.scope:
            return True
        return bool(self.orgs_of[exposure.model][pk] & who.area)

    def within(self, who: Who, org: int) -> bool:
        return who.org_id is not None and self._under(org, who.org_id)

    def opens(self, who: Who, pk: int) -> bool:
        """A saved report: its owner's; shared with everyone (or the caller's role) of an
        organization at or above the caller's."""
        owner, visibility, role, organization = self.reports[pk]
        user = self.users.get(who.username) if who.username else None
        if user is None:
            return False
        if owner == user:
            return True
        above = who.org_id is not None and self._under(who.org_id, organization)
        return above and (visibility == "AREA" or (visibility == "ROLE" and role == who.role))

    def owns(self, who: Who, pk: int) -> bool:
        return who.username is not None and self.reports[pk][0] == self.users.get(who.username)

    def everything(self, who: Who) -> bool:
        """Whether the caller's organization is the only root: its area holds every row, those
        that reach no organization too (the catalogue published at the top)."""
        roots = [pk for pk, parent in self.parent.items() if parent is None]
        return who.org_id is not None and roots == [who.org_id]

    def holds(self, who: Who, orgs: set[int]) -> bool:
        return any(self.within(who, o) for o in orgs) or self.everything(who)

    async def orgs_of_object(self, exposure: Exposure, obj: Any) -> set[int]:
        """The organizations a new object reaches along its scope paths (new organizations included)."""
        if isinstance(obj, Organization):
            self.parent[obj.pk] = obj.parent_id
            self.code[obj.pk] = obj.code
        out = set()
        for path in exposure.access.scope:
            column = "id" if path == "id" else f"{path}_id"
            out |= {o for o in await exposure.model.filter(id=obj.pk).values_list(column, flat=True) if o}
        return out


async def other_district() -> dict[str, Any]:
    """A second district with one object of every model, for the "other district" column."""
    _region, center, hall, room = await make_district("OD")
    window = await Window.create(organization=center, code="OD-W1", name="综合窗口")
    item = await Item.filter(in_force=True).order_by("id").first()
    revision = await GuideRevision.filter(item=item).order_by("-revision").first()
    staff = {}
    for org in (center, hall, room):
        staff[org.code] = await Staff.create(name=f"{org.code}员", organization=org, phone="13900000000")
    await DutyShift.create(organization=room, staff=staff["OD-R"], duty_date=date(2018, 3, 1))
    await ItemAssignment.create(
        item=item, organization=hall, power=Power.FULL, legal_basis="示例", effective_from=date(2018, 1, 1)
    )
    await WindowItem.create(window=window, item=item)
    first17 = "42080219900101123"
    case = await Case.create(
        number="OD-2018-0001",
        item=item,
        guide_revision=revision,
        applicant_type="PERSON",
        applicant_name="邻区居民",
        applicant_id_number=first17 + id_number_check_char(first17),
        applicant_phone="13912345678",
        channel="AGENCY",
        submitted_at=datetime(2018, 3, 1, 2, tzinfo=UTC),
        submitted_at_organization=room,
        handling_organization=center,
        status="SUBMITTED",
    )
    await CaseEvent.create(
        case=case, action="SUBMIT", to_status="SUBMITTED", organization=room, occurred_at=case.submitted_at
    )
    batch = await AgencyBatch.create(number="OD-B1", origin=room, destination=center, carrier=staff["OD-R"])
    await AgencyBatchCase.create(batch=batch, case=case)
    await Evaluation.create(case=case, staff=staff["OD-C"], score=5, rated_at=case.submitted_at)
    await Funding.create(
        organization=room,
        amount_fen=100,
        purpose=FundingPurpose.REWARD_SUBSIDY,
        granted_on=date(2018, 1, 1),
        source="示例",
    )
    await RoomInspection.create(organization=room, inspected_on=date(2018, 1, 2), inspector_name="检查员")
    await AreaOutline.create(organization=hall, geojson=OUTLINE)
    return {"item": item, "revision": revision}


async def shared_reports() -> None:
    """Saved reports shared every way: the district admin's with its area, a private one of the
    hall clerk's, one for the clerks, and the province supervisor's with the province."""
    for username, visibility, role in (
        ("admin", "AREA", None),
        ("hall_clerk", "PRIVATE", None),
        ("admin", "ROLE", "CLERK"),
        ("province_supervisor", "AREA", None),
    ):
        owner = await User.get(username=username)
        await Report.create(
            name=f"{username} {visibility}",
            document="{ casesAggregate { count } }",
            visibility=visibility,
            role=role,
            owner=owner,
            organization_id=owner.organization_id,
        )


async def province_above(*district_codes: str) -> None:
    """A province root above the districts (moved under it), and a supervisor at the province."""
    province = await Organization.create(code="PRV", name="示例省", tier=Tier.REGION, kind=OrgKind.PROVINCE)
    for code in district_codes:
        district = await Organization.get(code=code)
        district.parent = province
        await district.save()
    await create_user(
        "province_supervisor", DEMO_PASSWORD, Role.SUPERVISOR, organization_code="PRV", enforce_policy=False
    )


class Matrix:
    def __init__(self, url: str) -> None:
        self.url = url
        self.world = World()
        self.problems: list[str] = []
        self.checked: dict[str, int] = defaultdict(int)
        self.counter = itertools.count(1)

    def expect(self, ok: bool, what: str) -> None:
        self.checked[what.split(":")[0]] += 1
        if not ok:
            self.problems.append(what)

    async def setup(self) -> None:
        async with db.database(Settings(database_url=self.url)):
            self.refs = await other_district()
            await province_above("QJL", "OD")
            await shared_reports()
            keys = {
                code: (await apikeys.create(f"matrix {code}", code, scopes=KEY_SCOPES)).key
                for code in ("QJL", "PRV")
            }
            await self.world.load()
            codes = {code: pk for pk, code in self.world.code.items()}
        self.org = codes
        for who in CALLERS:
            who.org_id = codes.get(who.org_code) if who.org_code else None
            who.area = self.world.area(who.org_id)
            if who.role == "INTEGRATOR":
                who.key = keys[who.org_code]
        # organizations whose objects are sampled: own, below, beside and in the other district
        self.sample_orgs = [codes[c] for c in ("QJL", "QJL-ZWFW", "QJL-H1", "QJL-H1-R01", "QJL-H2")]
        self.sample_orgs += [codes[c] for c in ("OD", "OD-C", "OD-H", "OD-R")]

    def samples(self, exposure: Exposure) -> list[int]:
        rows = self.world.orgs_of[exposure.model]
        if not exposure.access.scope:
            return sorted(rows)[:2]
        out = []
        for org in self.sample_orgs:
            found = next((pk for pk, orgs in sorted(rows.items()) if org in orgs), None)
            if found is not None and found not in out:
                out.append(found)
        return out

    async def client(self, http: GraphQLClient, who: Who) -> Caller:
        if who.username:
            return Caller(await http.sign_in(who.username))
        return Caller(http, {"X-API-Key": who.key} if who.key else {})

    # -- reads
    async def reads(self, api: Caller, who: Who) -> None:
        for exposure in EXPOSURES:
            plural, type_name = exposure.plural, exposure.type_name
            readable = who.grant(exposure, Op.READ) is not None
            body = await api(f"{{ {plural} {{ totalCount }} {plural}Aggregate {{ count }} }}")
            if not readable:
                codes = {e["extensions"].get("code") for e in body.get("errors", [])}
                self.expect(
                    body.get("data") is None and codes <= REFUSED and bool(codes),
                    f"list refused: {who.label} {plural} -> {body}",
                )
                continue
            expected = sum(
                self.world.readable(who, exposure, pk) for pk in self.world.orgs_of[exposure.model]
            )
            got = body.get("data") or {}
            self.expect(
                (got.get(plural) or {}).get("totalCount") == expected,
                f"totalCount: {who.label} {plural} expected {expected}, got {body}",
            )
            self.expect(
                (got.get(f"{plural}Aggregate") or {}).get("count") == expected,
                f"aggregate: {who.label} {plural} expected {expected}, got {body}",
            )
            for pk in self.samples(exposure):
                gid = to_global_id(type_name, pk)
                body = await api(
                    """query($id: ID!) { node(id: $id) { id } }""",
                    {"id": gid},
                )
                one = self.world.readable(who, exposure, pk)
                node = (body.get("data") or {}).get("node")
                self.expect((node is not None) == one, f"read one: {who.label} {type_name} {pk} -> {body}")
                body = await api(
                    f"query($id: ID!) {{ {plural}(where: {{id: {{eq: $id}}}}) {{ totalCount }} }}",
                    {"id": gid},
                )
                count = ((body.get("data") or {}).get(plural) or {}).get("totalCount")
                self.expect(count == int(one), f"list filter: {who.label} {type_name} {pk} -> {body}")
                if one:
                    await self.forward(api, who, exposure, pk)

    async def forward(self, api: Caller, who: Who, exposure: Exposure, pk: int) -> None:
        registry_models = {e.model: e for e in EXPOSURES}
        for relation in exposure.forward():
            target = registry_models.get(relation.model)
            if target is None:
                continue
            name = to_camel_case(relation.name)
            query = (
                f"query($id: ID!) {{ node(id: $id) {{ ... on {exposure.type_name} {{ {name} {{ id }} }} }} }}"
            )
            body = await api(query, {"id": to_global_id(exposure.type_name, pk)})
            related = self.world.fk[(exposure.model, relation.name)][pk]
            if who.grant(target, Op.READ) is None:
                codes = {e["extensions"].get("code") for e in body.get("errors", [])}
                self.expect(
                    related is None or codes & REFUSED,
                    f"relation refused: {who.label} {exposure.type_name}.{name} -> {body}",
                )
                continue
            node = ((body.get("data") or {}).get("node") or {}).get(name)
            visible = related is not None and self.world.readable(who, target, related)
            self.expect(
                (node is not None) == visible,
                f"relation: {who.label} {exposure.type_name}.{name} of {pk} -> {body}",
            )

    async def nested(self, api: Caller, who: Who) -> None:
        """Each sampled organization's reverse connections count only what the caller may read."""
        org_exposure = next(e for e in EXPOSURES if e.model is Organization)
        by_model = {e.model: e for e in EXPOSURES}
        for org in self.sample_orgs:
            for relation in org_exposure.backward():
                target = by_model[relation.model]
                name = to_camel_case(relation.name)
                body = await api(
                    f"query($id: ID!) {{ organization(id: $id) {{ {name} {{ totalCount }} }} }}",
                    {"id": to_global_id("Organization", org)},
                )
                if who.grant(target, Op.READ) is None:
                    codes = {e["extensions"].get("code") for e in body.get("errors", [])}
                    self.expect(bool(codes & REFUSED), f"nested refused: {who.label} {name} -> {body}")
                    continue
                async with db.database(Settings(database_url=self.url)):
                    pks = await relation.model.filter(**{relation.column: org}).values_list("id", flat=True)
                expected = sum(self.world.readable(who, target, pk) for pk in pks)
                got = (((body.get("data") or {}).get("organization") or {}).get(name) or {}).get("totalCount")
                self.expect(
                    got == expected,
                    f"nested: {who.label} {self.world.code[org]}.{name} expected {expected} -> {body}",
                )

    # -- writes
    def positions(self, who: Who) -> dict[str, int]:
        """Own organization, one below it and the same tier in the other district."""
        out: dict[str, int] = {}
        own = who.org_id if who.org_id is not None else self.org["QJL-H1"]
        out["own"] = own
        child = next((pk for pk, parent in sorted(self.world.parent.items()) if parent == own), None)
        if child is not None:
            out["child"] = child
        tier_code = self.world.code[own]
        other = {"QJL": "OD", "QJL-ZWFW": "OD-C", "QJL-H1": "OD-H", "QJL-H1-R01": "OD-R"}.get(tier_code)
        if other is not None:  # a province has nothing beside it
            out["other"] = self.org[other]
        return out

    async def writes(self, api: Caller, who: Who) -> None:
        for exposure in EXPOSURES:
            if not exposure.mutations:
                continue
            positions = self.positions(who) if exposure.access.scope else {"shared": self.org["QJL-H1"]}
            for position, org in positions.items():
                label = f"{who.label} {exposure.type_name} @{position}"
                if "create" in exposure.mutations:
                    await self.create(api, who, exposure, org, label)
                if "update" in exposure.mutations:
                    await self.update(api, who, exposure, org, label)
                if "delete" in exposure.mutations:
                    await self.delete(api, who, exposure, org, label)

    async def target(self, who: Who, exposure: Exposure, org: int) -> tuple[Any, bool]:
        """A throwaway object at the organization, and whether it lies in the caller's area."""
        async with db.database(Settings(database_url=self.url)):
            obj = await make_object(exposure.type_name, org, next(self.counter), self.refs)
            orgs = await self.world.orgs_of_object(exposure, obj)
            if isinstance(obj, Report):
                self.world.reports[obj.pk] = (obj.owner_id, obj.visibility, obj.role, obj.organization_id)
        return obj, not exposure.access.scope or self.world.holds(who, orgs)

    async def create(self, api: Caller, who: Who, exposure: Exposure, org: int, label: str) -> None:
        n = next(self.counter)
        async with db.database(Settings(database_url=self.url)):
            data, owner = await create_input(exposure.type_name, org, n, self.refs)
            before = await exposure.model.all().count()
        in_area = not exposure.access.scope or self.world.holds(who, {owner})
        if exposure.access.stamp is not None:  # the caller's own, at the caller's organization
            in_area = who.username is not None
        allowed = who.grant(exposure, Op.CREATE) is not None and in_area
        name = f"create{exposure.type_name}"
        body = await api(
            f"mutation($input: Create{exposure.type_name}Input!) {{ {name}(input: $input) {{ id }} }}",
            {"input": data},
        )
        async with db.database(Settings(database_url=self.url)):
            after = await exposure.model.all().count()
        self.judge(body, allowed, after - before, f"create: {label}")

    async def update(self, api: Caller, who: Who, exposure: Exposure, org: int, label: str) -> None:
        obj, in_area = await self.target(who, exposure, org)
        granted = who.grant(exposure, Op.UPDATE)
        change = UPDATES[exposure.type_name]
        allowed = granted is not None and in_area and all(granted.may_set(_snake(f)) for f in change)
        if exposure.model is Report:
            allowed = granted is not None and self.world.owns(who, obj.pk)
        name = f"update{exposure.type_name}"
        body = await api(
            f"mutation($id: ID!, $input: Update{exposure.type_name}Input!) "
            f"{{ {name}(id: $id, input: $input) {{ id }} }}",
            {"id": to_global_id(exposure.type_name, obj.pk), "input": change},
        )
        async with db.database(Settings(database_url=self.url)):
            fresh = await exposure.model.get(id=obj.pk)
            changed = any(str(getattr(fresh, _snake(k))) != str(getattr(obj, _snake(k))) for k in change)
        self.judge(body, allowed, int(changed), f"update: {label}")

    async def delete(self, api: Caller, who: Who, exposure: Exposure, org: int, label: str) -> None:
        obj, in_area = await self.target(who, exposure, org)
        allowed = who.grant(exposure, Op.DELETE) is not None and in_area
        if exposure.model is Report:
            allowed = who.grant(exposure, Op.DELETE) is not None and self.world.owns(who, obj.pk)
        name = f"delete{exposure.type_name}"
        body = await api(
            f"mutation($id: ID!) {{ {name}(id: $id) {{ id }} }}",
            {"id": to_global_id(exposure.type_name, obj.pk)},
        )
        async with db.database(Settings(database_url=self.url)):
            gone = not await exposure.model.exists(id=obj.pk)
        self.judge(body, allowed, int(gone), f"delete: {label}")

    def judge(self, body: dict, allowed: bool, effect: int, what: str) -> None:
        codes = {e["extensions"].get("code") for e in body.get("errors", [])}
        if allowed:
            ok = (not codes and effect == 1) or (codes <= RULE_ERRORS and bool(codes) and effect == 0)
            self.checked["allowed and done" if not codes else "allowed, domain rule"] += 1
        else:
            ok = bool(codes) and codes <= REFUSED and effect == 0
        self.expect(ok, f"{what} allowed={allowed} effect={effect} -> {body}")


class Caller:
    def __init__(self, client: GraphQLClient, headers: dict[str, str] | None = None) -> None:
        self.client = client
        self.headers = headers or {}

    async def __call__(self, query: str, variables: dict | None = None) -> dict:
        if not self.headers:
            return await self.client(query, variables)
        response = await self.client.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return response.json()


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name)


OUTLINE = json.dumps({"type": "Polygon", "coordinates": [[[112, 30], [113, 30], [113, 31], [112, 30]]]})
UPDATES: dict[str, dict[str, Any]] = {
    "AreaOutline": {"name": "新边界"},
    "Organization": {"address": "新地址"},
    "Window": {"name": "新窗口名"},
    "Staff": {"position": "新岗位"},
    "DutyShift": {"period": "MORNING"},
    "Item": {"department": "新部门"},
    "Report": {"description": "新说明"},
    "ItemLocal": {"feeNote": "新说明"},
    "GuideRevision": {"changeNote": "修订"},
    "Material": {"source": "新来源"},  # names are unique within a revision
    "ItemAssignment": {"legalBasis": "新依据"},
    "Funding": {"note": "新备注"},
    "CalendarDay": {"holidayName": "测试日"},
}


async def make_object(type_name: str, org_id: int, n: int, refs: dict[str, Any]):
    """A throwaway object attached to the organization, made directly in the database."""
    org = await Organization.get(id=org_id)
    if type_name == "Organization":
        tier, kind = CHILD_TIER[org.tier]
        if org.tier == Tier.ROOM:  # nothing hangs under a room: a room beside it, under its hall
            org = await Organization.get(id=org.parent_id)
        status = ConstructionStatus.BUILT if tier in (Tier.HALL, Tier.ROOM) else None
        return await Organization.create(
            code=f"T{n}", name=f"临时{n}", tier=tier, kind=kind, parent=org, construction_status=status
        )
    if type_name == "Window":
        return await Window.create(organization=await _window_org(org), code=f"TW{n}", name=f"临时窗口{n}")
    if type_name == "Staff":
        return await Staff.create(name=f"临时{n}", organization=org)
    if type_name == "DutyShift":
        staff = await Staff.create(name=f"值班{n}", organization=org)
        return await DutyShift.create(organization=org, staff=staff, duty_date=date(2019, 1, 1))
    if type_name == "Item":  # published by the organization's region
        return await _item(n, await _region(org))
    if type_name == "ItemLocal":
        return await ItemLocal.create(
            item=await _item(n), organization=await _region(org), promised_limit_days=1
        )
    if type_name == "GuideRevision":
        return await GuideRevision.create(
            item=await _item(n, await _region(org)), revision=1, effective_from=date(2019, 1, 1)
        )
    if type_name == "Material":
        item = await _item(n, await _region(org))
        revision = await GuideRevision.create(item=item, revision=1, effective_from=date(2019, 1, 1))
        return await Material.create(guide_revision=revision, position=1, name=f"材料{n}")
    if type_name == "ItemAssignment":
        return await ItemAssignment.create(
            item=await _item(n),
            organization=org,
            power=Power.AGENCY_ONLY,
            legal_basis="示例",
            effective_from=date(2019, 1, 1),
        )
    if type_name == "WindowItem":
        window = await Window.create(organization=await _window_org(org), code=f"TW{n}", name="临时")
        return await WindowItem.create(window=window, item=refs["item"])
    if type_name == "Funding":
        return await Funding.create(
            organization=org,
            amount_fen=1,
            purpose=FundingPurpose.OTHER,
            granted_on=date(2019, 1, 1),
            source="示例",
        )
    if type_name == "CalendarDay":
        from api.models.calendar import CalendarDay

        return await CalendarDay.create(
            day=date.fromordinal(date(2090, 1, 1).toordinal() + n), is_workday=True
        )
    if type_name == "AreaOutline":  # one per organization: this one replaces the last
        await AreaOutline.filter(organization=org).delete()
        return await AreaOutline.create(organization=org, geojson=OUTLINE)
    if type_name == "Report":  # a user of the organization's, shared with its area
        owner = await User.filter(organization_id=org_id).order_by("id").first() or await User.get(
            username="admin"
        )
        return await Report.create(
            name=f"报表{n}",
            document="{ cases { totalCount } }",
            visibility="AREA",
            owner=owner,
            organization_id=owner.organization_id,
        )
    if type_name == "PersistedQuery":
        document = f"query Matrix{n} {{ items {{ totalCount }} }}"
        now = datetime.now(UTC)
        return await PersistedQuery.create(
            sha256=hashlib.sha256(document.encode()).hexdigest(),
            document=document,
            kind=OperationKind.QUERY,
            organization=org,
            created_at=now,
            schema_hash="0" * 64,
            checked_at=now,
        )
    raise AssertionError(f"no builder for {type_name}")


async def _window_org(org: Organization) -> Organization:
    """Windows live at a center or a hall: a room's hall, a district's center, a province's first
    district's center."""
    while org.tier not in (Tier.CENTER, Tier.HALL):
        if org.tier != Tier.REGION:
            org = await Organization.get(id=org.parent_id)
            continue
        below = await Organization.filter(parent_id=org.id).order_by("id")
        org = next((o for o in below if o.tier == Tier.CENTER), below[0])
    return org


async def _item(n: int, publisher: Organization | None = None) -> Item:
    item = await make_item(f"TEST-{n}")
    if publisher is not None:
        item.publisher = publisher
        await item.save(update_fields=["publisher_id"])
    return item


async def _region(org: Organization) -> Organization:
    """The region an organization belongs to (itself for a region)."""
    while org.tier != Tier.REGION:
        org = await Organization.get(id=org.parent_id)
    return org


async def create_input(type_name: str, org_id: int, n: int, refs: dict[str, Any]) -> tuple[dict, int]:
    """The GraphQL input to create one object attached to (or under) the organization, and its owner."""
    if type_name == "WindowItem":
        window = await Window.create(
            organization=await _window_org(await Organization.get(id=org_id)), code=f"NW{n}", name="新"
        )
        item = to_global_id("Item", (await _item(n)).pk)
        return {"windowId": to_global_id("Window", window.pk), "itemId": item}, window.organization_id
    if type_name in ("Item", "ItemLocal", "GuideRevision", "Material"):  # owned by a region
        region = await _region(await Organization.get(id=org_id))
        return await _input(type_name, region.pk, n, refs), region.pk
    return await _input(type_name, org_id, n, refs), org_id


async def _input(type_name: str, org_id: int, n: int, refs: dict[str, Any]) -> dict[str, Any]:
    org = await Organization.get(id=org_id)
    gid = to_global_id("Organization", org_id)
    if type_name == "Organization":
        tier, kind = CHILD_TIER[org.tier]
        data = {"code": f"N{n}", "name": f"新{n}", "tier": tier.value, "kind": kind.value, "parentId": gid}
        if tier in (Tier.HALL, Tier.ROOM):
            data["constructionStatus"] = "BUILT"
        return data
    if type_name == "Window":
        return {"organizationId": gid, "code": f"NW{n}", "name": f"新窗口{n}"}
    if type_name == "Staff":
        return {"organizationId": gid, "name": f"新员工{n}"}
    if type_name == "DutyShift":
        staff = await Staff.create(name=f"值班{n}", organization=org)
        return {"organizationId": gid, "staffId": to_global_id("Staff", staff.pk), "dutyDate": "2019-02-01"}
    if type_name == "Item":
        return {
            "code": f"NEW-{n}",
            "name": f"新事项{n}",
            "type": "PUBLIC_SERVICE",
            "source": "OWN",
            "department": "测试",
            "caseKind": "PROMISED",
            "legalLimitDays": 10,
            "promisedLimitDays": 5,
            "publisherId": gid,
        }
    if type_name == "ItemLocal":
        item = to_global_id("Item", (await _item(n)).pk)
        return {"itemId": item, "organizationId": gid, "promisedLimitDays": 1}
    if type_name == "GuideRevision":
        item = to_global_id("Item", (await _item(n, org)).pk)
        return {"itemId": item, "revision": 1, "effectiveFrom": "2019-01-01"}
    if type_name == "Material":
        item = await _item(n, org)
        revision = await GuideRevision.create(item=item, revision=1, effective_from=date(2019, 1, 1))
        return {
            "guideRevisionId": to_global_id("GuideRevision", revision.pk),
            "position": 1,
            "name": f"新材料{n}",
        }
    if type_name == "ItemAssignment":
        item = to_global_id("Item", (await _item(n)).pk)
        return {
            "itemId": item,
            "organizationId": gid,
            "power": "AGENCY_ONLY",
            "legalBasis": "示例",
            "effectiveFrom": "2019-01-01",
        }
    if type_name == "Funding":
        return {
            "organizationId": gid,
            "amountFen": 100,
            "purpose": "OTHER",
            "grantedOn": "2019-01-01",
            "source": "示例",
        }
    if type_name == "RoomInspection":
        return {"organizationId": gid, "inspectedOn": "2019-01-01", "inspectorName": "检查员"}
    if type_name == "CalendarDay":
        day = date.fromordinal(date(2080, 1, 1).toordinal() + n)
        return {"day": day.isoformat(), "isWorkday": True}
    if type_name == "Report":
        return {"name": f"报表{n}", "document": "{ casesAggregate { count } }", "visibility": "AREA"}
    if type_name == "AreaOutline":
        await AreaOutline.filter(organization_id=org_id).delete()  # one per organization
        return {"organizationId": gid, "name": f"边界{n}", "geojson": OUTLINE}
    raise AssertionError(f"no input for {type_name}")


async def test_the_authorization_matrix_has_no_leaks(seeded_url):
    matrix = Matrix(seeded_url)
    await matrix.setup()
    async with serving(seeded_url) as http:
        for who in CALLERS:
            api = await matrix.client(http, who)
            async with db.database(Settings(database_url=seeded_url)):
                await matrix.world.load()  # signing in wrote to the audit log
            await matrix.reads(api, who)
            await matrix.nested(api, who)
        for who in CALLERS:
            api = await matrix.client(http, who)
            await matrix.writes(api, who)
    summary = dict(sorted(matrix.checked.items()))
    assert not matrix.problems, f"{len(matrix.problems)} problems:\n" + "\n".join(matrix.problems[:40])
    # the matrix really ran: every kind of check, allowed writes that went through among them
    for kind in ("totalCount", "aggregate", "read one", "list filter", "relation", "nested", "create"):
        assert summary.get(kind, 0) > 0, summary
    assert summary["update"] > 0 and summary["delete"] > 0 and summary["allowed and done"] >= 40, summary
