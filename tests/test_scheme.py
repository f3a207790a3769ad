import copy
import json
from pathlib import Path

import pytest

from archive.shelf import scheme as sc
from archive.core.errors import ConfigError, InputError

SAMPLE = json.loads((Path(sc.__file__).parent.parent / "data" / "sample_archive.json").read_text(encoding="utf-8"))
CENTRE = json.loads((Path(sc.__file__).parent.parent / "data" / "sample_centre.json").read_text(encoding="utf-8"))


def sample(**changes) -> dict:
    data = copy.deepcopy(SAMPLE)
    data.update(changes)
    return data


def test_sample_scheme_classifies_every_service_item_of_the_sample_centre(session):
    report = sc.check(session)
    assert report.ok, report.problems
    assert report.items_checked == len(CENTRE["items"]) == 15
    scheme = report.scheme
    for item in CENTRE["items"]:
        scheme.class_for_item(item["code"])
    assert (scheme.fonds_code, scheme.fonds_name) == ("Z023", "江州市政务服务中心")


def test_retention_follows_the_outcome_of_the_case():
    scheme = sc.from_config(SAMPLE)
    approved = scheme.place("SJ-XK-001", "approved", 2026)
    assert (approved.archive_class.code, approved.retention, approved.catalogue.number) == ("XK·ZC", "D30", 1)
    assert approved.access == "开放"
    assert scheme.place("SJ-XK-001", "denied", 2026).retention == "D10"
    refused = scheme.place("SJ-XK-001", "not_accepted", 2026)
    assert (refused.retention, refused.catalogue.number) == ("D10", 2)


def test_a_class_can_make_its_volumes_controlled_and_permanent():
    place = sc.from_config(SAMPLE).place("ZR-QR-001", "approved", 2026)
    assert (place.archive_class.code, place.retention, place.access) == ("DJ·BDC", "Y", "控制")


def test_default_archival_code_is_in_the_da_t_13_style():
    scheme = sc.from_config(SAMPLE)
    code = scheme.archival_code(class_code="XK·ZC", year=2026, retention="D30", catalogue=1, volume=127)
    assert code == "Z023-XK·ZC·2026·D30-001-0127"


def test_code_template_is_configurable_for_the_older_da_t_22_form():
    data = sample(fonds={"code": "Z109", "name": "某局"}, code_template="{fonds}-{class}·{year}-{retention}-{unit}-{volume:04}")
    data["classes"].append({"code": "WS", "name": "文书", "items": ["X-*"],
                            "retention": {"approved": "Y", "denied": "Y", "not_accepted": "Y"}})
    data["catalogues"].append({"number": 20, "class": "WS", "retention": "Y"})
    scheme = sc.from_config(data)
    assert scheme.archival_code(class_code="WS", year=2011, retention="Y", catalogue=20, volume=1,
                                unit="BGS") == "Z109-WS·2011-Y-BGS-0001"


def test_unknown_field_in_the_code_template_is_a_config_error():
    with pytest.raises(ConfigError) as err:
        sc.from_config(sample(code_template="{fonds}-{klass}-{volume:04}"))
    assert err.value.field == "archive.code_template"
    assert "klass" in err.value.message and err.value.exit_code == 2


def test_scheme_that_does_not_validate_names_the_field():
    data = sample()
    data["classes"][0]["retention"]["approved"] = "D"
    with pytest.raises(ConfigError) as err:
        sc.from_config(data)
    assert err.value.field == "classes[0].retention.approved"
    assert err.value.exit_code == 2


def test_missing_archive_section_says_what_to_do():
    with pytest.raises(ConfigError) as err:
        sc.from_config(None)
    assert err.value.field == "archive" and "sample_archive.json" in err.value.hint


