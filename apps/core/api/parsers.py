"""Request body parsers of the API, all within the limits of :mod:`apps.core.parsing`.

- :class:`LimitedJSONParser` (the default JSON parser): refuses bodies over
  ``INPUT_JSON_MAX_BYTES``, nesting deeper than ``INPUT_MAX_DEPTH``, huge integers and
  ``NaN``/``Infinity``/``1e400`` with 400 ``{"message": ..., "errors": {"body": [...]}}``.
- :class:`YAMLTextParser`: raw YAML bodies, so CI can
  ``curl --data-binary @contract.yaml -H 'Content-Type: application/yaml'``.
"""

from rest_framework.exceptions import ParseError, ValidationError
from rest_framework.parsers import BaseParser, JSONParser

from apps.core.parsing import InputLimitError, contract_limits, json_body_limits, safe_load_json


def _read_limited(stream, max_bytes: int, field: str) -> bytes:
    if stream is None:
        return b""
    raw = stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise ValidationError({field: [f"The body is too large: at most {max_bytes:,} bytes are accepted."]})
    return raw


class LimitedJSONParser(JSONParser):
    """``application/json`` bodies through :func:`apps.core.parsing.safe_load_json`."""

    def parse(self, stream, media_type=None, parser_context=None):
        limits = json_body_limits()
        raw = _read_limited(stream, limits["max_bytes"], "body")
        try:
            return safe_load_json(raw, field="body", what="JSON body", **limits)
        except InputLimitError as exc:
            raise ValidationError(exc.extra) from None


class YAMLTextParser(BaseParser):
    """Hands the body over untouched as ``{"contract": "<text>"}``; the service parses and validates
    it. Bodies over ``INPUT_CONTRACT_MAX_BYTES`` answer 400 unread."""

    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        raw = _read_limited(stream, contract_limits()["max_bytes"], "contract")
        try:
            return {"contract": raw.decode(encoding)}
        except UnicodeDecodeError:
            raise ParseError("The body is not UTF-8 text.") from None
