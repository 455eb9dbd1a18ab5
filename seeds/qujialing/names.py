"""Illustrative names and identifiers for the fixture's people and companies (none are real)."""

from __future__ import annotations

import random
from datetime import date

from api.services.identifiers import USCC_ALPHABET, id_number_check_char, uscc_check_char

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红梅鹏辉斌宇浩凯健俊帆帅旭"
    "宁飞波鑫琳晶欣悦雪婷慧佳文亮成建国志红春林海燕"
)
COMPANY_WORDS = "恒丰瑞祥鑫源汇通宏达金禾绿洲楚天荆楚华兴天成永盛康宁兴旺佳美诚信顺达"
COMPANY_TRADES = (
    "农业发展",
    "商贸",
    "建筑工程",
    "食品",
    "农机服务",
    "物流",
    "餐饮管理",
    "建材",
    "生态养殖",
    "文化传媒",
)
AREA_CODE = "420800"  # Jingmen city; the district's own sub-code is not used in the fixture


class NameMaker:
    """Deterministic, unique illustrative names, ID numbers, phones and credit codes."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._names: set[str] = set()
        self._ids: set[str] = set()
        self._phones: set[str] = set()
        self._credit: set[str] = set()

    def person(self) -> str:
        while True:
            given = "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2))))
            name = self.rng.choice(SURNAMES) + given
            if name not in self._names:
                self._names.add(name)
                return name

    def any_person(self) -> str:
        """A name that may repeat (applicants share names in real life)."""
        given = "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2))))
        return self.rng.choice(SURNAMES) + given

    def id_number(self, born_from: int = 1950, born_to: int = 1999) -> str:
        while True:
            birth = date(
                self.rng.randint(born_from, born_to), self.rng.randint(1, 12), self.rng.randint(1, 28)
            )
            first17 = f"{AREA_CODE}{birth:%Y%m%d}{self.rng.randint(1, 999):03d}"
            number = first17 + id_number_check_char(first17)
            if number not in self._ids:
                self._ids.add(number)
                return number

    def phone(self) -> str:
        while True:
            phone = f"1{self.rng.choice('3578')}{self.rng.randint(0, 999_999_999):09d}"
            if phone not in self._phones:
                self._phones.add(phone)
                return phone

    def credit_code(self, prefix: str = "91") -> str:
        while True:
            body = prefix + AREA_CODE + "".join(self.rng.choice(USCC_ALPHABET) for _ in range(9))
            code = body + uscc_check_char(body)
            if code not in self._credit:
                self._credit.add(code)
                return code

    def company(self) -> str:
        words = "".join(self.rng.sample(COMPANY_WORDS, 2))
        return f"荆门市{words}{self.rng.choice(COMPANY_TRADES)}有限公司"