def test_catalogue_of_an_unknown_class_and_a_number_used_twice_are_refused():
    data = sample()
    data["catalogues"].append({"number": 50, "class": "NO·SUCH", "retention": "D10"})
    with pytest.raises(ConfigError, match="NO·SUCH"):
        sc.from_config(data)
    data = sample()
    data["catalogues"].append({"number": 1, "class": "XK·JS", "retention": "D30", "year": 2027})
    with pytest.raises(ConfigError) as err:
        sc.from_config(data)
    assert "目录号 1" in err.value.message


def test_duplicate_class_codes_are_refused():
    data = sample()
    data["classes"].append(copy.deepcopy(data["classes"][0]))
    with pytest.raises(ConfigError, match="重复"):
        sc.from_config(data)


def test_a_catalogue_for_one_year_wins_over_the_general_one():
    data = sample()
    data["catalogues"].append({"number": 31, "class": "XK·ZC", "retention": "D30", "year": 2027})
    scheme = sc.from_config(data)
    assert scheme.catalogue_for("XK·ZC", 2027, "D30").number == 31
    assert scheme.catalogue_for("XK·ZC", 2026, "D30").number == 1


def test_item_patterns_and_exact_codes():
    data = sample()
    data["classes"].append({"code": "QT", "name": "其他", "items": ["SJ-*"],
                            "retention": {"approved": "D10", "denied": "D10", "not_accepted": "D10"}})
    data["catalogues"].append({"number": 40, "class": "QT", "retention": "D10"})
    scheme = sc.from_config(data)
    assert scheme.class_for_item("SJ-XK-001").code == "XK·ZC"  # the exact code wins
    assert scheme.class_for_item("SJ-QT-999").code == "QT"


def test_unclassified_item_is_an_input_error_naming_the_class():
    scheme = sc.from_config(SAMPLE)
    with pytest.raises(InputError) as err:
        scheme.place("ZZ-XK-999", "approved", 2026)
    assert err.value.field == "class" and "ZZ-XK-999" in err.value.message


def test_missing_catalogue_is_an_input_error_naming_the_catalogue():
    data = sample()
    data["catalogues"] = [c for c in data["catalogues"] if c["number"] != 2]
    with pytest.raises(InputError) as err:
        sc.from_config(data).place("SJ-XK-001", "denied", 2026)
    assert err.value.field == "catalogue"


def test_check_reports_unclassified_and_ambiguous_items_and_missing_catalogues(session):
    data = session.ws.data["archive"]
    data["classes"][0]["items"] = ["SJ-XK-001"]  # leaves SJ-XK-002 out
    data["classes"][1]["items"].append("ZJ-XK-001")  # also in XK·JS
    data["catalogues"] = [c for c in data["catalogues"] if c["number"] != 12]
    report = sc.check(session)
    kinds = {(p.kind, p.subject) for p in report.problems}
    assert ("unclassified", "SJ-XK-002") in kinds
    assert ("ambiguous", "ZJ-XK-001") in kinds
    assert ("no_catalogue", "BA:D10") in kinds
    assert not report.ok
    assert report.to_dict()["problems"][0].keys() == {"kind", "subject", "message"}


def test_check_warns_about_a_code_template_that_cannot_tell_volumes_apart(session):
    session.ws.data["archive"]["code_template"] = "{fonds}-{class}-{volume:04}"
    report = sc.check(session)
    [problem] = [p for p in report.problems if p.kind == "template"]
    assert "year" in problem.message and "catalogue" in problem.message


def test_retention_text_and_years():
    assert sc.retention_text("Y") == "永久"
    assert sc.retention_text("D30") == "定期30年"
    assert sc.retention_years("D10") == 10 and sc.retention_years("Y") is None
    with pytest.raises(InputError):
        sc.retention_text("D")


def test_volume_folder_stays_inside_the_documents_folder():
    scheme = sc.from_config(sample(volume_path="volumes/{fonds}/../../{code}"))
    with pytest.raises(ConfigError):
        scheme.volume_folder("X", class_code="XK·ZC", year=2026, retention="D30", catalogue=1, volume=1)
