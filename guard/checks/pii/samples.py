"""Generators of valid (and deliberately invalid) identifiers for tests and benchmarks.

Deterministic given a `random.Random`, so a benchmark run or a failing property test can be
repeated exactly.
"""

from __future__ import annotations

import datetime as dt
import random

from guard.checks.pii.recognizers.bank_card import luhn_ok
from guard.checks.pii.recognizers.cn_id_card import id_check_digit

__all__ = [
    "bad_checksum_18",
    "bank_card",
    "email",
    "id_card",
    "id_card_15",
    "landline",
    "mobile",
]

_MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "134",
    "135",
    "136",
    "137",
    "138",
    "139",
    "145",
    "147",
    "149",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "162",
    "165",
    "166",
    "167",
    "170",
    "171",
    "172",
    "173",
    "175",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "184",
    "185",
    "186",
    "187",
    "188",
    "189",
    "190",
    "191",
    "192",
    "193",
    "195",
    "196",
    "197",
    "198",
    "199",
]
_AREAS = ("110101", "310104", "440305", "330106", "510107", "420102", "320102", "610113", "210102", "500103")
_CARD_BINS = (
    "622202",
    "621700",
    "622848",
    "623668",
    "625906",
    "436742",
    "518710",
    "356833",
    "955880",
    "601382",
)


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def mobile(rng: random.Random, style: str = "plain") -> str:
    """A mobile number: plain, spaced (138 1234 5678), dashed, or with +86."""
    number = rng.choice(_MOBILE_PREFIXES) + _digits(rng, 8)
    if style == "spaced":
        return f"{number[:3]} {number[3:7]} {number[7:]}"
    if style == "dashed":
        return f"{number[:3]}-{number[3:7]}-{number[7:]}"
    if style == "plus86":
        return "+86 " + number
    return number


def landline(rng: random.Random) -> str:
    """An area code and an 8-digit number, dashed (0571-88886666)."""
    area = rng.choice(("010", "021", "020", "0571", "0755", "028", "0898"))
    return f"{area}-{rng.choice('2345678')}{_digits(rng, 7)}"


def _birth(rng: random.Random) -> dt.date:
    return dt.date(1950, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 55))


def id_card(rng: random.Random) -> str:
    """An 18-digit ID with a real birth date and the right check digit."""
    first17 = rng.choice(_AREAS) + _birth(rng).strftime("%Y%m%d") + _digits(rng, 3)
    return first17 + id_check_digit(first17)


def id_card_15(rng: random.Random) -> str:
    """A first-generation 15-digit ID (birth date YYMMDD)."""
    return rng.choice(_AREAS) + _birth(rng).strftime("%y%m%d")[:6] + _digits(rng, 3)


def bank_card(rng: random.Random, length: int | None = None) -> str:
    """A 16–19 digit card number from a real issuer prefix, passing Luhn."""
    n = length or rng.choice((16, 16, 19, 17, 18))
    body = rng.choice(_CARD_BINS) + _digits(rng, n - 7)
    for check in "0123456789":
        if luhn_ok(body + check):
            return body + check
    raise AssertionError("unreachable: one check digit always fits")


def bad_checksum_18(rng: random.Random) -> str:
    """18 digits that fail both the ID check digit and Luhn (a decoy)."""
    while True:
        first17 = rng.choice(_AREAS) + _birth(rng).strftime("%Y%m%d") + _digits(rng, 3)
        last = rng.choice([c for c in "0123456789" if c != id_check_digit(first17)])
        if not luhn_ok(first17 + last):
            return first17 + last


def email(rng: random.Random) -> str:
    """An ASCII e-mail address."""
    local = rng.choice(("wang", "li.na", "zhang_san", "chen88", "x.y-z", "service"))
    domain = rng.choice(("example.com", "163.com", "qq.com", "bank.com.cn", "mail.example.org"))
    return f"{local}{rng.randrange(0, 1000)}@{domain}"
