"""Start and stop a real ``bentoml serve service:Triage`` for load runs, and watch its memory.

The server gets a free loopback port, the given ``BENTOML_HOME`` and extra environment
(``TRIAGE_BATCHING``, ``TRIAGE_WHISPER_ENGINE``), runs in its own session so the whole
process tree (arbiter, API worker, one process per runner) is stopped through the id of
the process started here, and is never reachable from outside the machine.

Each server gets an API key of its own (:attr:`ServeProcess.api_key`, hash in a private key
file): call it through :attr:`ServeProcess.client`, an ``httpx.Client`` sending the key, or
add :attr:`ServeProcess.auth_headers` to a request. The harness key stands in for every user
of a load run, so per-key rate limiting is off unless ``env`` sets ``TRIAGE_RATE_LIMIT_PER_S``;
and every client of a test or load run comes from 127.0.0.1, so the limit on failed
authentications per address is off unless ``env`` sets ``TRIAGE_AUTH_FAILURE_RATE_PER_S``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil

from harness.shared_audio import REPO
from triage.model_store import GRAPH_MODELS as MODELS
from triage.security.keys import add_key, remove_key


def default_home() -> Path:
    """``$BENTOML_HOME`` or BentoML's default ``~/bentoml``."""
    return Path(os.environ.get("BENTOML_HOME") or Path.home() / "bentoml")


def latest_version(home: Path, name: str) -> str | None:
    """Newest stored version of ``name`` by the ``creation_time`` BentoML records in ``model.yaml``.

    BentoML writes the ``latest`` pointer lazily, so it is not read; file times are not used
    either, as copying a store (``cp -r``) rewrites them.
    """
    import yaml

    versions = sorted(
        (home / "models" / name).glob("*/model.yaml"),
        key=lambda p: str((yaml.safe_load(p.read_text()) or {}).get("creation_time", "")),
    )
    return versions[-1].parent.name if versions else None


def check_store(home: Path) -> None:
    """Fail with the commands that build what is missing, rather than with a serve traceback."""
    missing = [m for m in MODELS if latest_version(home, m) is None]
    if missing:
        raise SystemExit(
            f"models missing from {home}/models: {', '.join(missing)}. Build them with\n"
            f"  BENTOML_HOME={home} .venv/bin/python -m training.build_models --profile default"
        )


def model_summary(home: Path) -> str:
    """``name:version (profile)`` of each served model, for the report."""
    import yaml

    out = []
    for name in MODELS:
        version = latest_version(home, name)
        info = home / "models" / name / version / "model.yaml"
        profile = "?"
        if info.exists():
            labels = (yaml.safe_load(info.read_text()) or {}).get("labels") or {}
            profile = labels.get("profile", "-")
        out.append(f"{name}:{version} ({profile})")
    return ", ".join(out)


