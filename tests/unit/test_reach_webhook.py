"""The webhook destination against a server on 127.0.0.1: signed JSON batches of the consenting
consumers, retried on a server error, and never a batch sent twice when a failed sync is run again."""

import hashlib
import hmac
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from reach_world import person, publish, reach_settings

from databank.reach.destinations import SIGNATURE_HEADER, DeliveryError
from databank.reach.sync import sync_audience

SECRET = "webhook-signing-key"


class Receiver:
    """A local endpoint that answers each POST with the next status of `script` (then 200)."""

    def __init__(self) -> None:
        self.script: list[int] = []
        self.received: list[tuple[int, dict, dict]] = []  # (status answered, headers, body)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                status = receiver.script.pop(0) if receiver.script else 200
                receiver.received.append((status, dict(self.headers), body))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/audiences"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def taken(self) -> list[dict]:
        """The bodies answered 200, parsed."""
        return [json.loads(body) for status, _, body in self.received if status == 200]


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()


@pytest.fixture
def settings(tmp_path, receiver, monkeypatch):
    for name in [n for n in os.environ if n.startswith("DATABANK_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("SMS_WEBHOOK_SECRET", SECRET)
    webhook = {
        "kind": "webhook",
        "purpose": "marketing",
        "url": receiver.url,
        "secret_env": "SMS_WEBHOOK_SECRET",
        "forms": ["phone"],
        "batch_size": 2,
        "backoff_seconds": 0,
        "max_attempts": 3,
    }
    return reach_settings(tmp_path, {"sms": webhook})


def test_only_consenting_consumers_are_posted_signed_and_retried_on_500(settings, receiver):
    consenting = [person(1), person(2), person(3)]
    publish(settings, [*consenting, person(4, consents=False)])
    receiver.script = [500, 503]

    report = sync_audience(settings, "loyal_marketing", "sms")

    statuses = [status for status, _, _ in receiver.received]
    assert statuses == [500, 503, 200, 200]  # the first batch tried three times, the second once
    posted = {phone for body in receiver.taken() for phone in body["identifiers"]}
    assert posted == {p.phone for p in consenting}
    for _, headers, body in receiver.received:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert headers[SIGNATURE_HEADER] == expected
        assert headers["Idempotency-Key"] == json.loads(body)["idempotency_key"]
    assert report.batches_sent == 2
    assert report.added == {"phone": 3}


def test_a_failed_sync_run_again_never_sends_a_taken_batch_twice(settings, receiver):
    publish(settings, [person(1), person(2), person(3)])
    receiver.script = [200, 400]  # the second batch is refused: no retry can fix that
    with pytest.raises(DeliveryError, match="answered 400 to batch 2"):
        sync_audience(settings, "loyal_marketing", "sms")
    assert len(receiver.received) == 2

    again = sync_audience(settings, "loyal_marketing", "sms")
    keys = [body["idempotency_key"] for body in receiver.taken()]
    assert len(keys) == len(set(keys)) == 2
    assert again.batches_sent == 1
    assert again.batches_already_taken == 1
    assert sync_audience(settings, "loyal_marketing", "sms").batches_sent == 0
    assert len(receiver.received) == 3


def test_removes_are_posted_as_their_own_operation(settings, receiver):
    publish(settings, [person(1), person(2)])
    sync_audience(settings, "loyal_marketing", "sms")
    publish(settings, [person(1), person(2, state="I")])
    sync_audience(settings, "loyal_marketing", "sms")
    last = receiver.taken()[-1]
    assert (last["operation"], last["identifiers"]) == ("remove", [person(2).phone])
