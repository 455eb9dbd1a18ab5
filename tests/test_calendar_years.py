"""Every year chinese-calendar knows is in the table after `sanji db upgrade`; `sanji calendar status`."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import chinese_calendar

from api import db
from api.models.calendar import CalendarDay, CalendarDayKind, CalendarRevision, CalendarSource
from api.services.calendar import DayOff, import_year
from api.settings import Settings
from tests.conftest import serving
from tests.test_cli import sanji

DISTRICT_ZONE = ZoneInfo("Asia/Shanghai")
KNOWN = range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)
CASE = "promisedDueDate legalDueDate dueDatesEstimated calendarRevision { source description }"


def days_in(year: int) -> int:
    return (date(year + 1, 1, 1) - date(year, 1, 1)).days


async def days_per_year(url: str) -> dict[int, dict[str, int]]:
    async with db.database(Settings(database_url=url)):
        found: dict[int, dict[str, int]] = {}
        for day, source in await CalendarDay.all().values_list("day", "source"):
            per_source = found.setdefault(day.year, {})
            per_source[str(source)] = per_source.get(str(source), 0) + 1
        return found


async def revisions(url: str) -> int:
    async with db.database(Settings(database_url=url)):
        return await CalendarRevision.all().count()


async def test_upgrade_copies_every_year_the_package_knows_once(empty_url):
    upgraded = await sanji(empty_url, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    total = sum(days_in(year) for year in KNOWN)
    assert (
        f"calendar: chinese-calendar {chinese_calendar.__version__} knows {KNOWN[0]}-{KNOWN[-1]}, "
        f"{total} day(s) written, 0 case(s) recomputed"
    ) in upgraded.output
    assert await days_per_year(empty_url) == {year: {"PACKAGE": days_in(year)} for year in KNOWN}
    written = await revisions(empty_url)

    again = await sanji(empty_url, "db", "upgrade")
    assert again.exit_code == 0, again.output
    assert "0 day(s) written" in again.output
    assert await revisions(empty_url) == written


async def test_upgrade_keeps_the_days_an_admin_corrected_and_the_years_imported(fresh_url):
    async with db.database(Settings(database_url=fresh_url)):
        await CalendarDay.create(
            day=date(2026, 10, 9), is_workday=False, holiday_name="防汛停工", source=CalendarSource.ADMIN
        )
        await import_year(2025, [DayOff(date(2025, 1, 1), False, "元旦")])
    upgraded = await sanji(fresh_url, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    found = await days_per_year(fresh_url)
    assert found[2025] == {"IMPORT": 365}
    assert found[2026] == {"PACKAGE": 364, "ADMIN": 1}
    async with db.database(Settings(database_url=fresh_url)):
        corrected = await CalendarDay.get(day=date(2026, 10, 9))
    assert (corrected.is_workday, corrected.holiday_name) == (False, "防汛停工")


async def accept(url: str, moment: datetime, code: str = "XK-008") -> dict:
    """A clerk at the center files and accepts a case of item `code` (promised 5 working days)."""
    async with serving(url, clock=moment.timestamp) as anonymous:
        clerk = await anonymous.sign_in("clerk")
        item = (
            await clerk.data(
                f'{{ items(where: {{code: {{eq: "{code}"}}}}) {{ nodes {{ id promisedLimitDays }} }} }}'
            )
        )["items"]["nodes"][0]
        assert item["promisedLimitDays"] == 5
        submitted = await clerk.data(
            f'mutation {{ submitCase(input: {{itemId: "{item["id"]}", applicantType: PERSON, '
            'applicantName: "李四", applicantIdNumber: "11010519491231002X", applicantPhone: "13800138000"}) '
            "{ case { id } } }"
        )
        case_id = submitted["submitCase"]["case"]["id"]
        accepted = await clerk.data(f'mutation {{ acceptCase(id: "{case_id}", version: 1) {{ id {CASE} }} }}')
        return accepted["acceptCase"]


async def read_case(url: str, case_id: str) -> dict:
    async with serving(url) as anonymous:
        clerk = await anonymous.sign_in("clerk")
        return (await clerk.data(f'{{ case(id: "{case_id}") {{ {CASE} }} }}'))["case"]


async def test_upgrade_recomputes_the_due_dates_an_estimate_had_given(seeded_url):
    # The fixture holds 2017-2018 only: National Day 2026 is judged by the estimate (1-3 October).
    case = await accept(seeded_url, datetime(2026, 9, 30, 10, 0, tzinfo=DISTRICT_ZONE))
    assert (case["promisedDueDate"], case["dueDatesEstimated"]) == ("2026-10-09", True)
    upgraded = await sanji(seeded_url, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert "1 case(s) recomputed" in upgraded.output
    after = await read_case(seeded_url, case["id"])
    assert (after["promisedDueDate"], after["dueDatesEstimated"]) == ("2026-10-13", False)
    assert after["calendarRevision"]["source"] == "PACKAGE"
    # The moved dates are an event for other systems, with the case's new version.
    from api.services import outbox

    async with db.database(Settings(database_url=seeded_url)):
        events, _ = await outbox.read(outbox.Cursor(), 100)
    moved = events[-1]
    assert (moved["type"], moved["payload"]["case"]["id"]) == ("case.due_dates_changed", case["id"])
    assert moved["payload"]["case"]["promisedDueDate"] == "2026-10-13"
    assert moved["payload"]["case"]["version"] == events[-2]["payload"]["case"]["version"] + 1


async def test_the_database_make_run_makes_counts_2026_officially_and_estimates_2027(empty_url):
    for command in (("db", "upgrade"), ("seed", "qujialing")):
        result = await sanji(empty_url, *command)
        assert result.exit_code == 0, result.output

    national_day = await accept(empty_url, datetime(2026, 9, 30, 10, 0, tzinfo=DISTRICT_ZONE))
    assert (national_day["promisedDueDate"], national_day["dueDatesEstimated"]) == ("2026-10-13", False)
    new_year = await accept(empty_url, datetime(2026, 12, 28, 10, 0, tzinfo=DISTRICT_ZONE))
    # 29, 30, 31 December, then 4 and 5 January: 1 January is a statutory holiday in any year.
    assert (new_year["promisedDueDate"], new_year["dueDatesEstimated"]) == ("2027-01-05", True)

    status = await sanji(empty_url, "calendar", "status", "--as-of", "2026-12-28")
    assert status.exit_code == 0, status.output
    lines = {line.split()[0]: line for line in status.output.splitlines() if line[:4].isdigit()}
    assert lines["2026"].split()[1] == "official"
    assert lines["2027"].split()[1] == "estimated"


async def test_calendar_status_says_where_each_year_comes_from(fresh_url, tmp_path):
    assert (await sanji(fresh_url, "db", "upgrade")).exit_code == 0
    notice = tmp_path / "2028.csv"
    notice.write_text("2028-01-01,HOLIDAY,元旦\n", encoding="utf-8")
    assert (await sanji(fresh_url, "calendar", "import", str(notice))).exit_code == 0
    async with db.database(Settings(database_url=fresh_url)):
        await CalendarDay.filter(day=date(2026, 10, 9)).update(
            is_workday=False, kind=CalendarDayKind.HOLIDAY, source=CalendarSource.ADMIN
        )
        await CalendarDay.create(day=date(2031, 1, 2), is_workday=False, source=CalendarSource.ADMIN)

    result = await sanji(fresh_url, "calendar", "status", "--as-of", "2026-12-01")
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines() if line[:4].isdigit()}
    assert list(lines) == [str(year) for year in [*KNOWN, 2027, 2028, 2031]]
    version = chinese_calendar.__version__
    assert lines["2004"].split() == ["2004", "official", "366", "days", "from", "chinese-calendar", version]
    assert lines["2026"].split()[:2] == ["2026", "official"] and "1 corrected by an admin" in lines["2026"]
    assert lines["2027"].split()[:2] == ["2027", "estimated"]
    assert "no make-up workdays" in lines["2027"] and "sanji calendar import FILE" in lines["2027"]
    assert lines["2028"].split()[:2] == ["2028", "imported"]
    assert lines["2031"].split()[:2] == ["2031", "estimated"] and "1 of 365 days" in lines["2031"]


async def test_calendar_status_points_to_the_upgrade_for_a_year_the_package_knows(fresh_url):
    result = await sanji(fresh_url, "calendar", "status", "--as-of", "2026-06-01")
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("2026"))
    assert line.split()[1] == "estimated" and "sanji db upgrade" in line
