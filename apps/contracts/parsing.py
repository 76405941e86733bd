"""Reading a data contract's YAML text safely: the one place contracts are parsed.

``h-sec`` is adding ``apps.core.parsing.safe_load_yaml`` for every YAML input of the portal; when
it lands, :func:`contract_load_yaml` becomes a call to it (same limits, same errors).
"""
from __future__ import annotations

import yaml

from apps.core.exceptions import ApplicationError

#: Largest contract accepted, in bytes of UTF-8 (the biggest ODCS examples are ~10 KB).
MAX_CONTRACT_BYTES = 1_000_000
#: Deepest nesting of mappings/lists accepted (ODCS nests properties; 30 is far beyond real use).
MAX_DEPTH = 40


class _ContractLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors and aliases (no "billion laughs") and keeps dates and
    timestamps as the strings written, as JSON would (the ODCS JSON Schema wants strings)."""

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.constructor.ConstructorError(
                None, None, "anchors and aliases are not allowed in a data contract", event.start_mark)
        if getattr(self, "_depth", 0) > MAX_DEPTH:
            raise yaml.constructor.ConstructorError(
                None, None, f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
        self._depth = getattr(self, "_depth", 0) + 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


#: Longest integer accepted, in digits (a contract's thresholds and counts are far shorter).
MAX_INT_DIGITS = 40


def _construct_int(loader, node):
    digits = node.value.lstrip("+-").replace("_", "")
    if len(digits) > MAX_INT_DIGITS:
        raise yaml.constructor.ConstructorError(
            None, None, f"a number longer than {MAX_INT_DIGITS} digits", node.start_mark)
    return yaml.SafeLoader.construct_yaml_int(loader, node)


_ContractLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)

# Drop the timestamp resolver (dates stay strings, like JSON); keep the rest of SafeLoader's.
_ContractLoader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.copy().items()
}


def contract_load_yaml(text: str):
    """YAML (or JSON) text → plain Python data (dicts, lists, str, int, float, bool, None).

    Raises ``ApplicationError`` (field ``contract``) when the text is larger than
    ``MAX_CONTRACT_BYTES``, contains NUL, uses anchors/aliases, nests deeper than ``MAX_DEPTH``
    or is not YAML; the message gives line and column.
    """
    if not isinstance(text, str):
        raise ApplicationError("The contract must be text.", {"contract": ["Expected YAML text."]})
    if len(text.encode("utf-8", errors="replace")) > MAX_CONTRACT_BYTES:
        raise ApplicationError("The contract is too large.", {"contract": [f"At most {MAX_CONTRACT_BYTES:,} bytes."]})
    if "\x00" in text:
        raise ApplicationError("The contract is not valid YAML.", {"contract": ["The text contains a NUL character."]})
    try:
        return yaml.load(text, Loader=_ContractLoader)  # noqa: S506 - _ContractLoader is a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ApplicationError("The contract is not valid YAML.", {"contract": [f"{problem[:200]}{where}."]}) from None
    except RecursionError:
        raise ApplicationError("The contract is not valid YAML.", {"contract": [f"Nested deeper than {MAX_DEPTH} levels."]}) from None
    except ValueError as exc:  # e.g. a number Python refuses to convert
        raise ApplicationError("The contract is not valid YAML.", {"contract": [str(exc)[:200]]}) from None
