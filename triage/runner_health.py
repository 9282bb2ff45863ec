"""Whether the runners the API depends on answer their ``/readyz``: the API's own readiness.

BentoML's built-in runner probe asks each dependency's ``/readyz`` too, but lets a refused
connection escape as an exception, so a runner that is down (a crashed process, a pod being
replaced) turns the API's ``/readyz`` into a 500. Checked here first, the same condition is a
plain 503: orchestrators and load balancers take the API out of rotation until the runner is
back, and put it back without a restart once it is.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import aiohttp

logger = logging.getLogger("triage")
PROBE_TIMEOUT_S = 5


async def _ready(name: str, proxy: Any) -> bool:
    try:
        return bool(await proxy.is_ready(PROBE_TIMEOUT_S))
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        logger.info("runner %s is not ready: %s", name, type(exc).__name__)
        return False


async def runners_ready(runners: dict[str, Any]) -> bool:
    """True when every runner handle (a ``bentoml.depends`` proxy) answers its ``/readyz`` with 200.

    Handles that are not remote (a dependency resolved in this process) have nothing to probe.
    """
    remote = {name: proxy for name, proxy in runners.items() if hasattr(proxy, "is_ready")}
    results = await asyncio.gather(*(_ready(name, proxy) for name, proxy in remote.items()))
    return all(results)
