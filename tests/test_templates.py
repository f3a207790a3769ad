"""Every template and its schema travel together: same variables, exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archive.documents.render import template_variables

pytestmark = pytest.mark.store_independent  # never opens a store: runs once, on SQLite


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


@pytest.mark.parametrize("path", sorted((ROOT / "templates").glob("*.docx")), ids=lambda p: p.stem)
def test_templates_carry_only_the_styles_they_use(path):
    """The builders trim python-docx's default styles (tools/template_package.py): every
    rendered notice, and every reader of it (LibreOffice, the search index), pays for them."""
    import docx
    from docx.oxml.ns import qn

    document = docx.Document(str(path))
    parts = {str(part.partname) for part in document.part.package.iter_parts()}
    assert not {p for p in parts if "stylesWithEffects" in p or "thumbnail" in p or "customXml" in p}
    styles = document.styles.element
    latent = styles.find(qn("w:latentStyles"))
    assert latent is None or len(latent) == 0  # no per-style exceptions left
    assert len(styles.findall(qn("w:style"))) <= 25
    used = {node.get(qn("w:val")) for tag in ("w:pStyle", "w:tblStyle") for node in document.element.iter(qn(tag))}
    assert used <= {style.style_id for style in document.styles}
