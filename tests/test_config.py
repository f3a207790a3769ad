import json

import pytest

from archive.core.config import SETTINGS, open_workspace
from archive.core.errors import ConfigError, WorkspaceError


def test_every_setting_is_documented():
    for spec in SETTINGS:
        assert spec.help and len(spec.help) > 4, spec.name


def test_every_setting_is_in_the_config_schema():
    schema = json.loads(open("schemas/config.json", encoding="utf-8").read())
    assert {s.name for s in SETTINGS} == set(schema["properties"]["settings"]["properties"])


def _write(home, mutate):
    path = home / "config.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    mutate(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def test_layering_default_config_env_option(home, monkeypatch):
    monkeypatch.delenv("ARCHIVE_PDF")
    assert open_workspace(home).get("pdf") == "auto"
    _write(home, lambda d: d.setdefault("settings", {}).update(pdf="never"))
    assert open_workspace(home).get("pdf") == "never"
    monkeypatch.setenv("ARCHIVE_PDF", "always")
    assert open_workspace(home).get("pdf") == "always"
    assert open_workspace(home, pdf="auto").get("pdf") == "auto"


def test_bad_config_names_the_field(home):
    _write(home, lambda d: d["units"][0].pop("court"))
    with pytest.raises(ConfigError) as info:
        open_workspace(home)
    assert "court" in info.value.field and info.value.exit_code == 2


def test_malformed_config_json_says_where(home):
    (home / "config.json").write_text('{"centre": ', encoding="utf-8")
    with pytest.raises(ConfigError, match="第1行"):
        open_workspace(home)


def test_missing_workspace(tmp_path):
    with pytest.raises(WorkspaceError, match="archive init"):
        open_workspace(tmp_path / "none")
