import hashlib
from pathlib import Path

import pytest
from sqlalchemy import select

from archive.shelf import fixity
from archive.core import store as st
from archive.shelf import volumes
from archive.core.errors import NotFoundError

from .test_volumes import make_concluded


@pytest.fixture
def session(archivist):
    return archivist


@pytest.fixture
def filed(session):
    return [volumes.file_case(session, make_concluded(session)) for _ in range(2)]


def files_of(v) -> list[str]:
    return [f.path for f in (*v.items, *v.forms)]


def test_an_intact_archive_verifies_clean_and_the_summary_is_kept(session, filed):
    report = fixity.verify(session)
    assert report.ok and report.problems == ()
    assert report.checked == sum(len(files_of(v)) for v in filed)
    assert report.bytes == sum(Path(p).stat().st_size for v in filed for p in files_of(v))
    assert report.to_dict() == {"checked": report.checked, "problems": []}
    last = fixity.last(session)
    assert (last.checked, last.problems, last.operator, last.scope) == (report.checked, [], "陈静", [])


def test_changed_missing_and_unexpected_files_are_each_reported(session, filed, home):
    a, b = filed
    changed, missing = a.items[0].path, b.forms[0].path
    with open(changed, "ab") as fh:
        fh.write(b"!")
    Path(missing).unlink()
    extra = Path(a.folder) / "说明.txt"
    extra.write_text("放错的文件", encoding="utf-8")
    stray = home / "documents" / "volumes" / "Z023" / "orphan.pdf"
    stray.write_bytes(b"%PDF-")
    report = fixity.verify(session)
    assert {(p.archival_code, p.path, p.problem) for p in report.problems} == {
        (a.archival_code, changed, "changed"),
        (b.archival_code, missing, "missing"),
        (a.archival_code, str(extra), "unexpected"),
        (None, str(stray), "unexpected"),
    }
    assert not report.ok
    assert fixity.last(session).problems == [p.to_dict() for p in report.problems]


def test_a_volume_with_a_problem_is_flagged_until_it_checks_clean_again(session, filed):
    a, _b = filed
    path = Path(a.items[1].path)
    original = path.read_bytes()
    path.write_bytes(original + b"x")
    fixity.verify(session)
    assert volumes.show(session, a.archival_code).state == "flagged"
    path.write_bytes(original)
    assert fixity.verify(session, [a.archival_code]).ok
    assert volumes.show(session, a.archival_code).state == "on_shelf"


def test_verify_named_volumes_only(session, filed):
    a, b = filed
    Path(b.items[0].path).unlink()
    report = fixity.verify(session, [a.archival_code])
    assert report.ok and report.checked == len(files_of(a)) and report.volumes == 1
    assert fixity.last(session).scope == [a.archival_code]


def test_unknown_code_is_an_input_error(session, filed):
    with pytest.raises(NotFoundError) as err:
        fixity.verify(session, ["Z023-XK·JY·2026·D30-003-0099"])
    assert err.value.exit_code == 2 and "0099" in err.value.message


def test_verify_without_recording_writes_nothing(session, filed):
    fixity.verify(session, record=False)
    with session.store.read() as conn:
        assert conn.execute(select(st.verifications)).first() is None


def test_hash_files_in_threads_matches_hashlib(tmp_path):
    paths = []
    for n in range(40):
        p = tmp_path / f"{n}.bin"
        p.write_bytes(bytes([n]) * (n * 5000 + 1))
        paths.append(str(p))
    paths.append(str(tmp_path / "gone.bin"))
    results = fixity.hash_files(paths, workers=4)
    for path, (digest, size) in zip(paths[:-1], results):
        data = Path(path).read_bytes()
        assert (digest, size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert results[-1] == (None, 0)
