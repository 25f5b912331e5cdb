"""The `[reach]` settings: where audiences are sent (destinations) and which syncs run every night.

[reach.destinations.tencent]
kind = "platform_files"
platform = "tencent_ads"
purpose = "ad_targeting"
forms = ["phone_md5", "idfa_md5", "oaid_md5"]

[reach.destinations.sms_gateway]
kind = "webhook"
purpose = "marketing"
url = "https://sms.example.cn/audiences"
secret_env = "DATABANK_SMS_WEBHOOK_SECRET"   # the HMAC key the body is signed with
forms = ["phone"]                            # the gateway texts the number itself

[reach.destinations.crm]
kind = "crm_drop"
purpose = "marketing"

[[reach.syncs]]
audience = "interested_members_nudge"
destination = "sms_gateway"
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
    field_validator,
    model_validator,
)

from databank.privacy.settings import absolute_at_load
from databank.reach.forms import IdentifierForm

# A platform matches hashed phones and device ids; raw phones and member ids never go to one.
PlatformForm = Literal["phone_md5", "phone_sha256", "idfa", "idfa_md5", "oaid", "oaid_md5"]

Purpose = Literal["marketing", "ad_targeting"]
Platform = Literal["tencent_ads", "ocean_engine"]


class _Destination(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    purpose: Purpose = Field(
        description="What the destination does with the people sent: only audiences of this purpose, "
        "and only consumers who consent to it, are sent."
    )
    batch_size: int = Field(10_000, gt=0, le=1_000_000, description="Identifiers per batch sent.")


class _FileDestination(_Destination):
    folder: Path | None = Field(None, description="Default <data_dir>/reach/files/<destination>.")

    @field_validator("folder")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return absolute_at_load(value)


class PlatformFilesDestination(_FileDestination):
    """Customer-file audience uploads of a Chinese ad platform: one id per line, one file per id type
    and operation, split into parts (`databank.reach.platform_files`)."""

    kind: Literal["platform_files"]
    platform: Platform
    forms: tuple[PlatformForm, ...] = Field(("phone_md5", "idfa_md5", "oaid_md5"), min_length=1)
    batch_size: int = Field(
        1_000_000, gt=0, le=5_000_000, description="Lines per file part, under the platforms' upload limits."
    )


class WebhookDestination(_Destination):
    """JSON batches POSTed to an HTTP endpoint, signed, with an idempotency key (`databank.reach.webhook`)."""

    kind: Literal["webhook"]
    url: HttpUrl
    secret_env: str = Field(description="Environment variable holding the key the body is signed with.")
    forms: tuple[IdentifierForm, ...] = Field(("phone_sha256",), min_length=1)
    timeout_seconds: float = Field(30, gt=0)
    max_attempts: int = Field(5, ge=1, le=20, description="Tries per batch, with exponential backoff.")
    backoff_seconds: float = Field(1, ge=0, description="First wait between tries; it doubles each time.")


class CrmDropDestination(_FileDestination):
    """Member ids in clear for the brand's own CRM, as CSV files (`databank.reach.crm_drop`)."""

    kind: Literal["crm_drop"]
    forms: tuple[Literal["member_id"], ...] = ("member_id",)


Destination = Annotated[
    PlatformFilesDestination | WebhookDestination | CrmDropDestination, Field(discriminator="kind")
]


# Names become file names and Airflow task ids.
Name = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")]


class ScheduledSync(BaseModel):
    """An audience synced to a destination after every published night."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    audience: Name
    destination: Name


class ReachSettings(BaseModel):
    """Destinations audiences are synced to, and the syncs of every night."""

    destinations: dict[Name, Destination] = {}
    syncs: tuple[ScheduledSync, ...] = ()
    sync_dir: Path | None = Field(
        None,
        description="What each sync sent last (HMACs only), its log and the destinations' files; "
        "default <data_dir>/reach.",
    )

    @field_validator("sync_dir")
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return absolute_at_load(value)

    @model_validator(mode="after")
    def _syncs_name_destinations(self) -> ReachSettings:
        unknown = sorted({s.destination for s in self.syncs} - set(self.destinations))
        if unknown:
            raise ValueError(
                f"[[reach.syncs]] name destinations not in [reach.destinations]: {', '.join(unknown)}"
            )
        return self
