"""Parsing untrusted text (YAML, JSON) within limits, so that no request can exhaust a worker.

Every place that parses a body or an uploaded file goes through :func:`safe_load_yaml` or
:func:`safe_load_json` with the limits of its endpoint (the constants below are the defaults;
settings named ``INPUT_*`` override them). What is refused, and why:

- **size**: ``max_bytes`` of UTF-8 text, checked before parsing;
- **YAML anchors and aliases** (``&a`` / ``*a``): a few hundred bytes of aliases expand to
  gigabytes ("billion laughs"); data contracts and our other YAML inputs never need them;
- **nesting depth**: ``max_depth`` levels of mappings/sequences (objects/arrays); deeper input
  would otherwise end in ``RecursionError`` (a 500) in the parser or in later code;
- **number size**: integers of more than ``max_int_digits`` digits (Python refuses to convert
  more than 4,300 digits anyway, with a ``ValueError``), and JSON ``NaN`` / ``Infinity`` or a float
  literal that overflows to infinity (``1e400``), which later turn into ``OverflowError``.

Refusals raise :class:`InputLimitError` (an ``ApplicationError``): 400 in the API, with the
message under ``errors[field]``; forms show it as a field error.
"""

from __future__ import annotations

import json
import math
from typing import Any

import yaml
from django.conf import settings

from apps.core.exceptions import ApplicationError

#: Largest data contract (YAML or JSON text), bytes. A contract with hundreds of tables is ~1 MB.
CONTRACT_MAX_BYTES = 2 * 1024 * 1024
#: Largest dbt artifact (manifest.json of a few thousand models is tens of MB), bytes.
DBT_ARTIFACT_MAX_BYTES = 100 * 1024 * 1024
#: Largest JSON request body of the API, bytes.
JSON_BODY_MAX_BYTES = 2 * 1024 * 1024
#: Deepest nesting of mappings / sequences accepted by default.
MAX_DEPTH = 64
#: dbt artifacts nest deeper than contracts (config / meta dictionaries written by users).
DBT_ARTIFACT_MAX_DEPTH = 128
#: Longest integer literal, in digits (a 64-bit integer has at most 20).
MAX_INT_DIGITS = 40


class InputLimitError(ApplicationError):
    """Untrusted input was refused before or while parsing. ``field`` names the input
    (``contract``, ``manifest``, ``body``); ``extra`` is ``{field: [message]}``."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message, {field: [message]})
        self.field = field


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def _check_size(text: str | bytes, *, max_bytes: int, field: str, what: str) -> None:
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", errors="surrogatepass"))
    if size > max_bytes:
        raise InputLimitError(
            f"The {what} is too large: {size:,} bytes, at most {max_bytes:,} are accepted.", field=field
        )


# --- YAML ----------------------------------------------------------------------------------------


class _LimitedSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses anchors and aliases, nesting deeper than ``max_depth``
    and integers longer than ``max_int_digits`` digits (pure Python: the C loader cannot be hooked)."""

    max_depth = MAX_DEPTH
    max_int_digits = MAX_INT_DIGITS

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _Refused(f"YAML aliases (*{event.anchor}) are not accepted{_where(event)}.")
        event = self.peek_event()
        if getattr(event, "anchor", None) is not None:
            raise _Refused(f"YAML anchors (&{event.anchor}) are not accepted{_where(event)}.")
        nested = isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent)
        if nested:
            self._depth += 1
            if self._depth > self.max_depth:
                raise _Refused(f"The YAML nests deeper than {self.max_depth} levels{_where(event)}.")
        try:
            return super().compose_node(parent, index)
        finally:
            if nested:
                self._depth -= 1

    def construct_yaml_int(self, node):
        digits = sum(ch.isdigit() for ch in node.value)
        if digits > self.max_int_digits:
            raise _Refused(f"A number has {digits:,} digits; at most {self.max_int_digits} are accepted{_where(node)}.")
        return super().construct_yaml_int(node)


_LimitedSafeLoader.add_constructor("tag:yaml.org,2002:int", _LimitedSafeLoader.construct_yaml_int)

# Without the timestamp resolver: dates and times stay the strings written, as JSON has them
# (a data contract is validated against a JSON Schema that wants strings, and stored as JSON).
_NO_TIMESTAMP_RESOLVERS = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in _LimitedSafeLoader.yaml_implicit_resolvers.items()
}


class _Refused(Exception):
    pass


def _where(item) -> str:
    mark = getattr(item, "start_mark", None) or getattr(item, "problem_mark", None)
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""


