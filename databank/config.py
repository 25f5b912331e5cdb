"""The one typed configuration of databank, read from a TOML file and `DATABANK_*` variables.

Precedence, highest first: arguments given in code, environment variables, the TOML file
(`databank.toml` in the working directory, or the file named by `DATABANK_CONFIG`), defaults.
Nested sections are set from the environment with a double underscore, e.g.
`DATABANK_DEMO__CONSUMERS=5000`.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.numbers import is_currency
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from databank.contracts import SCHEMAS_DIR
from databank.dbt_runner import BuildResources
from databank.housekeeping_settings import HousekeepingSettings
from databank.identity_settings import IdentitySettings
from databank.keys import default_key_file, read_key_file
from databank.lineage_settings import LineageSettings
from databank.privacy.settings import PrivacySettings, absolute_at_load
from databank.reach.settings import ReachSettings
from databank.spark_conf import ClusterSettings

CONFIG_FILE_ENV = "DATABANK_CONFIG"
DEFAULT_CONFIG_FILE = "databank.toml"


class DemoSettings(BaseModel):
    """Size of the synthetic brand that `make demo` generates and runs."""

    consumers: int = Field(1000, gt=0)  # two weeks loaded and a night run in minutes on 2 cores
    days: int = Field(14, ge=2)  # all but the last loaded as history, the last run as a night
    start: date = date(2026, 5, 1)
    seed: int = 20260501
    bad_rate: float = Field(0.005, ge=0, le=0.5)


class IngestSettings(BaseModel):
    """How ingestion judges a delivered record."""

    late_days: int = Field(
        3, ge=0, description="An event may be delivered up to this many local days after it happened."
    )
    future_tolerance_minutes: int = Field(
        60, ge=0, description="Clock skew allowed past the end of the delivery day before a time is 'future'."
    )
    dedupe_lookback_days: int = Field(
        7, ge=0, description="Days of silver searched for a record id delivered again on a later day."
    )
    refund_lookback_days: int = Field(
        90, ge=0, description="Days of silver sales searched for the sale a refund or return undoes."
    )
    placeholder_phones: tuple[str, ...] = Field(
        ("13800000000", "13800138000", "18888888888", "13888888888", "13900000000", "18000000000"),
        description="Phones typed when the real one is withheld; flagged, never linked.",
    )
    junk_device_ids: tuple[str, ...] = Field(
        ("00000000-0000-0000-0000-000000000000",),
        description="Device ids that name no device (e.g. an IDFA under limited ad tracking).",
    )
    sources: Path = Field(
        Path("sources"),
        description="Folder of the source mappings (<source>.yaml) that translate a brand's own files "
        "into the feeds' contracts (docs/sources.md).",
    )
    earliest_plausible_time: datetime | None = Field(
        datetime(2000, 1, 1),
        description=(
            "Event times before this instant (UTC unless it carries an offset) are quarantined as "
            'bad_timestamp: a device clock never set reads 1970. "none" sets no floor, for a brand '
            "whose history starts earlier."
        ),
    )

    @field_validator("sources")
    @classmethod
    def _absolute(cls, value: Path) -> Path:
        return absolute_at_load(value)

    @field_validator("earliest_plausible_time", mode="before")
    @classmethod
    def _none_or_datetime(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and value.strip().lower() in ("", "none")):
            return None
        if isinstance(value, date) and not isinstance(value, datetime):  # a TOML date
            return datetime(value.year, value.month, value.day)
        return value

    @field_validator("earliest_plausible_time")
    @classmethod
    def _naive_utc(cls, value: datetime | None) -> datetime | None:
        if value is None or value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)


class PipelineSettings(BaseModel):
    """The nightly run (the Airflow DAG `databank_nightly` and `databank run`).

    The nights follow the data: unless `start_date` is set, the first is the first day landed.
    """

    required_feeds: tuple[str, ...] = Field(
        ("online_orders", "online_events", "pos_transactions", "media_exposures", "lbs_pings", "members"),
        description="Feeds every night needs: the run waits for their landing folder and fails without it. A "
        "feed listed neither here nor in optional_feeds is one the brand does not have: its marts are empty.",
    )
    optional_feeds: tuple[str, ...] = Field(
        ("brands", "stores", "products", "campaigns", "keywords", "erasure_requests"),
        description=(
            "Feeds delivered only when they change (reference snapshots, erasure requests): looked for "
            "once the required feeds are in; a missing one is reported and skipped."
        ),
    )
    start_date: date | None = Field(
        None,
        description=(
            "First business day the DAG runs for; catchup runs every day since. Unset: the first day a "
            "required feed landed under the landing root (`databank run` refuses days before it)."
        ),
    )
    end_date: date | None = Field(
        None,
        description="Last business day the DAG runs for (`databank run` refuses days after it); unset: none.",
    )
    landing_timeout_minutes: int = Field(
        6 * 60, ge=0, description="How long a night waits for a required feed's landing folder."
    )
    landing_poke_seconds: int = Field(
        300, gt=0, description="How often a night looks for a landing folder that is not there yet."
    )
    retries: int = Field(2, ge=0, description="Retries of a failed task, unless a retry cannot fix it.")
    retry_delay_seconds: int = Field(60, ge=0, description="Wait before the first retry; doubles each time.")
    max_retry_delay_minutes: int = Field(30, gt=0, description="Longest wait between two retries.")
    spark_task_timeout_minutes: int = Field(
        90, gt=0, description="Longest an ingest, standardise or identity task (or cluster job) may run."
    )
    marts_timeout_minutes: int = Field(120, gt=0, description="Longest the dbt build and publish may run.")
    depends_on_past: bool = Field(
        True,
        description=(
            "Identity and marts of a night wait for the previous night's to succeed: they build on its "
            "state. `databank run` runs nights in order itself and turns this off."
        ),
    )
    max_parallel_tasks: int = Field(
        2, gt=0, description="Tasks of one night running at once (each Spark task is a Spark driver)."
    )
    owner: str = Field("data-platform", min_length=1, description="Owner shown on every task.")

    @model_validator(mode="after")
    def _feeds_known_and_disjoint(self) -> PipelineSettings:
        both = set(self.required_feeds) & set(self.optional_feeds)
        if both:
            raise ValueError(f"feeds both required and optional: {sorted(both)}")
        known = {p.stem for p in SCHEMAS_DIR.glob("*.yaml")}
        unknown = (set(self.required_feeds) | set(self.optional_feeds)) - known
        if unknown:
            raise ValueError(f"feeds without a contract in {SCHEMAS_DIR}: {sorted(unknown)}")
        if not self.required_feeds:
            raise ValueError("at least one feed must be required: a night with no data is no night")
        return self

    @property
    def feeds(self) -> tuple[str, ...]:
        return (*self.required_feeds, *self.optional_feeds)


Purpose = Literal["marketing", "ad_targeting"]
ConsentFlag = Literal["has_marketing_consent", "has_ad_targeting_consent"]


class ConsentFlagSettings(BaseModel):
    """Per purpose of an audience export, the consent flag of dim_memberships it requires."""

    marketing: ConsentFlag = "has_marketing_consent"
    ad_targeting: ConsentFlag = "has_ad_targeting_consent"


class AudienceSettings(BaseModel):
    """Audience definitions and their exports (`databank audience`)."""

    folder: Path = Field(Path("audiences"), description="Folder of the audience definitions, <name>.yaml.")
    min_export_size: int = Field(
        50, gt=0, description="Fewest consenting consumers an export may hold, so no one can be singled out."
    )
    export_dir: Path | None = Field(
        None, description="Exports, their manifests and log; default <data_dir>/exports/audiences."
    )
    consent_flags: ConsentFlagSettings = ConsentFlagSettings()


class QualitySettings(BaseModel):
    """The quality gates after ingest, after standardise and before publish (`databank.quality`)."""

    volume_baseline: Literal["weekday", "trailing"] = Field(
        "weekday",
        description="What a feed's day is held against: the median of the same weekday in the weeks before "
        "(once there are volume_min_history_days of them; the trailing days until then), or always the "
        "median of the trailing days.",
    )
    volume_weekday_weeks: int = Field(
        4, gt=0, description="Weeks of the same weekday the weekday baseline looks at."
    )
    volume_trailing_days: int = Field(
        7, gt=0, description="Days before the run day whose median row count the trailing baseline is."
    )
    volume_min_history_days: int = Field(
        3, gt=0, description="Days of history a baseline needs; with fewer, the volume is not judged."
    )
    volume_min_average_rows: int = Field(
        50,
        ge=0,
        description="A baseline below this many rows is too small to compare with: the volume is not judged.",
    )
    volume_tolerance: float = Field(
        0.5,
        gt=0,
        lt=1,
        description=(
            "A day may hold from (1 - t) to 1 / (1 - t) times its feed's baseline: 0.5 allows half to "
            "double. Below the floor is volume_not_dropped, a warning unless `severity` makes it critical."
        ),
    )
    touch_freshness_days: int = Field(
        0, ge=0, description="How many days the newest touchpoint of a night may lie before the run date."
    )
    max_quarantined_share: float = Field(
        0.5,
        ge=0,
        lt=1,
        description="Most of a feed's day may not be quarantined: above this share of the rows its ingest "
        "kept, bronze.<feed>:mostly_accepted fails (a warning unless `severity` makes it critical).",
    )
    docs_days: int = Field(30, gt=0, description="Days of results the quality report shows.")
    severity: dict[str, Literal["critical", "warning"]] = Field(
        {},
        description=(
            "Severity overrides: a glob over '<suite>:<expectation>' (e.g. 'bronze.*:volume_not_dropped') "
            "to critical or warning; the last pattern that matches wins."
        ),
    )


class Settings(BaseSettings):
    """Where databank keeps its data and how it interprets time."""

    model_config = SettingsConfigDict(
        env_prefix="DATABANK_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    data_dir: Path = Field(Path("data"), description="Root of landing/, lakehouse/, warehouse/, reports/.")
    landing_dir: Path | None = Field(None, description="Feeds as delivered; default <data_dir>/landing.")
    lakehouse_dir: Path | None = Field(None, description="Delta tables; default <data_dir>/lakehouse.")
    warehouse_path: Path | None = Field(
        None, description="Analyst DuckDB file; default <data_dir>/warehouse/databank.duckdb."
    )
    reports_dir: Path | None = Field(None, description="Quality and run reports; default <data_dir>/reports.")
    business_timezone: str = Field(
        "Asia/Shanghai", description="Zone of the local business day every feed is cut by."
    )
    currency: str = Field(
        "CNY",
        description="ISO 4217 code of every amount the feeds deliver (after a source mapping's scale) and "
        "the marts sum; the dashboard shows money in it.",
    )
    profile: Literal["embedded", "cluster"] = Field(
        "embedded", description="embedded: one machine, no services; cluster: delta-spark and spark-submit."
    )
    hmac_key: SecretStr | None = Field(
        None,
        description="Key of the HMAC-SHA256 that pseudonymises identifiers; else read from hmac_key_file.",
    )
    hmac_key_file: Path | None = Field(
        None,
        description="File holding the key, readable by its owner (and group) only; default "
        "$XDG_CONFIG_HOME/databank/hmac.key (~/.config/databank/hmac.key), outside the data folder.",
    )
    spark_master: str = Field("local[2]", description="Spark master of the embedded profile.")
    ingest: IngestSettings = IngestSettings()
    identity: IdentitySettings = IdentitySettings()
    demo: DemoSettings = DemoSettings()
    pipeline: PipelineSettings = PipelineSettings()
    cluster: ClusterSettings = ClusterSettings()
    audiences: AudienceSettings = AudienceSettings()
    quality: QualitySettings = QualitySettings()
    privacy: PrivacySettings = PrivacySettings()
    reach: ReachSettings = ReachSettings()
    marts_build: BuildResources = BuildResources()
    housekeeping: HousekeepingSettings = HousekeepingSettings()
    lineage: LineageSettings = LineageSettings()

    @field_validator("business_timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if not is_currency(value):
            raise ValueError(f"{value!r} is no ISO 4217 currency code (CNY, USD, EUR, ...)")
        return value

    @field_validator(
        "data_dir", "landing_dir", "lakehouse_dir", "warehouse_path", "reports_dir", "hmac_key_file"
    )
    @classmethod
    def _absolute(cls, value: Path | None) -> Path | None:
        return absolute_at_load(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))
        if CONFIG_FILE_ENV in os.environ and not toml_file.is_file():
            raise FileNotFoundError(f"{CONFIG_FILE_ENV} names {toml_file}, which does not exist")
        return (init_settings, env_settings, TomlConfigSettingsSource(settings_cls, toml_file=toml_file))

    @property
    def landing(self) -> Path:
        return self.landing_dir or self.data_dir / "landing"

    @property
    def lakehouse(self) -> Path:
        return self.lakehouse_dir or self.data_dir / "lakehouse"

    @property
    def warehouse(self) -> Path:
        return self.warehouse_path or self.data_dir / "warehouse" / "databank.duckdb"

    @property
    def reports(self) -> Path:
        return self.reports_dir or self.data_dir / "reports"

    @property
    def audience_exports(self) -> Path:
        return self.audiences.export_dir or self.data_dir / "exports" / "audiences"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.business_timezone)

    @property
    def vault(self) -> Path:
        return self.privacy.vault_dir or self.data_dir / "vault"

    @property
    def vault_identifiers(self) -> Path:
        return self.vault / "identifiers"

    @property
    def vault_keys(self) -> Path:
        return self.privacy.vault_keys_dir or self.vault / "keys"

    @property
    def key_file(self) -> Path:
        # Outside the data folder: a copy or backup of the data must not carry the key that opens it.
        return self.hmac_key_file or default_key_file("hmac.key")

    @property
    def vault_key_file(self) -> Path:
        return self.privacy.vault_key_file or default_key_file("vault.key")

    def pseudonymisation_key(self) -> bytes:
        """The HMAC key: from DATABANK_HMAC_KEY, else from the key file; an error if neither exists."""
        if self.hmac_key is not None:
            return self.hmac_key.get_secret_value().encode()
        return read_key_file(self.key_file, "pseudonymisation key", "DATABANK_HMAC_KEY").encode()


def load_settings(**overrides: object) -> Settings:
    """Settings from file and environment, with `overrides` taking precedence."""
    return Settings(**overrides)
