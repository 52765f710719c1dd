"""A character-level recogniser of JSON-object prefixes, for constrained decoding.

``feed`` answers whether the text so far can still become one JSON object; the
decoder asks it, best candidate first, which next token keeps that true.  Kept as
a pushdown automaton (a stack of open containers plus one mode) so a candidate
costs only its own characters, whatever the length of the text before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

WHITESPACE = " \t\n\r"
NUMBER_CHARS = "0123456789+-.eE"
LITERALS = {"t": "rue", "f": "alse", "n": "ull"}
CLOSERS = {"}": "{", "]": "["}


@dataclass
class JsonPrefix:
    """Mode names say what may come next; ``stack`` holds the open ``{`` and ``[``."""

    mode: str = "start"
    stack: list[str] = field(default_factory=list)
    rest: str = ""  # what is left of a literal (true/false/null) being spelled
    key: bool = False  # the open string is an object key
    keys: frozenset[str] | None = None  # the object keys allowed anywhere (None: any)
    spelled: str = ""  # the key spelled so far

    def copy(self) -> "JsonPrefix":
        return JsonPrefix(self.mode, list(self.stack), self.rest, self.key, self.keys, self.spelled)

    @property
    def complete(self) -> bool:
        return self.mode == "done"

    def feed(self, text: str) -> bool:
        """Advance over ``text``; False (and a spoiled state) when it can't continue JSON."""
        return all(MODES[self.mode](self, ch) for ch in text)

    # -- helpers shared by the modes ----------------------------------------------------
    def open(self, ch: str) -> bool:
        self.stack.append(ch)
        self.mode = "key_or_close" if ch == "{" else "value_or_close"
        return True

    def close(self, ch: str) -> bool:
        if not self.stack or self.stack[-1] != CLOSERS[ch]:
            return False
        self.stack.pop()
        return self.value_done()

    def value_done(self) -> bool:
        self.mode = "after" if self.stack else "done"
        return True

    def value(self, ch: str) -> bool:
        if ch in WHITESPACE:
            return True
        if ch in "{[":
            return self.open(ch)
        if ch == '"':
            self.mode, self.key = "string", False
            return True
        if ch in LITERALS:
            self.mode, self.rest = "literal", LITERALS[ch]
            return True
        if ch in "-0123456789":
            self.mode = "number"
            return True
        return False


def _start(s: JsonPrefix, ch: str) -> bool:
    return ch in WHITESPACE or (ch == "{" and s.open(ch))


def _key(s: JsonPrefix, ch: str) -> bool:
    if ch in WHITESPACE:
        return True
    if ch == '"':
        s.mode, s.key, s.spelled = "string", True, ""
        return True
    return False


def _key_or_close(s: JsonPrefix, ch: str) -> bool:
    return s.close(ch) if ch == "}" else _key(s, ch)


def _value_or_close(s: JsonPrefix, ch: str) -> bool:
    return s.close(ch) if ch == "]" else s.value(ch)


def _string(s: JsonPrefix, ch: str) -> bool:
    if s.key:
        return _key_char(s, ch)
    if ch == "\\":
        s.mode = "escape"
    elif ch == '"':
        return s.value_done()
    return ch >= " "


def _key_char(s: JsonPrefix, ch: str) -> bool:
    """A key stays within the allowed names (spelled plainly: escapes only when any key goes)."""
    if ch == '"':
        s.mode = "colon"
        return s.keys is None or s.spelled in s.keys
    if ch == "\\":
        s.mode = "escape"
        return s.keys is None
    s.spelled += ch
    return ch >= " " and (s.keys is None or any(k.startswith(s.spelled) for k in s.keys))


def _escape(s: JsonPrefix, ch: str) -> bool:
    s.mode = "string"
    return ch in '"\\/bfnrt'  # \u escapes are left out: a schema never needs them


def _colon(s: JsonPrefix, ch: str) -> bool:
    if ch == ":":
        s.mode = "value"
    return ch == ":" or ch in WHITESPACE


def _after(s: JsonPrefix, ch: str) -> bool:
    if ch in WHITESPACE:
        return True
    if ch == ",":
        s.mode = "key" if s.stack[-1] == "{" else "value"
        return True
    return ch in CLOSERS and s.close(ch)


def _number(s: JsonPrefix, ch: str) -> bool:
    if ch in NUMBER_CHARS:
        return True
    s.value_done()
    return _after(s, ch)


def _literal(s: JsonPrefix, ch: str) -> bool:
    if not s.rest or ch != s.rest[0]:
        return False
    s.rest = s.rest[1:]
    return s.value_done() if not s.rest else True


def schema_keys(schema: dict | None) -> frozenset[str] | None:
    """Every property name a JSON Schema mentions (through $defs too); None when it names none."""
    names: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            names.update(node.get("properties", {}) if isinstance(node.get("properties"), dict) else ())
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return frozenset(names) or None


def _done(s: JsonPrefix, ch: str) -> bool:
    return ch in WHITESPACE


MODES: dict[str, Callable[[JsonPrefix, str], bool]] = {
    "start": _start,
    "key": _key,
    "key_or_close": _key_or_close,
    "value": JsonPrefix.value,
    "value_or_close": _value_or_close,
    "string": _string,
    "escape": _escape,
    "colon": _colon,
    "after": _after,
    "number": _number,
    "literal": _literal,
    "done": _done,
}
