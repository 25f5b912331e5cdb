"""The ground truth covers the feeds: every record and identifier delivered has its owner in `_truth/`."""

import re
from collections import Counter
from typing import get_args

import pytest

from databank.contracts import IdentifierType, feeds, load_contract

PHONE_DIGITS = 11


def _canonical(identifier_type: str, value: str) -> str:
    """An identifier as the truth spells it: a phone by its last 11 digits, any other id trimmed, any case."""
    if identifier_type == "phone":
        return re.sub(r"\D", "", value)[-PHONE_DIGITS:]
    return value.strip().casefold()


def _delivered_identifiers(feed: str, record: dict) -> set[tuple[str, str | None, str]]:
    """(type, namespace, canonical value) of each identifier a record carries."""
    found = set()
    for column in load_contract(feed).identifier_columns:
        spec, value = column.identifier, record.get(column.name)
        if value:
            kind = spec.type or record[spec.type_column]
            namespace = record[spec.namespace_column] if spec.namespace_column else None
            found.add((kind, namespace, _canonical(kind, value)))
    return found


@pytest.mark.parametrize("feed", feeds("event"))
def test_every_delivered_record_id_has_its_producer_in_the_truth(feed, checked, truth):
    record_id = load_contract(feed).record_id
    in_truth = {r["record_id"] for r in truth["records"] if r["feed"] == feed}

    delivered = {str(r[record_id]) for f in checked.values() if f.feed == feed for r in f.records}

    assert delivered
    assert delivered - in_truth == set()


def test_record_ids_are_unique_within_each_feed(truth):
    counts = Counter((r["feed"], r["record_id"]) for r in truth["records"])

    repeated = [key for key, n in counts.items() if n > 1]

    assert counts
    assert repeated == []


def test_every_person_behind_a_record_exists(truth):
    persons = {p["person_id"] for p in truth["persons"]}

    producers = {r["person_id"] for r in truth["records"]}

    assert producers
    assert producers - persons == set()


def test_every_delivered_identifier_is_in_the_truth(clean_records, truth):
    known = {
        (i["identifier_type"], i["namespace"], _canonical(i["identifier_type"], i["value"]))
        for i in truth["identifiers"]
    }

    delivered = {
        identifier
        for feed, records in clean_records.items()
        for _, record in records
        for identifier in _delivered_identifiers(feed, record)
    }

    assert {kind for kind, _, _ in delivered} == set(get_args(IdentifierType))
    assert delivered - known == set()
