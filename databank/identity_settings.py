"""The `[identity]` settings: how OneID guards against over-merging, finds clusters and updates them
each night (`spark_jobs.resolve_identity`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class IdentitySettings(BaseModel):
    """Guards of OneID against over-merging."""

    max_partners: dict[str, dict[str, int]] = Field(
        {
            "device_id": {"account_id": 1, "phone": 2, "member_id": 2},
            "cookie_id": {"account_id": 1},
            "phone": {"account_id": 2, "member_id": 3},
            "payment_token": {"phone": 2, "member_id": 2},
            "member_id": {"phone": 3},
            "account_id": {"phone": 3, "device_id": 6, "cookie_id": 20},
        },
        description=(
            "Per identifier type, how many distinct identifiers of another type it may link (accounts "
            "counted per platform); one seen with more is shared (a store tablet, a family device): it "
            "stops linking and is reported."
        ),
    )
    components: Literal["auto", "spark", "in_memory"] = Field(
        "auto",
        description=(
            "How clusters are found: `spark` (large-star/small-star, the edges stay distributed) or "
            "`in_memory` (SciPy on the driver, far faster while the edges fit in its memory; the ids "
            "are then kept there too, with DuckDB); `auto` "
            "takes in_memory on the embedded profile and spark on the cluster profile."
        ),
    )
    update: Literal["auto", "incremental", "full"] = Field(
        "auto",
        description=(
            "How a night updates OneID: `incremental` (tonight's edges join the previous night's clusters "
            "and only the clusters they reach are found again) or `full` (every edge clustered again, ids "
            "kept wherever a cluster is the same set; the same result). `auto` takes full when clusters "
            "are found in memory, where clustering every edge costs less than the incremental joins, "
            "and incremental otherwise."
        ),
    )
