"""A brand sets the dbt project's vars (AIPL windows, switches) in databank's settings, checked on load."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from databank.config import load_settings


def _vars(values: dict) -> dict:
    return load_settings(marts_build={"vars": values}).marts_build.vars


def test_a_declared_var_of_its_defaults_kind_is_kept():
    values = {"aipl_purchase_window_days": 365, "grow_period": "week", "oaipl": True, "home_hours": [23, 7]}

    assert _vars(values) == values


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"aipl_purchase_window_day": 365}, "did you mean aipl_purchase_window_days?"),
        ({"loyalty": 1}, "there are aipl_awareness_window_days, "),
        ({"aipl_purchase_window_days": 365.5}, "is not a whole number like its default 730"),
        ({"aipl_purchase_window_days": "365"}, "is not a whole number"),
        ({"oaipl": "yes"}, "is not a boolean like its default False"),
        ({"trade_area_rings_km": 3}, "is not a list"),
        ({"run_date": "2026-05-14"}, "run_date is not set here"),
        ({"business_timezone": "Europe/Paris"}, "databank's setting business_timezone"),
        ({"ingest_late_days": 7}, "databank's setting ingest.late_days"),
    ],
)
def test_a_var_the_project_does_not_declare_or_of_another_kind_is_refused(values, says):
    with pytest.raises(ValidationError, match=r"marts_build\.vars") as refused:
        _vars(values)

    assert says in str(refused.value)


def test_vars_come_from_the_environment_as_json(monkeypatch):
    monkeypatch.setenv("DATABANK_MARTS_BUILD__VARS", '{"rfm_window_days": 180}')

    assert load_settings().marts_build.vars == {"rfm_window_days": 180}
