"""Identity noise a data bank must survive is there: placeholder phones, shared tablets, mistyped phones."""

import re
from collections import defaultdict
from itertools import combinations

PLACEHOLDER_PHONE = "13800000000"


def _phone_digits(spelled: str) -> str:
    """A CN mobile however it is spelled (+86, spaces, dashes) as its 11 digits."""
    return re.sub(r"\D", "", spelled)[-11:]


def _differing_digits(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


def test_some_order_carries_the_placeholder_phone(clean_records):
    phones = [line["receiver_phone"] for _, line in clean_records["online_orders"] if line["receiver_phone"]]

    placeholder = [phone for phone in phones if _phone_digits(phone) == PLACEHOLDER_PHONE]

    assert placeholder


def test_some_family_tablet_is_shared_by_two_or_more_persons(truth):
    persons_by_tablet = defaultdict(set)
    for identifier in truth["identifiers"]:
        if identifier["identifier_type"] == "device_id" and identifier["owner_kind"] == "family":
            persons_by_tablet[identifier["value"]].add(identifier["person_id"])

    shared = [tablet for tablet, persons in persons_by_tablet.items() if len(persons) >= 2]

    assert shared


def test_some_person_owns_a_mistyped_phone_one_or_two_digits_off_their_own(truth):
    phones_by_person = defaultdict(set)
    for identifier in truth["identifiers"]:
        if identifier["identifier_type"] == "phone" and identifier["person_id"]:
            phones_by_person[identifier["person_id"]].add(identifier["value"])

    near_misses = [
        (a, b)
        for phones in phones_by_person.values()
        for a, b in combinations(sorted(phones), 2)
        if _differing_digits(a, b) <= 2
    ]

    assert near_misses
