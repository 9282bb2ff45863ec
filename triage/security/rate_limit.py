"""A token bucket per API key: each caller within its own rate, none able to starve the others.

Buckets are per key name (per client address when authentication is off), so a key that
floods the server empties only its own bucket; its excess requests are refused here, before
they take one of the in-flight slots of :class:`triage.overload.ConcurrencyLimit` or reach a
model. Buckets live in the API worker's memory (one worker by default); with several workers
each enforces the rate on its share of the connections. :class:`Buckets` also bounds failed
authentications per client address (:class:`triage.security.auth.ApiKeyAuth`).
"""

from __future__ import annotations

import math
import time

from triage.security.asgi import ASGIApp, Receive, Scope, Send, send_error, state

MAX_IDLE_BUCKETS = 10_000
"""Full buckets are dropped beyond this many callers, so anonymous addresses cannot grow memory."""


class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` per second; each request takes one."""

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.tokens = float(burst)
        self.stamp = now

    def available(self, now: float) -> float:
        """Tokens there at ``now``: those left plus the refill since the last take, at most ``burst``."""
        return min(self.burst, self.tokens + (now - self.stamp) * self.rate)

    def take(self, now: float) -> float:
        """0 when a token was taken, else the seconds until one will be there."""
        self.tokens = self.available(now)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate

    def wait(self, now: float) -> float:
        """The seconds until a token will be there (0: one is there now); takes nothing."""
        tokens = self.available(now)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.rate

    def full(self, now: float) -> bool:
        return self.available(now) >= self.burst


class Buckets:
    """One :class:`TokenBucket` per name, made on first use; full ones are pruned past a bound."""

    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s
        self.burst = max(1, burst)
        self.buckets: dict[str, TokenBucket] = {}

    @property
    def enabled(self) -> bool:
        return self.rate > 0

    def take(self, name: str, now: float) -> float:
        """0 when ``name`` had a token (now taken), else the seconds until it will have one."""
        bucket = self.buckets.get(name)
        if bucket is None:
            if len(self.buckets) >= MAX_IDLE_BUCKETS:
                self.buckets = {k: b for k, b in self.buckets.items() if not b.full(now)}
            bucket = self.buckets[name] = TokenBucket(self.rate, self.burst, now)
        return bucket.take(now)

    def wait(self, name: str, now: float) -> float:
        """The seconds until ``name`` will have a token (0: it has one, or has no bucket yet)."""
        bucket = self.buckets.get(name)
        return 0.0 if bucket is None else bucket.wait(now)


class RateLimit:
    """ASGI middleware: 429 ``rate_limited`` with ``Retry-After`` once a caller's bucket is empty.

    Reads the caller noted by :class:`triage.security.auth.ApiKeyAuth`; requests it let through
    without one (health probes, the page) are never limited.
    """

    def __init__(self, app: ASGIApp, rate_per_s: float, burst: int) -> None:
        self.app = app
        self.buckets = Buckets(rate_per_s, burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        caller = state(scope).get("caller") if scope["type"] in ("http", "websocket") else None
        if caller is None or not self.buckets.enabled:
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(caller, time.monotonic())
        if wait > 0:
            await send_rate_limited(
                scope,
                send,
                wait,
                f"This key may send {self.buckets.rate:g} requests per second "
                f"(bursts of {self.buckets.burst}); retry in {wait:.1f} s.",
            )
            return
        await self.app(scope, receive, send)


async def send_rate_limited(scope: Scope, send: Send, wait: float, message: str) -> None:
    """429 ``rate_limited`` with ``Retry-After`` in whole seconds (at least 1)."""
    await send_error(scope, send, 429, "rate_limited", message, {"Retry-After": str(max(1, math.ceil(wait)))})
