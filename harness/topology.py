"""The deployed topology on one machine: each runner its own ``bentoml serve``, the API wired by URL.

The same shape as ``deploy/`` (one container or pod per service): four runner processes, each
``bentoml serve runners.<model>:<Class>`` on its own port, and any number of API processes
(``bentoml serve service:Triage``) that reach them through ``TRIAGE_<MODEL>_URL``. Used by
``tests/test_topology.py`` and ``benchmarks/bench_topology.py``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from harness.server import ServeProcess

RUNNER_TARGETS = {
    "whisper": "runners.whisper:Whisper",
    "corrector": "runners.corrector:Corrector",
    "text_classifier": "runners.text_classifier:TextClassifier",
    "audio_classifier": "runners.audio_classifier:AudioClassifier",
}
"""Each runner's ``bentoml serve`` target, by the model name its ``TRIAGE_<MODEL>_URL`` carries."""


def url_env(runners: dict[str, ServeProcess]) -> dict[str, str]:
    """The settings that wire an API process to these runners (``TRIAGE_WHISPER_URL``, ...)."""
    return {f"TRIAGE_{name.upper()}_URL": runner.url for name, runner in runners.items()}


def start_all(processes: list[ServeProcess]) -> None:
    """Start the processes side by side (each load overlaps the others' waits); stop all on failure."""
    with ThreadPoolExecutor(len(processes)) as pool:
        futures = [pool.submit(p.start) for p in processes]
        errors = [f.exception() for f in futures]
    if any(errors):
        for p in processes:
            p.stop()
        raise next(e for e in errors if e is not None)


class Topology:
    """Four runners and ``apis`` API processes, each a ``bentoml serve`` of its own; a context manager."""

    def __init__(
        self, home: Path, env: dict[str, str] | None = None, apis: int = 1, timeout_s: float = 600
    ) -> None:
        self.home = home
        self.env = env or {}
        self.timeout_s = timeout_s
        self.runners = {
            name: ServeProcess(home, env=self.env, timeout_s=timeout_s, target=target)
            for name, target in RUNNER_TARGETS.items()
        }
        self.apis = [self._api() for _ in range(apis)]

    def _api(self) -> ServeProcess:
        return ServeProcess(self.home, env={**self.env, **url_env(self.runners)}, timeout_s=self.timeout_s)

    def add_api(self) -> ServeProcess:
        """One more API process sharing the same runners, started and ready."""
        api = self._api()
        self.apis.append(api)
        api.start()
        return api

    def __enter__(self) -> Topology:
        start_all(list(self.runners.values()))
        try:
            start_all(self.apis)  # after the runners: an API is ready only once its runners are
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        for process in [*self.apis, *self.runners.values()]:
            process.stop()
