"""Illustrative applicants of one district: people with resident ID numbers (GB 11643), companies
with unified social credit codes (GB 32100), mobile phones; check characters from
api.services.identifiers, names from the fixture's lists. None are real."""

from __future__ import annotations

import random
from datetime import date

from api.models.case import ApplicantType
from api.services.identifiers import USCC_ALPHABET, id_number_check_char, uscc_check_char
from seeds.qujialing.names import COMPANY_TRADES, COMPANY_WORDS, GIVEN, SURNAMES

BIRTHDAYS = (date(1959, 1, 1).toordinal(), date(2006, 12, 31).toordinal())  # applicants are adults
COMPANIES = 400  # per district; companies apply again and again
PERSON, COMPANY = ApplicantType.PERSON.value, ApplicantType.COMPANY.value


class Applicants:
    def __init__(self, rng: random.Random, district_index: int, district_name: str) -> None:
        self.rng = rng
        self.area = f"42{district_index % 100:02d}{district_index // 100 % 100:02d}"  # illustrative
        self.birthdays: dict[int, str] = {}
        self.companies = [self.company(district_name) for _ in range(COMPANIES)]

    def applicant(self, company: bool) -> tuple[str, str, str, str]:
        """Type, name, ID number or credit code, phone."""
        if company:
            name, credit = self.rng.choice(self.companies)
            return COMPANY, name, credit, self.phone()
        return PERSON, self.person(), self.id_number(), self.phone()

    def person(self) -> str:
        rng = self.rng
        given = rng.choice(GIVEN) if rng.random() < 0.5 else rng.choice(GIVEN) + rng.choice(GIVEN)
        return rng.choice(SURNAMES) + given

    def id_number(self) -> str:
        born = self.rng.randint(*BIRTHDAYS)
        digits = self.birthdays.get(born)
        if digits is None:
            digits = self.birthdays[born] = date.fromordinal(born).strftime("%Y%m%d")
        first17 = f"{self.area}{digits}{self.rng.randint(1, 999):03d}"
        return first17 + id_number_check_char(first17)

    def phone(self) -> str:
        return f"1{self.rng.choice('3578')}{self.rng.randrange(1_000_000_000):09d}"

    def company(self, district_name: str) -> tuple[str, str]:
        rng = self.rng
        body = "91" + self.area + "".join(rng.choice(USCC_ALPHABET) for _ in range(9))
        name = f"{district_name}{''.join(rng.sample(COMPANY_WORDS, 2))}{rng.choice(COMPANY_TRADES)}有限公司"
        return name, body + uscc_check_char(body)
