"""Spark datetime patterns (`yyyy/MM/dd HH:mm:ss`) read in pure Python, for the common letters.

A source mapping spells its times as Spark patterns, which ingestion parses with Spark
(`spark_jobs.transforms.mapping`). `databank sources land` splits a history file into day folders
before any Spark job runs, and must place each record on the day ingestion will read it on; this
module parses the same patterns the way Spark does for the letters source exports use: `yyyy` and
`yy` (years 2000-2099), `M`/`MM`, `d`/`dd`, `H`/`HH`, `m`/`mm`, `s`/`ss`, `S`... (a fraction of
that many digits), quoted literals ('T', '' for a quote) and any other non-letter as itself. A
single letter reads one or two digits, a doubled one exactly two, as Spark does. Any other letter
(month names, 12-hour clocks, zones and offsets) is refused with the letter named, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

# Letter -> (datetime field, digits of a single letter, digits of a doubled one).
FIELDS = {
    "M": ("month", r"\d{1,2}", r"\d{2}"),
    "d": ("day", r"\d{1,2}", r"\d{2}"),
    "H": ("hour", r"\d{1,2}", r"\d{2}"),
    "m": ("minute", r"\d{1,2}", r"\d{2}"),
    "s": ("second", r"\d{1,2}", r"\d{2}"),
}
TOKEN = re.compile(r"'(?:[^']|'')*'|([A-Za-z])\1*|.", re.DOTALL)
TIME_OF_DAY = frozenset("HmsS")


class UnsupportedPatternError(ValueError):
    """A Spark datetime pattern with a letter this module does not read."""


def letters_of(pattern: str) -> set[str]:
    """The pattern letters of `pattern`, quoted literals aside."""
    return {token[0] for token in _tokens(pattern) if token[0].isalpha()}


def has_time_of_day(pattern: str) -> bool:
    return bool(letters_of(pattern) & TIME_OF_DAY)


def parser(pattern: str) -> Callable[[str], datetime | None]:
    """A function reading a text as `pattern` into a naive datetime, or None where Spark's
    `try_to_timestamp` gives null (no match, or no such date)."""
    regex, fields = _compiled(pattern)

    def parse(text: str) -> datetime | None:
        found = regex.fullmatch(text.strip(" "))
        if found is None:
            return None
        parts = {"year": 1970, "month": 1, "day": 1}
        for group, (field, digits) in zip(found.groups(), fields, strict=True):
            if field == "year" and digits == 2:
                parts[field] = 2000 + int(group)
            elif field == "microsecond":
                parts[field] = int(group.ljust(6, "0"))
            else:
                parts[field] = int(group)
        try:
            return datetime(**parts)
        except ValueError:
            return None

    return parse


def _tokens(pattern: str) -> list[str]:
    return [match.group(0) for match in TOKEN.finditer(pattern)]


def _compiled(pattern: str) -> tuple[re.Pattern, list[tuple[str, int]]]:
    regex, fields = [], []
    for token in _tokens(pattern):
        letter, count = token[0], len(token)
        if token.startswith("'"):
            regex.append(re.escape(token[1:-1].replace("''", "'") if count > 2 else "'"))
        elif not letter.isalpha():
            regex.append(re.escape(token))
        elif letter == "y" and count in (2, 4):
            regex.append(rf"(\d{{{count}}})")
            fields.append(("year", count))
        elif letter in FIELDS and count <= 2:
            field, single, double = FIELDS[letter]
            regex.append(f"({single if count == 1 else double})")
            fields.append((field, count))
        elif letter == "S" and count <= 6:
            regex.append(rf"(\d{{{count}}})")
            fields.append(("microsecond", count))
        else:
            raise UnsupportedPatternError(
                f"pattern {pattern!r}: {token!r} is not read here (yyyy, yy, M, MM, d, dd, H, HH, m, mm, "
                "s, ss, S to SSSSSS and literals are)"
            )
    return re.compile("".join(regex)), fields
