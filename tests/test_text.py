"""The text rules of this node's forms are the wire's, character for character."""

from __future__ import annotations

import re

import pytest
from pydantic import TypeAdapter, ValidationError

from node.text import free_text, single_line
from schemas.base import Line, NonBlankLine, NonBlankText, Text, problem_in_words

# Every C0 and C1 control, their neighbours, and a few from further out: tab, newline, escape,
# DEL, NEL, non-breaking space, the line and paragraph separators, a zero-width joiner, an emoji.
CHARACTERS = [chr(c) for c in range(0xB0)] + ["\u2028", "\u2029", "\u200d", "\U0001f5f3"]


def accepted_by(check, value: str) -> bool:  # type: ignore[no-untyped-def]
    try:
        check(value)
    except (ValueError, ValidationError):
        return False
    return True


@pytest.mark.parametrize(("ours", "wire"), [(single_line, Line), (free_text, Text)])
def test_a_form_takes_exactly_the_characters_the_wire_takes(ours, wire) -> None:
    on_the_wire = TypeAdapter(wire).validate_python
    differ = [
        repr(ch)
        for ch in CHARACTERS
        if accepted_by(ours, f"a{ch}b") != accepted_by(on_the_wire, f"a{ch}b")
    ]
    assert differ == []


def test_the_messages_say_what_is_wrong() -> None:
    with pytest.raises(ValueError, match=re.escape("one line without control characters")):
        single_line("Hall\tB")
    with pytest.raises(ValueError, match="other than line breaks and tabs"):
        free_text("Hall\x1b[2J")


@pytest.mark.parametrize(
    ("wire", "value", "words"),
    [
        (Line, "a\tb", "one line without control characters"),
        (NonBlankLine, " ", "and not blank"),
        (Text, "a\x00", "other than line breaks and tabs"),
        (NonBlankText, "\x1b", "must not be blank, nor contain control characters"),
    ],
)
def test_the_wire_types_errors_are_said_in_words(wire, value, words) -> None:
    # what a person (or a peer's developer) reads instead of a regular expression
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(wire).validate_python(value)
    assert words in problem_in_words(caught.value.errors()[0])
