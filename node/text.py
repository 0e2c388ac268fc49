"""The rules for text a person writes here: exactly the wire's, with messages she can act on.

Whatever an organizer may save must be sendable to allies, or sharing it fails after the save;
and whatever an ally may send must be something this node would accept from its own users. So
these are the characters of :data:`schemas.base.Line` and :data:`schemas.base.Text` (no
control characters; free text may hold newlines, carriage returns and tabs), checked here
with a plain-language error instead of a regular expression (``tests/test_text.py`` holds the
two to the same characters). Lengths are given where each type is used.
"""

from __future__ import annotations

import unicodedata

from pydantic import AfterValidator

from schemas.base import FREE_TEXT_RULE, ONE_LINE_RULE

_LINE_BREAKS_AND_TAB = frozenset("\n\r\t")


def single_line(value: str) -> str:
    """``value`` if it has no control character (no tab, newline or escape)."""
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise ValueError(ONE_LINE_RULE)
    return value


def free_text(value: str) -> str:
    """``value`` if its only control characters are newlines, carriage returns and tabs."""
    if any(unicodedata.category(ch) == "Cc" and ch not in _LINE_BREAKS_AND_TAB for ch in value):
        raise ValueError(FREE_TEXT_RULE)
    return value


ONE_LINE = AfterValidator(single_line)
"""Mark a text type as one line: ``Annotated[str, StringConstraints(...), ONE_LINE]``."""

FREE_TEXT = AfterValidator(free_text)
"""Mark a text type as free text (line breaks and tabs allowed)."""