def safe_load_yaml(
    text: str | bytes,
    *,
    max_bytes: int = CONTRACT_MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_int_digits: int = MAX_INT_DIGITS,
    field: str = "contract",
    what: str = "YAML document",
    timestamps: bool = True,
) -> Any:
    """Parse one YAML document with the safe schema, within limits.

    Returns plain Python data (dict, list, str, int, float, bool, None, date/datetime; with
    ``timestamps=False`` dates and times stay strings, as in JSON).
    Raises :class:`InputLimitError` (field ``field``) when the text is over ``max_bytes`` bytes,
    uses anchors or aliases, nests deeper than ``max_depth``, has an integer of more than
    ``max_int_digits`` digits, or is not valid YAML (the message gives line and column).
    """
    _check_size(text, max_bytes=max_bytes, field=field, what=what)
    attributes = {"max_depth": max_depth, "max_int_digits": max_int_digits}
    if not timestamps:
        attributes["yaml_implicit_resolvers"] = _NO_TIMESTAMP_RESOLVERS
    loader_class = type("_Loader", (_LimitedSafeLoader,), attributes)
    loader = loader_class(text)
    try:
        return loader.get_single_data()
    except _Refused as exc:
        raise InputLimitError(str(exc), field=field) from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None)
        raise InputLimitError(
            f"Not valid YAML{_where(exc)}{f': {problem[:200]}' if problem else ''}.", field=field
        ) from None
    except RecursionError:  # belt and braces: max_depth is far below the interpreter's limit
        raise InputLimitError(f"The YAML nests deeper than {max_depth} levels.", field=field) from None
    finally:
        loader.dispose()


# --- JSON ----------------------------------------------------------------------------------------


def _json_depth_exceeds(data: Any, max_depth: int) -> bool:
    """Whether ``data`` nests deeper than ``max_depth`` (iterative: no recursion)."""
    stack = [(data, 1)] if isinstance(data, dict | list) else []
    while stack:
        value, depth = stack.pop()
        if depth > max_depth:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def safe_load_json(
    text: str | bytes,
    *,
    max_bytes: int = JSON_BODY_MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_int_digits: int = MAX_INT_DIGITS,
    field: str = "body",
    what: str = "JSON document",
) -> Any:
    """Parse JSON text (``bytes`` are decoded as UTF-8, a BOM allowed), within limits.

    Returns plain Python data. Raises :class:`InputLimitError` (field ``field``) when the text is
    over ``max_bytes`` bytes or not UTF-8, is not valid JSON (with line and column), nests deeper
    than ``max_depth``, has an integer of more than ``max_int_digits`` digits, or has ``NaN``,
    ``Infinity`` or a number too large for a float (``1e400``).
    """
    _check_size(text, max_bytes=max_bytes, field=field, what=what)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputLimitError(f"The {what} is not UTF-8 text.", field=field) from None

    def parse_int(literal: str) -> int:
        if len(literal.lstrip("-")) > max_int_digits:
            raise _Refused(f"A number has {len(literal.lstrip('-')):,} digits; at most {max_int_digits} are accepted.")
        return int(literal)

    def parse_float(literal: str) -> float:
        value = float(literal)
        if math.isinf(value):
            raise _Refused(f"The number {literal[:40]} is too large.")
        return value

    def parse_constant(name: str):
        raise _Refused(f"{name} is not a number JSON accepts.")

    try:
        data = json.loads(text, parse_int=parse_int, parse_float=parse_float, parse_constant=parse_constant)
    except _Refused as exc:
        raise InputLimitError(str(exc), field=field) from None
    except RecursionError:
        raise InputLimitError(f"The {what} nests deeper than {max_depth} levels.", field=field) from None
    except json.JSONDecodeError as exc:
        raise InputLimitError(
            f"Not valid JSON ({exc.msg.removesuffix(' at')}, line {exc.lineno}, column {exc.colno}).", field=field
        ) from None
    if _json_depth_exceeds(data, max_depth):
        raise InputLimitError(f"The {what} nests deeper than {max_depth} levels.", field=field)
    return data


def json_body_limits() -> dict[str, int]:
    """Limits of API JSON bodies: settings ``INPUT_JSON_MAX_BYTES``, ``INPUT_MAX_DEPTH``,
    ``INPUT_MAX_INT_DIGITS`` or the module defaults."""
    return {
        "max_bytes": _setting("INPUT_JSON_MAX_BYTES", JSON_BODY_MAX_BYTES),
        "max_depth": _setting("INPUT_MAX_DEPTH", MAX_DEPTH),
        "max_int_digits": _setting("INPUT_MAX_INT_DIGITS", MAX_INT_DIGITS),
    }


def contract_limits() -> dict[str, int]:
    """Limits of data contract texts: ``INPUT_CONTRACT_MAX_BYTES``, ``INPUT_MAX_DEPTH``, ``INPUT_MAX_INT_DIGITS``."""
    return {
        "max_bytes": _setting("INPUT_CONTRACT_MAX_BYTES", CONTRACT_MAX_BYTES),
        "max_depth": _setting("INPUT_MAX_DEPTH", MAX_DEPTH),
        "max_int_digits": _setting("INPUT_MAX_INT_DIGITS", MAX_INT_DIGITS),
    }


def dbt_artifact_limits() -> dict[str, int]:
    """Limits of dbt artifact files: ``INPUT_DBT_ARTIFACT_MAX_BYTES`` and the dbt depth."""
    return {
        "max_bytes": _setting("INPUT_DBT_ARTIFACT_MAX_BYTES", DBT_ARTIFACT_MAX_BYTES),
        "max_depth": DBT_ARTIFACT_MAX_DEPTH,
        "max_int_digits": _setting("INPUT_MAX_INT_DIGITS", MAX_INT_DIGITS),
    }
