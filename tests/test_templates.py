"""Every template and its schema travel together: same variables, exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archive.documents import template_variables

ROOT = Path(__file__).resolve().parent.parent
KINDS = ["receipt", "supplement", "rejection", "denial", "extension", "excluded_time", "appointment"]


def _schema(kind: str) -> dict:
    return json.loads((ROOT / "schemas" / f"{kind}.json").read_text(encoding="utf-8"))


def test_every_template_has_a_schema():
    templates = {p.stem for p in (ROOT / "templates").glob("*.docx")}
    assert set(KINDS) <= templates
    assert all((ROOT / "schemas" / f"{kind}.json").is_file() for kind in templates)


@pytest.mark.parametrize("kind", KINDS)
def test_template_variables_match_schema(kind):
    schema = _schema(kind)
    assert template_variables(kind) == set(schema["properties"])
    assert set(schema["required"]) == set(schema["properties"])
    assert schema["additionalProperties"] is False
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


@pytest.mark.parametrize("kind", KINDS)
def test_schemas_are_valid_draft_2020_12(kind):
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(_schema(kind))
    Draft202012Validator.check_schema(_schema("notice_common"))
