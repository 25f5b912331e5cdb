"""Destinations an audience sync delivers batches to: a platform's upload files, a webhook, a CRM drop.

A batch holds the identifiers of one form (`databank.reach.forms`) for one operation, add or remove,
and carries a key that names its content: delivering a batch whose key a destination already took is
skipped by the sync (`databank.reach.sync`), and a webhook receives the key as `Idempotency-Key` so
that it can drop a batch it saw before a lost response.

Platform upload files (one id per line, UTF-8, no header; one file per id type and operation, split
into parts of `batch_size` lines), named by each platform's own id-type names:

- Tencent Ads, customer-file audiences (`custom_audience_files/add`, developers.e.qq.com): user_id_type
  HASH_MOBILE_PHONE, SHA256_MOBILE_PHONE, IDFA, HASH_IDFA, OAID, HASH_OAID; txt files of one id per
  line, zipped to at most 100 MB; operation_type APPEND adds the file's ids, REDUCE removes them.
- Ocean Engine DMP (`dmp/audience/create_by_file` data_type): 17 phone MD5, 14 phone SHA256, 2 IDFA,
  12 IDFA MD5, 15 OAID, 16 OAID MD5; one id per line in a txt file.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Literal, Protocol

import httpx
from tenacity import Retrying, retry_if_exception, stop_after_attempt, wait_exponential

from databank.reach.settings import (
    CrmDropDestination,
    Destination,
    PlatformFilesDestination,
    WebhookDestination,
)

Operation = Literal["add", "remove"]
PLATFORM_ID_TYPES = {
    "tencent_ads": {
        "phone_md5": "HASH_MOBILE_PHONE",
        "phone_sha256": "SHA256_MOBILE_PHONE",
        "idfa": "IDFA",
        "idfa_md5": "HASH_IDFA",
        "oaid": "OAID",
        "oaid_md5": "HASH_OAID",
    },
    "ocean_engine": {
        "phone_md5": "17_MOBILE_MD5",
        "phone_sha256": "14_MOBILE_SHA256",
        "idfa": "2_IDFA",
        "idfa_md5": "12_IDFA_MD5",
        "oaid": "15_OAID",
        "oaid_md5": "16_OAID_MD5",
    },
}
PLATFORM_OPERATIONS = {
    "tencent_ads": {"add": "APPEND", "remove": "REDUCE"},
    "ocean_engine": {"add": "add", "remove": "remove"},
}
SIGNATURE_HEADER = "X-Databank-Signature"
RETRIED_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


class DeliveryError(RuntimeError):
    """A destination did not take a batch; the message says which and why."""


@dataclass(frozen=True)
class Batch:
    """Identifiers of one form for one operation, in a stable order."""

    audience: str
    destination: str
    run_date: date
    operation: Operation
    form: str
    number: int
    values: tuple[str, ...]

    @property
    def key(self) -> str:
        """Names the batch by its content: the same identifiers for the same sync give the same key."""
        content = json.dumps(
            [
                self.audience,
                self.destination,
                self.run_date.isoformat(),
                self.operation,
                self.form,
                self.values,
            ]
        )
        return hashlib.sha256(content.encode("utf-8")).hexdigest()


class Deliverer(Protocol):
    def deliver(self, batch: Batch) -> str:
        """Hand the batch over; return where it went (a file, a URL), in words without identifiers."""


class PlatformFiles:
    """Upload files for an ad platform's customer-file audience."""

    def __init__(self, config: PlatformFilesDestination, folder: Path) -> None:
        self.config = config
        self.folder = folder

    def deliver(self, batch: Batch) -> str:
        operation = PLATFORM_OPERATIONS[self.config.platform][batch.operation]
        id_type = PLATFORM_ID_TYPES[self.config.platform][batch.form]
        path = self.folder / batch.audience / batch.run_date.isoformat() / operation
        path = path / f"{id_type}-part{batch.number:04d}.txt"
        _write_atomically(path, "".join(f"{value}\n" for value in batch.values))
        return str(path)


class CrmDrop:
    """CSV files of member ids for the brand's own CRM."""

    def __init__(self, config: CrmDropDestination, folder: Path) -> None:
        self.config = config
        self.folder = folder

    def deliver(self, batch: Batch) -> str:
        path = self.folder / batch.audience / batch.run_date.isoformat()
        path = path / f"{batch.operation}-{batch.form}-part{batch.number:04d}.csv"
        partial = path.with_name(f".{path.name}.partial")
        path.parent.mkdir(parents=True, exist_ok=True)
        with partial.open("w", encoding="utf-8", newline="") as stream:
            writer = csv.writer(stream)
            writer.writerow([batch.form])
            writer.writerows([value] for value in batch.values)
        os.replace(partial, path)
        return str(path)


class Webhook:
    """JSON batches POSTed to a URL, the body signed with HMAC-SHA256, retried with backoff."""

    def __init__(self, config: WebhookDestination, secret: bytes) -> None:
        self.config = config
        self.secret = secret

    def deliver(self, batch: Batch) -> str:
        body = json.dumps(
            {
                "audience": batch.audience,
                "destination": batch.destination,
                "run_date": batch.run_date.isoformat(),
                "operation": batch.operation,
                "form": batch.form,
                "batch": batch.number,
                "idempotency_key": batch.key,
                "identifiers": list(batch.values),
            }
        ).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": batch.key,
            SIGNATURE_HEADER: "sha256=" + hmac.new(self.secret, body, hashlib.sha256).hexdigest(),
        }
        retrying = Retrying(
            stop=stop_after_attempt(self.config.max_attempts),
            wait=wait_exponential(multiplier=self.config.backoff_seconds, max=60),
            retry=retry_if_exception(_worth_retrying),
            reraise=True,
        )
        url = str(self.config.url)
        try:
            with httpx.Client(timeout=self.config.timeout_seconds) as client:
                for attempt in retrying:
                    with attempt:
                        client.post(url, content=body, headers=headers).raise_for_status()
        except httpx.HTTPStatusError as error:
            raise DeliveryError(
                f"{url} answered {error.response.status_code} to batch {batch.number} "
                f"({batch.operation} {batch.form}) after {retrying.statistics.get('attempt_number', 1)} tries"
            ) from error
        except httpx.HTTPError as error:
            raise DeliveryError(f"{url} could not be reached for batch {batch.number}: {error}") from error
        return url


def open_deliverer(name: str, config: Destination, default_folder: Path) -> Deliverer:
    """The deliverer of the destination `name` configured as `config`."""
    if isinstance(config, PlatformFilesDestination):
        return PlatformFiles(config, config.folder or default_folder)
    if isinstance(config, CrmDropDestination):
        return CrmDrop(config, config.folder or default_folder)
    secret = os.environ.get(config.secret_env)
    if not secret:
        raise DeliveryError(
            f"destination {name!r} signs its batches with the key in ${config.secret_env}, which is not set"
        )
    return Webhook(config, secret.encode("utf-8"))


def _worth_retrying(error: BaseException) -> bool:
    """A server error, a throttle or a network failure may pass; a refusal of the batch will not."""
    if isinstance(error, httpx.HTTPStatusError):
        return error.response.status_code in RETRIED_STATUSES
    return isinstance(error, httpx.TransportError)


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
