"""Numbers on the dashboard read as people write them: thousands separators, one-decimal percentages."""

import math

import pytest

from databank.dashboard import display


def test_counts_have_thousands_separators():
    assert display.count(1234567) == "1,234,567"
    assert display.count(6399.0) == "6,399"
    assert display.count(None) == display.count(math.nan) == "—"


def test_rates_are_percentages_with_one_decimal():
    assert display.percent(0.20610392) == "20.6%"
    assert display.percent(1) == "100.0%"
    assert display.percent(None) == "—"


def test_changes_carry_their_sign_and_no_change_is_zero():
    assert display.count_change(6399, 5234) == "+1,165"
    assert display.count_change(297, 299) == "-2"
    assert display.count_change(42, 42) == 0
    assert display.count_change(42, None) is None


def test_rate_changes_are_in_percentage_points():
    assert display.rate_change(0.206, 0.155) == "+5.1 pp"
    assert display.rate_change(0.1, 0.12) == "-2.0 pp"
    assert display.rate_change(0.1, 0.1004) == 0
    assert display.rate_change(math.nan, 0.1) is None


def test_money_is_in_the_brands_currency_with_its_symbol_and_digits():
    assert display.money(1041.69, "CNY") == "CN¥1,041.69"
    assert display.money(1041.69, "USD") == "$1,041.69"
    assert display.money(1041.69, "JPY") == "¥1,042"  # the yen has no minor unit
    assert display.money(math.nan, "EUR") == display.MISSING


def test_a_money_column_is_formatted_in_the_tables_currency():
    assert display._column_config(display.Column("cost", "money"), "EUR")["type_config"]["format"] == "€%,.2f"
    assert display._column_config(display.Column("cost", "money"), "JPY")["type_config"]["format"] == "¥%,.0f"
    with pytest.raises(ValueError, match="currency"):
        display._column_config(display.Column("cost", "money"), None)
