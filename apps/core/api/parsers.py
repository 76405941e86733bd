"""Raw YAML request bodies, so CI can ``curl --data-binary @contract.yaml -H 'Content-Type: application/yaml'``."""
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser


class YAMLTextParser(BaseParser):
    """Hands the body over untouched as ``{"contract": "<text>"}``; the service parses and validates it."""

    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        try:
            return {"contract": stream.read().decode(encoding)}
        except UnicodeDecodeError:
            raise ParseError("The body is not UTF-8 text.") from None
