"""Validating a data contract against the Open Data Contract Standard.

Two checks, both required: the official ODCS JSON Schema (v3.1.0, vendored in ``schemas/``
from bitol-io/open-data-contract-standard, Apache-2.0; its ``apiVersion`` enum also admits
v3.0.x documents) for exact paths and reasons, then the ``open-data-contract-standard``
package's pydantic model, which the rest of the portal reads.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from apps.core.exceptions import ApplicationError

from .parsing import contract_load_yaml

SCHEMA_PATH = Path(__file__).with_name("schemas") / "odcs-json-schema-v3.1.0.json"
#: ODCS versions this portal reads (``apiVersion``).
SUPPORTED_API_VERSIONS = ("v3.0.0", "v3.0.1", "v3.0.2", "v3.1.0")
MAX_ERRORS = 50


@dataclass(frozen=True)
class ParsedContract:
    """A contract that passed validation: ``document`` is the data as written (JSON types),
    ``model`` the ``open_data_contract_standard`` model of it, ``text`` the YAML as published."""

    document: dict
    model: object
    text: str


@cache
def _validator():
    import jsonschema

    schema = json.loads(SCHEMA_PATH.read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _leaf_errors(error):
    """The most specific errors under a ``oneOf``/``anyOf`` failure (else the error itself)."""
    if not error.context:
        yield error
        return
    from jsonschema.exceptions import best_match

    yield best_match(error.context)


def contract_schema_errors(document) -> dict[str, list[str]]:
    """Every JSON Schema violation of ``document``: ``{"contract.<json path>": [reason, ...]}``,
    e.g. ``{"contract.schema[0].properties[3].logicalType": ["'numbr' is not one of [...]"]}``.
    A missing required field is reported at its own path (``contract.apiVersion``). At most
    ``MAX_ERRORS`` entries; ``{}`` when valid."""
    errors: dict[str, list[str]] = {}
    for top in sorted(_validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path))):
        for error in _leaf_errors(top):
            parts = list(error.absolute_path)
            message = error.message
            if error.validator == "required":
                missing = message.split("'")[1] if message.count("'") >= 2 else ""
                parts.append(missing)
                message = "This field is required by ODCS."
            elif error.validator in ("additionalProperties", "unevaluatedProperties"):
                # Both keywords report the same stray field: once, at the field's own path.
                for name in re.findall(r"'([^']+)'", message.split("(", 1)[-1]) or [""]:
                    key = _path(["contract", *parts, name] if name else ["contract", *parts])
                    if "Not an ODCS field." not in errors.setdefault(key, []):
                        errors[key].append("Not an ODCS field.")
                continue
            key = _path(["contract", *parts])
            errors.setdefault(key, [])
            if message[:300] not in errors[key]:
                errors[key].append(message[:300])
            if len(errors) >= MAX_ERRORS:
                return errors
    return errors


def contract_parse(text: str) -> ParsedContract:
    """YAML text → :class:`ParsedContract`, or ``ApplicationError`` listing every problem:
    not YAML / too large / aliases (field ``contract``), not a mapping, JSON Schema violations
    (``contract.<path>``), an ``apiVersion`` this portal does not read, and anything the
    ODCS pydantic model refuses. Pure: reads and writes no database."""
    from open_data_contract_standard.model import OpenDataContractStandard
    from pydantic import ValidationError as PydanticValidationError

    data = contract_load_yaml(text)
    if not isinstance(data, dict):
        raise ApplicationError(
            "The contract must be a YAML mapping.", {"contract": ["Expected a mapping at the top level."]}
        )
    errors = contract_schema_errors(data)
    api_version = data.get("apiVersion")
    if (
        isinstance(api_version, str)
        and api_version not in SUPPORTED_API_VERSIONS
        and "contract.apiVersion" not in errors
    ):
        errors["contract.apiVersion"] = [
            f"{api_version!r} is not supported; use one of {', '.join(SUPPORTED_API_VERSIONS)}."
        ]
    if errors:
        raise ApplicationError(
            f"The contract does not follow the Open Data Contract Standard ({len(errors)} problem"
            f"{'s' if len(errors) != 1 else ''}).",
            errors,
        )
    try:
        model = OpenDataContractStandard.model_validate(data)
    except PydanticValidationError as exc:
        pyd_errors: dict[str, list[str]] = {}
        for error in exc.errors()[:MAX_ERRORS]:
            pyd_errors.setdefault(_path(["contract", *error["loc"]]), []).append(error["msg"])
        raise ApplicationError("The contract does not follow the Open Data Contract Standard.", pyd_errors) from None
    return ParsedContract(document=data, model=model, text=text)


def contract_errors_as_lines(errors: dict[str, list[str]]) -> list[str]:
    """``{"contract.a[0].b": ["reason"]}`` → ``["a[0].b: reason"]`` for pages and CLI output."""
    lines = []
    for key, messages in errors.items():
        path = key.removeprefix("contract.").removeprefix("contract") or "(document)"
        lines.extend(f"{path}: {m}" for m in messages)
    return lines
