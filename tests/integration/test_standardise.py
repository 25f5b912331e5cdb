"""Standardise end to end: silver once per record, linked refunds, identifier sightings for identity."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from typing import get_args

import polars as pl
import pytest
from delta_reading import FEEDS, START, read_table

from databank.contracts import IdentifierType, load_contract
from spark_jobs.standardise import IDENTIFIERS_TABLE, standardise


@pytest.mark.parametrize("feed", FEEDS)
def test_silver_holds_every_valid_record_once(standardised, feed):
    _, lake = standardised
    record_id = load_contract(feed).record_id

    silver, bronze = read_table(lake, "silver", feed), read_table(lake, "bronze", feed)

    assert silver[record_id].n_unique() == silver.height
    assert set(silver[record_id]) == set(bronze[record_id])


def test_refunds_are_linked_exactly_when_their_sale_reached_silver(standardised):
    _, lake = standardised
    orders = read_table(lake, "silver", "online_orders")
    sales = set(orders.filter(pl.col("order_type") == "sale")["order_line_id"])
    refunds = orders.filter(pl.col("order_type") == "refund")

    expected = [line in sales for line in refunds["refund_of_line_id"]]

    assert refunds.height > 0
    assert refunds["is_refund_linked"].to_list() == expected
    assert any(expected)


def test_every_hashed_identifier_is_a_sighting_and_placeholders_are_junk(standardised):
    settings, lake = standardised
    sightings = read_table(lake, "silver", IDENTIFIERS_TABLE)
    orders = read_table(lake, "silver", "online_orders")
    placeholders = [
        hmac.new(b"integration-key", phone.encode(), hashlib.sha256).hexdigest()
        for phone in settings.ingest.placeholder_phones
    ]

    from_orders = sightings.filter(pl.col("feed") == "online_orders")
    carried = sum(orders[c].is_not_null().sum() for c in orders.columns if c.endswith("_hmac"))

    assert from_orders.height == carried
    assert set(sightings["identifier_type"]) == set(get_args(IdentifierType))
    junk = sightings.filter(pl.col("identifier_hmac").is_in(placeholders))
    assert junk.height > 0
    assert set(junk["identifier_status"]) == {"junk"}


def test_standardising_a_day_again_changes_nothing(spark, standardised):
    settings, lake = standardised
    day = START + timedelta(days=1)
    before = read_table(lake, "silver", "online_orders").sort("order_line_id")

    result = standardise(spark, lake, settings, "online_orders", day)

    assert read_table(lake, "silver", "online_orders").sort("order_line_id").equals(before)
    # and it says what the day held in bronze and silver
    of_day = pl.col("dt") == day
    assert result.rows_bronze == read_table(lake, "bronze", "online_orders").filter(of_day).height > 0
    assert result.rows_silver == read_table(lake, "silver", "online_orders").filter(of_day).height > 0
