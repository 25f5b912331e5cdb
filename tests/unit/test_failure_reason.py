"""The reason the DAG's failure callback keeps for a failed task, which `databank status` shows."""

from __future__ import annotations

from datetime import date

from databank.recorded_runs import failure_reason, record_failure


def test_a_landing_sensors_timeout_is_said_in_terms_of_the_feed_it_waited_for():
    # Airflow's exception by its name: importing Airflow takes seconds.
    timeout = type("AirflowSensorTimeout", (Exception,), {})("Sensor has timed out")

    reason = failure_reason("online_events.wait_for_landing", timeout, date(2026, 3, 3))

    assert reason.startswith("required feed online_events has not landed for 2026-03-03: no files in ")
    assert reason.endswith("online_events/dt=2026-03-03")


def test_a_failure_reason_is_the_first_line_of_the_error():
    reason = failure_reason("orders.ingest", ValueError("3 rows lost\nTraceback: ..."), None)

    assert reason == "ValueError: 3 rows lost"


def test_the_failure_callback_keeps_the_reason_as_the_tasks_failure_xcom():
    pushed = {}

    class TaskInstance:
        task_id = "orders.ingest"

        def xcom_push(self, key, value):
            pushed[key] = value

    record_failure({"ti": TaskInstance(), "exception": ValueError("bad file"), "data_interval_start": None})

    assert pushed == {"failure": "ValueError: bad file"}
