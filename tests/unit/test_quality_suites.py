"""Bronze and silver suites: derived from the contracts, passing on clean rows, failing on bad ones."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta

import pandas as pd
import pyarrow as pa
import pytest
from quality_rows import clean_frame, clean_table

from databank.config import load_settings
from databank.contracts import all_contracts, load_contract
from databank.quality.batches import as_frame
from databank.quality.runner import run_checkpoint
from databank.quality.suites import (
    VolumeBand,
    bronze_suite,
    silver_suite,
    stored_name,
    volume_band,
)

DAY = date(2026, 5, 14)
CONTRACTS = all_contracts()


@pytest.fixture
def settings(tmp_path):
    return load_settings(data_dir=tmp_path)


def names(suite) -> set[str]:
    return {e.meta["name"] for e in suite.expectations}


def failed(outcomes) -> dict[str, str]:
    """Name -> severity of every expectation that did not hold."""
    return {o.expectation: o.severity for o in outcomes if not o.success}


@pytest.mark.parametrize("feed", sorted(CONTRACTS))
def test_bronze_suite_holds_every_rule_its_contract_declares(feed, settings):
    contract = CONTRACTS[feed]
    expected = {f"type({stored_name(contract, c.name)})" for c in contract.columns}
    expected |= {f"not_null({stored_name(contract, c)})" for c in contract.required_columns}
    expected |= {f"in_set({stored_name(contract, c.name)})" for c in contract.columns if c.enum}
    expected |= {f"between({c.name})" for c in contract.columns if c.min is not None or c.max is not None}
    expected |= {f"pseudonymised({stored_name(contract, c.name)})" for c in contract.identifier_columns}
    expected.add(f"unique({contract.record_id})")

    assert expected <= names(bronze_suite(contract, None, settings))


def test_identifiers_are_checked_under_their_hashed_names(settings):
    suite = bronze_suite(load_contract("online_orders"), None, settings)

    assert "pseudonymised(receiver_phone_hmac)" in names(suite)
    assert not any("(receiver_phone)" in name for name in names(suite))


# An event feed with an identifier group, a reference feed with an event time, one without.
@pytest.mark.parametrize("feed", ["online_events", "members", "stores"])
def test_suites_pass_on_rows_that_keep_the_contract(feed, settings):
    contract = load_contract(feed)

    bronze = run_checkpoint(bronze_suite(contract, None, settings), clean_frame(contract, DAY), feed)
    silver = run_checkpoint(
        silver_suite(contract, DAY, None, settings), clean_frame(contract, DAY, silver=True), feed
    )

    assert failed(bronze) == {}
    assert failed(silver) == {}


def test_bronze_suite_names_each_broken_rule(settings):
    contract = load_contract("online_orders")
    frame = clean_frame(contract, DAY)
    frame.loc[0, "order_id"] = None  # required
    frame.loc[1, "platform"] = "Tmall 旗舰店"  # no lower-case name
    frame.loc[2, "receiver_phone_hmac"] = "13812345678"  # a raw phone where only a hash may be

    outcomes = run_checkpoint(bronze_suite(contract, None, settings), frame, "online_orders")

    assert failed(outcomes) == {
        "not_null(order_id)": "critical",
        "matches(platform)": "critical",
        "pseudonymised(receiver_phone_hmac)": "critical",
    }


def test_a_column_of_another_type_fails_its_type_check(settings):
    contract = load_contract("online_orders")
    table = clean_table(contract, DAY)
    quantity = table.schema.get_field_index("quantity")
    frame = as_frame(table.set_column(quantity, "quantity", pa.array(["1", "2", "3"])))

    outcomes = run_checkpoint(bronze_suite(contract, None, settings), frame, "online_orders")

    assert "type(quantity)" in failed(outcomes)


def test_out_of_range_values_fail(settings):
    contract = load_contract("online_orders")
    frame = clean_frame(contract, DAY)
    frame.loc[0, "quantity"] = -2

    assert "between(quantity)" in failed(
        run_checkpoint(bronze_suite(contract, None, settings), frame, "online_orders")
    )


def test_a_record_without_any_identifier_of_a_required_group_fails(settings):
    contract = load_contract("online_events")
    frame = clean_frame(contract, DAY)
    for column in ("account_id_hmac", "device_id_hmac", "cookie_id_hmac"):
        frame.loc[1, column] = None

    outcomes = run_checkpoint(bronze_suite(contract, None, settings), frame, "online_events")

    assert failed(outcomes) == {"any_of(account_id_hmac|device_id_hmac|cookie_id_hmac)": "critical"}


def test_records_delivered_twice_warn_in_bronze_and_stop_silver(settings):
    contract = load_contract("pos_transactions")
    once = clean_frame(contract, DAY, silver=True)
    twice = pd.concat([once, once], ignore_index=True)

    bronze = run_checkpoint(bronze_suite(contract, None, settings), twice.drop(columns="sold_date"), "pos")
    silver = run_checkpoint(silver_suite(contract, DAY, None, settings), twice, "pos")

    assert failed(bronze) == {"unique(receipt_line_id)": "warning"}
    assert failed(silver) == {"unique(receipt_line_id)": "critical"}


def test_silver_holds_business_dates_inside_the_delivery_window(settings):
    contract = load_contract("online_orders")
    frame = clean_frame(contract, DAY, silver=True)
    late = settings.ingest.late_days
    frame.loc[0, "transacted_date"] = DAY - timedelta(days=late)  # as late as ingestion lets in
    frame.loc[1, "transacted_date"] = DAY - timedelta(days=late + 1)  # later than that

    outcomes = run_checkpoint(silver_suite(contract, DAY, None, settings), frame, "online_orders")

    assert failed(outcomes) == {"in_delivery_window(transacted_date)": "critical"}


def test_volume_band_needs_history_enough_and_rows_enough(settings):
    quality = settings.quality  # 3 days of history, a baseline of 50 rows, tolerance 0.5
    history = {DAY - timedelta(days=n): 100 for n in range(1, 4)}

    assert volume_band(DAY, history, quality) == VolumeBand(100, 3, 0.5)
    assert volume_band(DAY, dict(list(history.items())[:2]), quality) is None
    assert volume_band(DAY, dict.fromkeys(history, 10), quality) is None
    assert (VolumeBand(100, 3, 0.5).min_rows, VolumeBand(100, 3, 0.5).max_rows) == (50, 200)


def test_a_day_is_held_against_its_weekday_once_weeks_of_history_exist(settings):
    quality = settings.quality
    # A shop that sells 300 on Saturdays and 100 on other days: a Saturday of 280 is no surge and a
    # Monday of 100 no drop.
    weeks = {
        DAY - timedelta(days=n): 300 if (DAY - timedelta(days=n)).weekday() == 5 else 100
        for n in range(1, 29)
    }
    saturday = next(d for d in sorted(weeks, reverse=True) if d.weekday() == 5) + timedelta(weeks=1)
    earlier = {d: n for d, n in weeks.items() if d < saturday}

    band = volume_band(saturday, earlier, quality)

    assert (band.basis, band.baseline, band.days) == ("weekday", 300, 4)
    assert band.min_rows <= 280 <= band.max_rows
    assert (
        volume_band(saturday, earlier, quality.model_copy(update={"volume_baseline": "trailing"})).basis
        == "trailing"
    )


def test_one_bulk_day_neither_raises_the_bar_after_it_nor_hides_a_drop(settings):
    history = {DAY - timedelta(days=n): 100 for n in range(1, 8)} | {DAY - timedelta(days=2): 50_000}

    band = volume_band(DAY, history, settings.quality)

    assert (band.basis, band.baseline) == ("trailing", 100)
    assert band.min_rows == 50


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        (0, {"rows_present": "warning", "volume_not_vanished": "critical", "volume_not_dropped": "warning"}),
        (45, {"volume_not_dropped": "warning"}),  # lost part of its files, or a quiet holiday
        (100, {}),
        (250, {"volume_not_surged": "warning"}),
    ],
)
def test_volume_of_an_event_feed_is_held_to_its_baseline(rows, expected, settings):
    contract = load_contract("lbs_pings")
    suite = bronze_suite(contract, VolumeBand(100, 7, 0.5), settings)

    outcomes = run_checkpoint(suite, clean_frame(contract, DAY, rows=rows), "lbs_pings")

    assert failed(outcomes) == expected


def test_reference_feeds_have_no_volume_rules(settings):
    suite = bronze_suite(load_contract("stores"), VolumeBand(100, 7, 0.5), settings)

    assert not {"rows_present", "volume_not_vanished", "volume_not_dropped", "volume_not_surged"} & names(
        suite
    )


def test_severity_is_overridden_by_pattern_and_the_last_match_wins(tmp_path):
    settings = load_settings(
        data_dir=tmp_path,
        quality={
            "severity": {"bronze.*:unique(*)": "critical", "*:volume_*": "critical", "*:*_surged": "warning"}
        },
    )
    suite = bronze_suite(load_contract("lbs_pings"), VolumeBand(100, 7, 0.5), settings)
    severity = {e.meta["name"]: e.meta["severity"] for e in suite.expectations}

    assert severity["unique(ping_id)"] == "critical"
    assert severity["volume_not_dropped"] == "critical"
    assert severity["volume_not_surged"] == "warning"


WITHOUT_SPARK = """
import pkgutil, sys
sys.modules["pyspark"] = None  # as on a machine without it: any unguarded import of it fails
import databank.quality
for module in pkgutil.iter_modules(databank.quality.__path__, "databank.quality."):
    __import__(module.name)
print(sorted(name for name in sys.modules if name.split(".")[0] == "spark_jobs"))
"""


def test_the_quality_package_imports_without_spark_and_the_spark_jobs():
    # GIVEN a Python where pyspark cannot be imported (Great Expectations itself only tries it)
    # WHEN every module of databank.quality is imported
    imported = subprocess.run([sys.executable, "-c", WITHOUT_SPARK], capture_output=True, text=True)

    # THEN none of them needed Spark, nor brought in a Spark job
    assert imported.returncode == 0, imported.stderr[-2000:]
    assert imported.stdout.strip() == "[]"
