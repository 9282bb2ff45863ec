"""Request-size limits checked when a request is validated, not when a module is imported.

Limits live in :class:`triage.config.Settings`; a ``Field(max_length=...)`` would freeze
the value at import time, so schemas call :func:`at_most` from a validator instead. The
error is pydantic's own ``too_long``, so clients see the same 422 as for any other limit.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic_core import PydanticCustomError

T = TypeVar("T")


def at_most(items: list[T], limit: int) -> list[T]:
    """``items`` unchanged, or pydantic's ``too_long`` error when there are more than ``limit``."""
    if len(items) > limit:
        raise PydanticCustomError(
            "too_long",
            "List should have at most {max_length} items after validation, not {actual_length}",
            {"field_type": "List", "max_length": limit, "actual_length": len(items)},
        )
    return items
