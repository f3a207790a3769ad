"""archive.documents.fonts and ``archive fonts``: which face draws each document font."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.commands.main import main
from archive.documents import fonts
from archive.documents.office import PdfConverter, libreoffice_available

from .test_converter import make_docx

needs_fontconfig = pytest.mark.skipif(shutil.which("fc-match") is None and os.environ.get("CI") != "true",
                                      reason="fontconfig 的 fc-match 未安装")


def renamed_noto(path: Path, family: str, postscript: str) -> Path:
    """Noto Serif CJK SC under another family name, as a centre's licensed font would be."""
    from fontTools.ttLib import newTable
    from fontTools.ttLib.sfnt import SFNTReader, SFNTWriter

    source = next(d / "NotoSerifCJK-Regular.ttc" for d in fonts.NOTO_DIRS if (d / "NotoSerifCJK-Regular.ttc").is_file())
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(source, "rb") as src, open(path, "wb") as out:
        reader = SFNTReader(src, fontNumber=2)
        name = newTable("name")
        name.decompile(reader["name"], None)
        for record in name.names:
            if record.nameID in (1, 4, 16):
                record.string = family
            elif record.nameID == 6:
                record.string = postscript
        writer = SFNTWriter(out, numTables=len(reader.tables), sfntVersion=reader.sfntVersion)
        for tag in sorted(reader.keys()):
            data = name.compile(None) if tag == "name" else reader[tag]
            if tag == "CFF ":  # the name LibreOffice embeds is the font program's (same length)
                data = data.replace(b"NotoSerifCJKjp", b"FangSongGB2312")
            writer[tag] = data
        writer.close()
    return path


@needs_fontconfig
def test_free_fallbacks_with_a_bold_title_under_simplified_chinese_names(tmp_path):
    report = {r.font: r for r in fonts.report(workspace_fonts=tmp_path / "none", cache=tmp_path / "cache")}
    assert report["仿宋"].family == "Noto Serif CJK SC" and report["仿宋"].style == "Regular"
    assert report["仿宋_GB2312"].family == "Noto Serif CJK SC"
    assert report["方正小标宋简体"].family == "Noto Serif CJK SC" and report["方正小标宋简体"].style == "Bold"
    assert report["黑体"].family == "Noto Sans CJK SC"
    assert not any(r.installed for r in report.values())
    # The faces drawn are standalone SC files whose font program carries the SC name.
    assert all("jp" not in r.postscript.lower() for r in report.values())
    assert all(Path(r.file).parent == tmp_path / "cache" / f"fonts-{fonts._FORMAT}" for r in report.values())


@needs_fontconfig
def test_a_font_the_centre_installs_comes_first(tmp_path):
    folder = tmp_path / "fonts"
    renamed_noto(folder / "fangsong.otf", "仿宋_GB2312", "FangSong_GB2312-Test")
    report = {r.font: r for r in fonts.report(workspace_fonts=folder, cache=tmp_path / "cache")}
    for name in ("仿宋", "仿宋_GB2312"):
        assert report[name].family == "仿宋_GB2312" and report[name].installed, report[name]
    assert not report["方正小标宋简体"].installed and report["方正小标宋简体"].style == "Bold"
    if not libreoffice_available():
        if os.environ.get("CI") == "true":
            pytest.fail("CI 环境必须安装 LibreOffice")
        return
    from pypdf import PdfReader

    source = make_docx(tmp_path / "n.docx")
    with PdfConverter(workspace_fonts=folder) as converter:
        converter.convert(source, tmp_path / "n.pdf")
    names = {str(f.get_object()["/BaseFont"]) for page in PdfReader(tmp_path / "n.pdf").pages
             for f in page["/Resources"]["/Font"].values()}
    assert any("FangSongGB2312" in n for n in names), names  # the body in the centre's face
    assert any("NotoSerifCJKsc-Bold" in n for n in names), names  # the title still in the bold fallback


@needs_fontconfig
def test_archive_fonts_command(home):
    env = {"ARCHIVE_HOME": str(home)}
    result = CliRunner().invoke(main, ["fonts"], env=env)
    assert result.exit_code == 0, result.output
    assert f"字体目录：{home / 'fonts'}" in result.output
    assert "方正小标宋简体（标题）→ Noto Serif CJK SC Bold［替代字体］" in result.output
    assert "仿宋（正文）→ Noto Serif CJK SC Regular［替代字体］" in result.output
    data = json.loads(CliRunner().invoke(main, ["fonts", "--json"], env=env).output)
    assert {d["font"] for d in data} >= {"仿宋", "仿宋_GB2312", "方正小标宋简体", "黑体"}
