"""Numbers on the dashboard read as people write them: thousands separators, one-decimal percentages."""

import math

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


def test_money_is_in_yuan():
    assert display.cny(1041.69) == "¥1,041.69"
