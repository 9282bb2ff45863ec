"""CI smoke version of the load test: a few seconds of Locust against the session's real server.

Runs ``loadtest/locustfile.py`` headless (4 users, 10 s) on the two cheap endpoints,
``/classify/text`` and ``/classify/audio``, with the real clips and texts the full load
test sends, and asserts that requests went through and none failed (any status other
than 200 is a failure). Locust runs in its own process: it monkey-patches the standard
library with gevent on import, which must not leak into the test session. Timings are
printed, never asserted.
"""

from __future__ import annotations

import csv
from pathlib import Path

from loadtest.run_locust import run_locust
from tests.conftest import Server

USERS = 4
RUN_TIME = "10s"
CLASSES = ["ClassifyTextUser", "ClassifyAudioUser"]


def test_locust_smoke_has_no_failures(server: Server, tmp_path: Path) -> None:
    status, stats_csv = run_locust(
        server.url, CLASSES, USERS, USERS, RUN_TIME, "smoke", reports=tmp_path, api_key=server.api_key
    )
    prefix = tmp_path / "smoke"
    with stats_csv.open(encoding="utf-8") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    total = rows["Aggregated"]
    assert int(total["Request Count"]) >= 10, f"locust exit status {status}"
    assert {"/classify/text", "/classify/audio"} <= set(rows), rows.keys()
    assert int(total["Failure Count"]) == 0, Path(f"{prefix}_failures.csv").read_text(encoding="utf-8")
    assert status == 0, f"locust exit status {status}"
