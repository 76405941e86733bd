"""Reading a data contract's YAML text safely: the one place contracts are parsed, through the
portal's one YAML loader (``apps.core.parsing.safe_load_yaml``, with the contract limits of
``contract_limits()``: size, depth, number length; no anchors or aliases). Dates and timestamps
stay the strings written, as in JSON: the ODCS JSON Schema wants strings and the document is
stored as JSON.
"""

from __future__ import annotations

from apps.core import parsing
from apps.core.exceptions import ApplicationError


def contract_load_yaml(text: str):
    """YAML (or JSON) text → plain Python data (dicts, lists, str, int, float, bool, None).

    Raises ``ApplicationError`` (an ``InputLimitError``; field ``contract``) when the text is not
    a string, contains NUL, is larger than ``INPUT_CONTRACT_MAX_BYTES``, uses anchors/aliases,
    nests deeper than ``INPUT_MAX_DEPTH``, has a number of more than ``INPUT_MAX_INT_DIGITS``
    digits or is not YAML; the message gives line and column.
    """
    if not isinstance(text, str):
        raise ApplicationError("The contract must be text.", {"contract": ["Expected YAML text."]})
    if "\x00" in text:
        raise ApplicationError("The contract is not valid YAML.", {"contract": ["The text contains a NUL character."]})
    return parsing.safe_load_yaml(
        text, **parsing.contract_limits(), field="contract", what="data contract", timestamps=False
    )
