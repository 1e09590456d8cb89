"""The manifest JSON Schema generated from the worker's zod schema (docs/contracts/model-bundle.schema.json)."""

import json
from pathlib import Path

import jsonschema

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "contracts" / "model-bundle.schema.json"


def manifest_errors(manifest: dict) -> list[str]:
    """Every violation of the checked-in contract, as 'path: message' strings (empty when valid)."""
    schema = json.loads(SCHEMA_PATH.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(manifest)]
