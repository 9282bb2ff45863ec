"""``validate_texts``: the checks every text passes before any model sees it.

Its own module, free of torch and transformers, because the API worker validates each
request before calling the text classifier runner and must not load a model library to do so.
"""

from __future__ import annotations

from triage.config import Settings, get_settings
from triage.errors import TriageError
from triage.unicode_checks import has_lone_surrogate


def validate_texts(texts: list[str], settings: Settings | None = None) -> None:
    """Refuse empty or whitespace-only texts (422) and texts over ``max_text_chars`` (413).

    Checked before any model work so a bad sentence fails the request with a clear code
    instead of producing a confident prediction about nothing.
    """
    settings = settings or get_settings()
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TriageError(422, "invalid_text", f"sentences[{index}] is not a string.", index=index)
        if not text.strip():
            raise TriageError(
                422, "empty_text", f"sentences[{index}] is empty or only whitespace.", index=index
            )
        if has_lone_surrogate(text):
            raise TriageError(
                422, "invalid_text", f"sentences[{index}] holds a lone UTF-16 surrogate.", index=index
            )
        if len(text) > settings.max_text_chars:
            raise TriageError(
                413,
                "text_too_long",
                f"sentences[{index}] has {len(text)} characters; the limit is {settings.max_text_chars}.",
                index=index,
                limit=settings.max_text_chars,
            )
