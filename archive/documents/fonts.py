"""Which face draws each font the documents name, when LibreOffice makes a PDF.

The templates name the fonts of Chinese official documents — 仿宋 (仿宋_GB2312) for the
body, 方正小标宋简体 for titles, 黑体 for table heads — because that is what Word and WPS on
the clerks' PCs have. A Linux server has none of them. For PDF output, in this order:

1. fonts the centre installs in the workspace's ``fonts/`` folder (licensed faces it owns:
   仿宋_GB2312.ttf, 方正小标宋简体.ttf …): any face whose family name is one of a group's
   names stands in for every name of that group;
2. otherwise the free fallbacks of Debian's fonts-noto-cjk: Noto Serif CJK SC for the
   serif groups, **bold** for titles (小标宋 is a heavy face), Noto Sans CJK SC for 黑体.

Noto's .ttc collections share one CFF font program among their Japanese, Korean and
Chinese faces, named ``NotoSerifCJKjp-Regular``; LibreOffice embeds that name in every
PDF even though it draws the Simplified Chinese glyphs. :func:`noto_sc_folder` therefore
makes, once per machine (``~/.cache/archive/fonts``), standalone OpenType files of the SC
faces whose font program carries the SC name (the names have the same length, so the
bytes are patched in place), and the LibreOffice servers see those instead of the .ttc.

:func:`fontconfig_xml` writes the rules (for the fontconfig file each LibreOffice server
gets, see :mod:`.office`); :func:`report` asks fontconfig what it resolves each document
font to under exactly those rules (``archive fonts``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: Font groups: the names documents use (first: the one our templates write), the free
#: fallback family and its weight.
GROUPS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "body": (("仿宋", "仿宋_GB2312", "FangSong", "FangSong_GB2312", "方正仿宋简体", "方正仿宋_GBK", "华文仿宋",
              "STFangsong"), "Noto Serif CJK SC", "regular"),
    "title": (("方正小标宋简体", "方正小标宋_GBK", "方正小标宋", "FZXiaoBiaoSong-B05S", "FZXiaoBiaoSong-B05",
               "华文中宋", "STZhongsong"), "Noto Serif CJK SC", "bold"),
    "song": (("宋体", "SimSun", "新宋体", "NSimSun", "方正书宋简体", "方正书宋_GBK", "华文宋体", "STSong"),
             "Noto Serif CJK SC", "regular"),
    "kai": (("楷体", "楷体_GB2312", "KaiTi", "KaiTi_GB2312", "方正楷体简体", "方正楷体_GBK", "华文楷体", "STKaiti"),
            "Noto Serif CJK SC", "regular"),
    "hei": (("黑体", "SimHei", "方正黑体简体", "方正黑体_GBK", "华文黑体", "STHeiti", "微软雅黑", "Microsoft YaHei",
             "等线", "DengXian"), "Noto Sans CJK SC", "regular"),
}
GROUP_NAMES = {"body": "正文", "title": "标题", "song": "宋体", "kai": "楷体", "hei": "表头"}
#: The fonts ``archive fonts`` reports: what the templates name.
DOCUMENT_FONTS = ("仿宋", "仿宋_GB2312", "方正小标宋简体", "黑体", "宋体", "楷体")

NOTO_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/noto-cjk"),
             Path("/usr/share/fonts/opentype/noto-cjk"))
# Collections to patch: (file, face index of Simplified Chinese, the name their CFF carries).
_NOTO_FILES = (("NotoSerifCJK-Regular.ttc", b"Serif"), ("NotoSerifCJK-Bold.ttc", b"Serif"),
               ("NotoSansCJK-Regular.ttc", b"Sans"), ("NotoSansCJK-Bold.ttc", b"Sans"))
_SC_FACE = 2  # Noto CJK collections order their faces JP, KR, SC, TC, HK
_FORMAT = 1  # part of the cache folder's name: raise it when the patching changes


def _font_families(path: Path) -> set[str]:
    """Every family name (any language) of the faces in a font file."""
    from fontTools.ttLib import TTCollection, TTFont

    try:
        if path.suffix.lower() in (".ttc", ".otc"):
            faces = TTCollection(str(path), lazy=True).fonts
        else:
            faces = [TTFont(str(path), lazy=True)]
    except Exception:  # not a font fontTools can read: fontconfig will skip it too
        return set()
    names = set()
    for face in faces:
        try:
            for record in face["name"].names:
                if record.nameID in (1, 16):
                    names.add(record.toUnicode().strip())
        except Exception:
            continue
    return names


def workspace_families(folder: Path | None) -> dict[str, Path]:
    """The families of the fonts installed in ``folder`` (the workspace's fonts/), by name."""
    found: dict[str, Path] = {}
    if folder is None or not Path(folder).is_dir():
        return found
    for path in sorted(Path(folder).rglob("*")):
        if path.suffix.lower() in (".ttf", ".otf", ".ttc", ".otc"):
            for family in _font_families(path):
                found.setdefault(family, path)
    return found


def noto_sc_folder(cache: Path | None) -> tuple[Path | None, list[Path]]:
    """The folder of SC-named Noto CJK files (made on first use) and the collections they replace.

    Returns ``(None, [])`` when there is no cache folder or no Noto collection to patch.
    """
    sources = []
    for name, _kind in _NOTO_FILES:
        for folder in NOTO_DIRS:
            if (folder / name).is_file():
                sources.append(folder / name)
                break
    if cache is None or not sources:
        return None, []
    target = Path(cache) / f"fonts-{_FORMAT}"
    made = []
    for source in sources:
        out = target / (source.stem.replace("CJK-", "CJKsc-") + ".otf")
        try:
            if not out.is_file() or out.stat().st_mtime < source.stat().st_mtime:
                _patch_sc_face(source, out)
        except OSError:
            return None, []
        made.append(source)
    return target, made


def _patch_sc_face(source: Path, out: Path) -> None:
    """Write the SC face of a Noto CJK collection as one OpenType file whose font program is
    named for SC (same-length names, so every offset stays valid)."""
    from fontTools.ttLib.sfnt import SFNTReader, SFNTWriter

    out.parent.mkdir(parents=True, exist_ok=True)
    kind = b"Serif" if b"Serif" in source.name.encode() else b"Sans"
    fd, temp = tempfile.mkstemp(prefix=".", suffix=".otf", dir=out.parent)
    try:
        with open(source, "rb") as src, os.fdopen(fd, "wb") as fh:
            reader = SFNTReader(src, fontNumber=_SC_FACE)
            writer = SFNTWriter(fh, numTables=len(reader.tables), sfntVersion=reader.sfntVersion)
            for tag in sorted(reader.keys()):
                data = reader[tag]
                if tag == "CFF ":
                    data = (data.replace(b"Noto" + kind + b"CJKjp", b"Noto" + kind + b"CJKsc")
                            .replace(b"Noto " + kind + b" CJK JP", b"Noto " + kind + b" CJK SC"))
                writer[tag] = data
            writer.close()
        os.replace(temp, out)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def fontconfig_xml(*, workspace_fonts: Path | None = None, cache: Path | None = None) -> str:
    """The body of the fontconfig file for LibreOffice: font folders and substitutions."""
    lines = []
    installed = workspace_families(workspace_fonts)
    if installed:
        lines.append(f"  <dir>{_escape(str(Path(workspace_fonts).resolve()))}</dir>")
    noto, replaced = noto_sc_folder(cache)
    if noto is not None:
        lines.append(f"  <dir>{_escape(str(noto))}</dir>")
        lines.append("  <selectfont><rejectfont>")
        lines += [f"    <glob>{_escape(str(path))}</glob>" for path in replaced]
        lines.append("  </rejectfont></selectfont>")
    for names, fallback, weight in GROUPS.values():
        own = [name for name in names if name in installed]
        for name in names:
            prefer = own + [fallback]
            if own:
                # A face the centre installed: the name itself when it has it, else the first
                # of its group; fontconfig then needs no weight of ours.
                prefer = ([name] if name in own else []) + [n for n in own if n != name] + [fallback]
            families = "".join(f"<family>{_escape(f)}</family>" for f in prefer)
            lines.append(f'  <alias binding="same"><family>{_escape(name)}</family><prefer>{families}</prefer></alias>')
        if weight == "bold" and not own:
            for name in names:
                lines.append(
                    f'  <match target="pattern"><test name="family"><string>{_escape(name)}</string></test>'
                    '<edit name="weight" mode="assign" binding="strong"><const>bold</const></edit></match>')
    return "\n".join(lines)


@dataclass(frozen=True)
class Resolution:
    """What fontconfig draws a document font with."""

    font: str
    group: str
    family: str
    style: str
    file: str
    postscript: str
    installed: bool  # from the workspace's fonts/ folder

    def to_dict(self) -> dict:
        return {"font": self.font, "group": self.group, "family": self.family, "style": self.style,
                "file": self.file, "postscript_name": self.postscript, "installed": self.installed}


def _inside(path: Path, folder: Path | None) -> bool:
    if folder is None:
        return False
    try:
        return Path(folder).resolve() in path.resolve().parents
    except OSError:
        return False


def write_config(folder: Path, *, workspace_fonts: Path | None = None, cache: Path | None = None) -> Path:
    """A complete fontconfig file in ``folder``: the system's configuration plus our rules."""
    system = os.environ.get("FONTCONFIG_FILE") or "/etc/fonts/fonts.conf"
    text = "\n".join([
        '<?xml version="1.0"?>',
        '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">',
        "<fontconfig>",
        f'  <include ignore_missing="yes">{_escape(system)}</include>',
        fontconfig_xml(workspace_fonts=workspace_fonts, cache=cache),
        "</fontconfig>",
        "",
    ])
    target = Path(folder) / "fonts.conf"
    target.write_text(text, encoding="utf-8")
    return target


def report(*, workspace_fonts: Path | None = None, cache: Path | None = None) -> list[Resolution]:
    """Which face each document font will be drawn with in PDFs, as fontconfig answers
    under the rules LibreOffice gets. Empty when fontconfig's ``fc-match`` is missing."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return []
    group_of = {name: key for key, (names, _f, _w) in GROUPS.items() for name in names}
    out = []
    with tempfile.TemporaryDirectory(prefix="archive-fonts-") as folder:
        conf = write_config(Path(folder), workspace_fonts=workspace_fonts, cache=cache)
        env = dict(os.environ, FONTCONFIG_FILE=str(conf))
        for font in DOCUMENT_FONTS:
            result = subprocess.run(
                [fc_match, "-f", "%{family[0]}\t%{style[0]}\t%{file}\t%{postscriptname}", f"{font}:lang=zh-cn"],
                capture_output=True, text=True, env=env, timeout=60)
            family, style, file, postscript = (result.stdout.split("\t") + ["", "", "", ""])[:4]
            out.append(Resolution(font=font, group=group_of.get(font, ""), family=family, style=style, file=file,
                                  postscript=postscript,
                                  installed=bool(file) and _inside(Path(file), workspace_fonts)))
    return out
