"""The forms in which a destination takes an identifier, computed from the vault's normalised value.

The vault keeps a phone as its 11 digits (no country code) and a device id in lower case
(`spark_jobs.transforms.identifiers`). The platforms want, per their customer-file documentation
(docs/audiences.md, "Destinations", gives each source):

    form           identifier  device kind  value sent
    phone          phone                    the 11 digits (an SMS gateway)
    phone_md5      phone                    md5 hex of the 11 digits
    phone_sha256   phone                    sha256 hex of the 11 digits
    idfa           device_id   idfa         upper case, with its dashes
    idfa_md5       device_id   idfa         md5 hex of the upper-case IDFA with its dashes
    oaid           device_id   oaid         as collected (lower case)
    oaid_md5       device_id   oaid         md5 hex of the OAID as collected
    member_id      member_id                the member id (the brand's own CRM only)

Hashes are lower-case hex; the platforms compare them case-insensitively.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal, get_args

IdentifierForm = Literal[
    "phone", "phone_md5", "phone_sha256", "idfa", "idfa_md5", "oaid", "oaid_md5", "member_id"
]
DeviceKind = Literal["idfa", "oaid"]
FORMS: tuple[IdentifierForm, ...] = get_args(IdentifierForm)


@dataclass(frozen=True)
class FormRule:
    """Which identifiers a form applies to, and how their value is turned into it."""

    identifier_type: str
    device_kind: DeviceKind | None
    spelling: str  # "as_is" | "upper"
    digest: str | None  # hashlib algorithm, or None to send the value


RULES: dict[IdentifierForm, FormRule] = {
    "phone": FormRule("phone", None, "as_is", None),
    "phone_md5": FormRule("phone", None, "as_is", "md5"),
    "phone_sha256": FormRule("phone", None, "as_is", "sha256"),
    "idfa": FormRule("device_id", "idfa", "upper", None),
    "idfa_md5": FormRule("device_id", "idfa", "upper", "md5"),
    "oaid": FormRule("device_id", "oaid", "as_is", None),
    "oaid_md5": FormRule("device_id", "oaid", "as_is", "md5"),
    "member_id": FormRule("member_id", None, "as_is", None),
}


def identifier_types(forms: tuple[IdentifierForm, ...]) -> tuple[str, ...]:
    """The identifier types the forms are made from, in a stable order."""
    return tuple(sorted({RULES[form].identifier_type for form in forms}))


def applies(form: IdentifierForm, identifier_type: str, device_kind: str | None) -> bool:
    """Whether an identifier of this type (and device kind) is sent in `form`."""
    rule = RULES[form]
    return rule.identifier_type == identifier_type and rule.device_kind in (None, device_kind)


def render(form: IdentifierForm, value: str) -> str:
    """The normalised `value` in `form`."""
    rule = RULES[form]
    spelled = value.upper() if rule.spelling == "upper" else value
    if rule.digest is None:
        return spelled
    return hashlib.new(rule.digest, spelled.encode("utf-8")).hexdigest()
