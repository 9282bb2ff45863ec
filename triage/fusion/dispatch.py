"""Who to send: the Korean emergency number that handles each category of call.

112 is the police, 119 fire, rescue and emergency medical services. A bare call for help
(``help``: "살려주세요" with nothing more specific) goes to both, as Korean dispatch centres
do for calls they cannot yet place (joint response); so does an emergency heard only in
the sound (a scream, an alarm, a crash) with no words to say what it is.
"""

from __future__ import annotations

AGENCIES: dict[str, str] = {
    "medical": "119",
    "fire": "119",
    "accident": "119",
    "crime": "112",
    "help": "112+119",
}
JOINT = "112+119"


def agency_for(category: str | None, is_emergency: bool) -> str | None:
    """The number to dispatch, or None when the call is not an emergency."""
    if not is_emergency:
        return None
    return AGENCIES.get(category or "", JOINT)
