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
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO, Server

USERS = 4
RUN_TIME = "10s"
CLASSES = ["ClassifyTextUser", "ClassifyAudioUser"]


def test_locust_smoke_has_no_failures(server: Server, tmp_path: Path) -> None:
    prefix = tmp_path / "smoke"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "locust",
            "-f",
            str(REPO / "loadtest" / "locustfile.py"),
            "--host",
            server.url,
            "--headless",
            "--users",
            str(USERS),
            "--spawn-rate",
            str(USERS),
            "--run-time",
            RUN_TIME,
            "--stop-timeout",
            "30",
            "--csv",
            str(prefix),
            "--only-summary",
            *CLASSES,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    print(result.stdout[-3000:], result.stderr[-3000:])
    with Path(f"{prefix}_stats.csv").open(encoding="utf-8") as f:
        rows = {row["Name"]: row for row in csv.DictReader(f)}
    total = rows["Aggregated"]
    assert int(total["Request Count"]) >= 10, result.stderr[-3000:]
    assert {"/classify/text", "/classify/audio"} <= set(rows), rows.keys()
    assert int(total["Failure Count"]) == 0, Path(f"{prefix}_failures.csv").read_text(encoding="utf-8")
    assert result.returncode == 0, result.stderr[-3000:]
