"""The archive's templates travel with their schemas; the volume tables match their migration."""

import json
from pathlib import Path

import pytest

from archive.documents.render import template_variables

pytestmark = pytest.mark.store_independent  # never opens a store: runs once, on SQLite


ROOT = Path(__file__).resolve().parent.parent
KINDS = ["application_record", "decision_record", "volume_cover", "item_list", "notes_sheet", "catalogue",
         "destruction_list", "loan_slip"]
ARCHIVE_TABLES = {"attachments", "volumes", "volume_items", "volume_notes", "verifications", "destruction_lists"}


def _schema(kind: str) -> dict:
    return json.loads((ROOT / "schemas" / f"{kind}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", KINDS)
def test_template_variables_match_schema(kind):
    from jsonschema import Draft202012Validator

    schema = _schema(kind)
    assert template_variables(kind) == set(schema["properties"])
    assert set(schema["required"]) == set(schema["properties"])
    assert schema["additionalProperties"] is False
    Draft202012Validator.check_schema(schema)


def test_templates_are_rebuilt_identically_in_content(tmp_path):
    """tools/build_archive_templates.py still produces templates with the same variables."""
    import subprocess
    import sys

    subprocess.run([sys.executable, str(ROOT / "tools" / "build_archive_templates.py"), "--out", str(tmp_path)],
                   check=True, capture_output=True)
    from docxtpl import DocxTemplate

    from archive.documents.render import _jinja_env

    for kind in KINDS:
        built = DocxTemplate(tmp_path / f"{kind}.docx").get_undeclared_template_variables(jinja_env=_jinja_env())
        assert built == template_variables(kind), kind


def test_scheme_schema_is_valid_and_the_sample_matches_it():
    from jsonschema import Draft202012Validator

    schema = _schema("scheme")
    Draft202012Validator.check_schema(schema)
    sample = json.loads((ROOT / "archive" / "data" / "sample_archive.json").read_text(encoding="utf-8"))
    assert list(Draft202012Validator(schema).iter_errors(sample)) == []


def test_migrations_create_the_volume_tables_as_the_store_declares_them(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from archive.core import store as st

    store = st.open_store(f"sqlite:///{tmp_path / 'db.sqlite'}", migrate=True)
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), st.metadata)
    store.dispose()

    def table_of(diff):
        # ("add_column", schema, table, column), ("add_table", Table), or a list of modify_* tuples
        item = diff[0] if isinstance(diff, list) else diff
        for part in item[1:]:
            if isinstance(part, str):
                return part
            if getattr(part, "table", None) is not None:
                return part.table.name
            if getattr(part, "name", None) and hasattr(part, "columns"):
                return part.name
        return None

    ours = [d for d in diffs if table_of(d) in ARCHIVE_TABLES]
    assert ours == []