def config_path(value: str) -> Path | None:
    """``--bentoml-config`` argument: a BentoML YAML config (e.g. ``services.<runner>.workers``
    or ``threads`` overrides, to try values without editing ``runners/``), or ``none``."""
    return None if value.lower() in {"", "none"} else Path(value)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServeProcess:
    """``bentoml serve <target>`` on ``127.0.0.1:<port>``; use as a context manager.

    ``target`` is the composed ``service:Triage`` by default, or one runner served alone
    (``runners.whisper:Whisper``); ``port`` defaults to a free one and stays the same across
    :meth:`stop` and :meth:`start`, so a restarted runner is found where its callers look.
    """

    def __init__(
        self,
        home: Path,
        env: dict[str, str] | None = None,
        timeout_s: float = 600,
        bentoml_config: Path | None = None,
        target: str = "service:Triage",
        port: int | None = None,
    ) -> None:
        self.home = home
        self.keys_dir = Path(tempfile.mkdtemp(prefix="triage-keys-"))
        self.keys_file = self.keys_dir / "api_keys"
        self.api_key = add_key(self.keys_file, "harness")
        self.auth_headers = {"Authorization": f"Bearer {self.api_key}"}
        self.env = {
            **os.environ,
            "BENTOML_HOME": str(home),
            "BENTOML_DO_NOT_TRACK": "True",
            "TRIAGE_API_KEYS_FILE": str(self.keys_file),
            "TRIAGE_API_KEY_HASHES": "",
            "TRIAGE_RATE_LIMIT_PER_S": "0",
            "TRIAGE_AUTH_FAILURE_RATE_PER_S": "0",
            **(env or {}),
        }
        self.env.pop("BENTOML_CONFIG", None)
        if bentoml_config is not None:
            self.env["BENTOML_CONFIG"] = str(bentoml_config.resolve())
        self.timeout_s = timeout_s
        self.target = target
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self._client: httpx.Client | None = None
        fd, name = tempfile.mkstemp(prefix="triage-load-serve-", suffix=".log")
        os.close(fd)
        self.log_path = Path(name)

    def __enter__(self) -> ServeProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        check_store(self.home)
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "bentoml",
                    "serve",
                    self.target,
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started = time.monotonic()
        deadline = time.monotonic() + self.timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bentoml serve exited:\n{self.logs()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    self.ready_s = time.monotonic() - self.started
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        self.stop()
        raise TimeoutError(f"server not ready after {self.timeout_s} s:\n{self.logs()}")

    @property
    def client(self) -> httpx.Client:
        """An ``httpx.Client`` on this server sending its key (``client.post("/analyze", ...)``)."""
        if self._client is None:
            self._client = httpx.Client(base_url=self.url, headers=self.auth_headers, timeout=300)
        return self._client

    def add_key(self, name: str) -> str:
        """A new key for this server, valid at once (the server re-reads its key file)."""
        return add_key(self.keys_file, name)

    def revoke_key(self, name: str) -> None:
        """Remove key ``name``; requests with it are refused from now on."""
        remove_key(self.keys_file, name)

    def logs(self, tail: int = 5000) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-tail:]

    def tree(self) -> list[psutil.Process]:
        """The server process and all its descendants (workers of every service)."""
        if self.process is None:
            return []
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        """SIGKILL the server's whole process tree at once, as a crash or an evicted pod would."""
        tree = self.tree()
        for p in tree:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        psutil.wait_procs(tree, timeout=10)
        if self.process is not None:
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop the server and every process it started, by their ids.

        SIGTERM goes to the server's process group (its id is the id of the process started
        here). BentoML starts the API worker in a session of its own, outside that group, and
        that worker does not always exit on its own when the arbiter stops, so the process
        tree is noted first and whatever of it survives is terminated, then killed, by id.
        """
        if self._client is not None:
            self._client.close()
            self._client = None
        if self.process is None:
            shutil.rmtree(self.keys_dir, ignore_errors=True)
            return
        tree = self.tree()[1:]
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        alive = [p for p in tree if p.is_running()]
        for p in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.terminate()
        _, alive = psutil.wait_procs(alive, timeout=10)
        for p in alive:
            with contextlib.suppress(psutil.NoSuchProcess):
                p.kill()
        psutil.wait_procs(alive, timeout=10)
        shutil.rmtree(self.keys_dir, ignore_errors=True)
        if not os.environ.get("LOADTEST_KEEP_LOGS"):  # failures already raised with the log's tail
            self.log_path.unlink(missing_ok=True)


def process_role(process: psutil.Process, root_pid: int) -> str:
    """``arbiter`` for the ``bentoml serve`` process, the service name for a runner's worker
    (BentoML passes it as ``--service-name``), else the worker's command line in short."""
    if process.pid == root_pid:
        return "arbiter"
    cmdline = process.cmdline()
    if "--service-name" in cmdline[:-1]:
        return cmdline[cmdline.index("--service-name") + 1]
    return " ".join(Path(cmdline[0]).name if i == 0 else a for i, a in enumerate(cmdline[:4]))


class MemorySampler:
    """Peak of the RSS (and PSS) summed over a server's process tree, sampled in a thread.

    RSS summed over processes counts pages shared between them (libraries, forked memory)
    once per process, so it overstates the real footprint; PSS splits shared pages between
    their users and sums to the true total. Both are reported, with each process's own peak
    (:attr:`by_process`, keyed by :func:`process_role`) to show where the memory lies.
    """

    def __init__(self, server: ServeProcess, interval_s: float = 1.0) -> None:
        self.server = server
        self.interval_s = interval_s
        self.peak_rss = 0
        self.peak_pss = 0
        self.by_process: dict[str, dict[str, int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        rss = pss = 0
        tree = self.server.tree()
        for p in tree:
            try:
                full = p.memory_full_info()
                role = process_role(p, tree[0].pid)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            rss += full.rss
            pss += getattr(full, "pss", full.rss)
            peaks = self.by_process.setdefault(role, {"rss": 0, "pss": 0, "uss": 0})
            peaks["rss"] = max(peaks["rss"], full.rss)
            peaks["pss"] = max(peaks["pss"], getattr(full, "pss", full.rss))
            peaks["uss"] = max(peaks["uss"], getattr(full, "uss", full.rss))
        self.peak_rss = max(self.peak_rss, rss)
        self.peak_pss = max(self.peak_pss, pss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def __enter__(self) -> MemorySampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
