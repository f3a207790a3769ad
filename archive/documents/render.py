"""DOCX notices: render the docxtpl templates, and write files without ever overwriting.

:func:`render_notice` fills ``templates/<kind>.docx`` with a context that
``schemas/<kind>.json`` describes exactly, places the unit's seal as a floating picture and
writes the .docx atomically. Rendering is docxtpl's (its ``patch_xml`` gives ``{%p``,
``{%tr`` and ``{{r`` their usual meaning) with ``autoescape=True`` and a strict undefined,
so ``甲&乙<联合体>公司`` prints intact and a missing variable is an error, never a blank.

Speed: loading a template with python-docx and saving a whole package costs tens of
milliseconds, so each template is loaded and patched once and its Jinja template compiled
once (cached, reloaded when the file changes). A render then only runs Jinja over the
document XML, deflates that one part and writes a ZIP whose other members are copied in
their already-compressed form. The seal image is added once per (template, image) as a
media part and a relationship; each render only emits the drawing that refers to it.

Also here, for the rest of the library: :func:`atomic_write_bytes` and :func:`publish`
(temporary file in the same folder, then a link that fails if the target exists),
:func:`sha256_file`, :func:`format_cn_date` and :func:`template_variables`.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import itertools
import os
import posixpath
import re
import secrets
import struct
import threading
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.config import describe_schema_error, json_path, schemas_dir, templates_dir
from ..core.errors import ArchiveError, ConfigError, InputError, StateError, StorageError, from_environment
from ..core.validate import format_cn_date

__all__ = [
    "atomic_write_bytes",
    "format_cn_date",
    "publish",
    "render_notice",
    "sha256_file",
    "template_variables",
]

#: zlib level for the rendered document part (the level zipfile uses by default).
DEFLATE_LEVEL = 6
#: Width of the seal on paper unless the unit sets its own (``units[].seal_size_mm``); the
#: height follows the image's aspect ratio.
SEAL_WIDTH_MM = 42
EMU_PER_MM = 36000
#: How far below the top of the blank line that precedes the organ name the seal's top sits:
#: just clear of the last line of body text, within one line of it (GB/T 9704 7.3.5.1).
SEAL_GAP_MM = 1.5
_DEFAULT_LINE_PITCH_EMU = 367665  # 28.95 pt, GB/T 9704's 22 lines a page

_XML_DECLARATION = "<?xml version='1.0' encoding='UTF-8' standalone='yes'?>\n"
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_KIND = re.compile(r"^[a-z][a-z0-9_]*$")


# --------------------------------------------------------------------------- files

def publish(temp: Path, target: Path, *, field: str = "out_path") -> Path:
    """Move the finished file ``temp`` to ``target``; an existing ``target`` is an error.

    A hard link is atomic and fails when the target exists, so two writers can never
    replace each other's file. File systems without hard links fall back to a check and
    a rename.
    """
    temp, target = Path(temp), Path(target)
    try:
        os.link(temp, target)
    except FileExistsError:
        raise _exists_error(target, field) from None
    except OSError:
        if target.exists():
            raise _exists_error(target, field) from None
        os.replace(temp, target)
    else:
        temp.unlink()
    return target


def atomic_write_bytes(path: str | os.PathLike, data: bytes, *, fsync: bool = True,
                       field: str = "out_path") -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder.

    Creates missing parent folders. Raises :class:`StateError` if ``path`` exists: files
    are never replaced. ``fsync`` flushes the data to disk before the file appears.
    """
    path = Path(path)
    if path.exists():
        raise _exists_error(path, field)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # os.open with 0o666 lets the umask decide the mode, as for any new file.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        return publish(temp, path, field=field)
    except OSError as exc:
        # Said of the file the user asked for, not of our temporary one.
        raise _write_error(exc, path, field) from None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)


_PLACE_ERRNOS = (errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.EACCES, errno.EPERM, errno.EROFS,
                 errno.ENAMETOOLONG, errno.EINVAL)


def _write_error(exc: OSError, path: Path, field: str) -> ArchiveError:
    """A failed write said in Chinese: a place that cannot hold the file named by the user
    (``--out``) is bad input (exit 2); a full disk or a failing one is not (exit 1)."""
    if exc.errno in _PLACE_ERRNOS:
        why = {errno.EACCES: "没有写入权限", errno.EPERM: "不允许写入", errno.EROFS: "所在磁盘是只读的",
               errno.ENAMETOOLONG: "文件名太长"}.get(exc.errno, "这个位置不能建立文件")
        cls = InputError if field == "out" else StorageError
        return cls(f"无法写入“{path}”：{why}", field=field, hint="换一个可以写入的文件夹，例如工作区的 documents 目录")
    exc.filename = str(path)
    error = from_environment(exc)
    error.field = field
    return error


def _exists_error(target: Path, field: str) -> StateError:
    return StateError(
        f"目标文件已存在：{target}",
        field=field,
        hint="已有文件不会被覆盖；如需重新打印请使用补打，或先把原文件移走。",
    )


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, as 64 lowercase hex digits."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


# --------------------------------------------------------------------------- templates

def _template_path(kind: str) -> Path:
    path = templates_dir() / f"{kind}.docx" if _KIND.match(str(kind)) else None
    if path is None or not path.is_file():
        known = sorted(p.stem for p in templates_dir().glob("*.docx"))
        raise InputError(f"没有“{kind}”这种文书模板；可用的文书种类：{'、'.join(known) or '（无）'}",
                         field="kind", hint=f"模板目录：{templates_dir()}")
    return path


def _jinja_env():
    from jinja2 import Environment, StrictUndefined

    return Environment(autoescape=True, undefined=StrictUndefined)


def template_variables(kind: str) -> set[str]:
    """The top-level variables ``templates/<kind>.docx`` uses (docxtpl's own analysis)."""
    from docxtpl import DocxTemplate

    return set(DocxTemplate(_template_path(kind)).get_undeclared_template_variables(
        jinja_env=_jinja_env()))


@dataclass(frozen=True)
class _Member:
    """One ZIP member ready to copy: its local record and central directory entry (whose
    last field, the local record's offset, is only known when the archive is laid out)."""

    local: bytes
    central_head: bytes
    name: bytes


def _dos_datetime(date_time) -> tuple[int, int]:
    y, mo, d, h, mi, s = date_time
    return (h << 11) | (mi << 5) | (s // 2), ((max(y, 1980) - 1980) << 9) | (mo << 5) | d


def _member(name: str, *, method: int, crc: int, raw: bytes, size: int, date_time,
            flags: int = 0) -> _Member:
    """Build the records of a member whose (compressed) bytes are ``raw``."""
    encoded = name.encode("utf-8")
    flags = (flags & ~0x08) | (0x800 if not name.isascii() else 0)  # sizes known: no descriptor
    if max(len(raw), size) > 0xFFFFFFFE:
        raise ConfigError(f"模板中的 {name} 过大，无法处理", field=name)
    dostime, dosdate = _dos_datetime(date_time)
    local = struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, flags, method, dostime, dosdate,
                        crc, len(raw), size, len(encoded), 0) + encoded + raw
    central_head = struct.pack("<4s4B4HL2L5HL", b"PK\x01\x02", 20, 0, 20, 0, flags, method,
                               dostime, dosdate, crc, len(raw), size, len(encoded), 0, 0, 0, 0, 0)
    return _Member(local, central_head, encoded)


def _deflated(name: str, data: bytes, date_time) -> _Member:
    comp = zlib.compressobj(DEFLATE_LEVEL, zlib.DEFLATED, -15)
    raw = comp.compress(data) + comp.flush()
    return _member(name, method=8, crc=zlib.crc32(data), raw=raw, size=len(data),
                   date_time=date_time)


def _zip_bytes(members: list[_Member]) -> bytes:
    """Lay out members in order, then the central directory and its end record."""
    out, central, offset = [], [], 0
    for m in members:
        out.append(m.local)
        central.append(m.central_head + struct.pack("<L", offset) + m.name)
        offset += len(m.local)
    directory = b"".join(central)
    out.append(directory)
    out.append(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members),
                           len(directory), offset, 0))
    return b"".join(out)


class _SealRun:
    """The drawing run for ``{{r seal }}``; each use gets its own drawing id."""

    __slots__ = ("_xml", "_ids")

    def __init__(self, xml: str, ids):
        self._xml = xml
        self._ids = ids

    def __html__(self) -> str:
        return self._xml.replace("@@ID@@", str(next(self._ids)))

    __str__ = __html__


_A = "http://schemas.openxmlformats.org/drawingml/2006/main"
_PIC = "http://schemas.openxmlformats.org/drawingml/2006/picture"
_WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_IMAGE_REL = _R + "/image"

_ANCHOR = (
    '<w:r><w:rPr><w:noProof/></w:rPr><w:drawing>'
    '<wp:anchor xmlns:wp="{wp}" distT="0" distB="0" distL="0" distR="0" simplePos="0" '
    'relativeHeight="251659264" behindDoc="1" locked="0" layoutInCell="1" allowOverlap="1">'
    '<wp:simplePos x="0" y="0"/>'
    '<wp:positionH relativeFrom="margin"><wp:posOffset>{x}</wp:posOffset></wp:positionH>'
    '<wp:positionV relativeFrom="paragraph"><wp:posOffset>{y}</wp:posOffset></wp:positionV>'
    '<wp:extent cx="{cx}" cy="{cy}"/><wp:effectExtent l="0" t="0" r="0" b="0"/><wp:wrapNone/>'
    '<wp:docPr id="@@ID@@" name="印章 @@ID@@" descr="印章"/>'
    '<wp:cNvGraphicFramePr><a:graphicFrameLocks xmlns:a="{a}" noChangeAspect="1"/>'
    '</wp:cNvGraphicFramePr>'
    '<a:graphic xmlns:a="{a}"><a:graphicData uri="{pic}"><pic:pic xmlns:pic="{pic}">'
    '<pic:nvPicPr><pic:cNvPr id="0" name="{name}"/><pic:cNvPicPr/></pic:nvPicPr>'
    '<pic:blipFill><a:blip xmlns:r="{r}" r:embed="{rid}"/><a:stretch><a:fillRect/></a:stretch>'
    '</pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
    '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData>'
    '</a:graphic></wp:anchor></w:drawing></w:r>'
)


@dataclass(frozen=True)
class _Package:
    """The template's static members with one seal image registered, and its drawing XML."""

    static: list  # list[_Member]
    anchor_xml: str


class _CompiledTemplate:
    """One template loaded, patched and compiled once; renders a notice per call."""

    def __init__(self, kind: str, path: Path):
        import zipfile

        from docx.opc.oxml import parse_xml
        from docxtpl import DocxTemplate
        from jinja2 import TemplateError

        self.kind = kind
        self.path = path
        tpl = DocxTemplate(path)
        tpl.init_docx()
        doc = tpl.docx
        self._resolve_listing = tpl.resolve_listing
        env = _jinja_env()
        main_name = doc.part.partname.lstrip("/")
        self._main_dir = posixpath.dirname(main_name)
        self._rels_name = posixpath.join(self._main_dir, "_rels",
                                         posixpath.basename(main_name) + ".rels")
        sources = {main_name: tpl.xml_to_string(doc.element)}
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            for info in infos:
                if re.fullmatch(r"word/(header|footer)\d*\.xml", info.filename):
                    blob = zf.read(info)
                    if b"{{" in blob or b"{%" in blob:
                        # As docxtpl does: reparse without the whitespace between tags.
                        sources[info.filename] = tpl.xml_to_string(parse_xml(blob))
            try:
                self._dynamic = {}
                for name, xml in sources.items():
                    patched = tpl.patch_xml(xml)
                    self._dynamic[name] = (env.from_string(patched), "<wp:docPr" in patched)
            except TemplateError as exc:
                raise ConfigError(f"模板 {path.name} 中的标记有误：{exc}", field=str(path),
                                  hint="请检查 {{ }} 与 {% %} 是否成对，或重新运行 "
                                       "tools/build_templates.py") from None
            self._infos = {i.filename: i for i in infos}
            self._order = [i.filename for i in infos]
            self._raw = {}
            with open(path, "rb") as fp:
                for info in infos:
                    if info.filename not in self._dynamic:
                        self._raw[info.filename] = _read_raw(fp, info)
            self._text = {name: zf.read(name).decode("utf-8")
                          for name in ("[Content_Types].xml", self._rels_name, _CORE)
                          if name in self._infos}
        self._geometry = _seal_geometry(doc)
        self._packages: dict[tuple, _Package] = {}
        self._plain: _Package | None = None
        self._lock = threading.Lock()

    def _static_members(self, changed: dict | None = None) -> list:
        """The template's own members in order, the rendered parts left out, ``changed`` ones replaced."""
        changed = changed or {}
        out = []
        for name in self._order:
            if name in self._dynamic:
                continue
            info = self._infos[name]
            if name in changed:
                out.append(_deflated(name, changed[name], info.date_time))
            else:
                out.append(_member(name, method=info.compress_type, crc=info.CRC, raw=self._raw[name],
                                   size=info.file_size, date_time=info.date_time, flags=info.flag_bits))
        return out

    def plain_package(self) -> _Package:
        """The package with no seal image (forms and lists), made once."""
        if self._plain is None:
            self._plain = _Package(self._static_members(), "")
        return self._plain

    # -- seal registration ---------------------------------------------------------------

    def package(self, seal_path: str, width_mm: float = SEAL_WIDTH_MM) -> _Package:
        try:
            st = os.stat(seal_path)
        except OSError:
            raise InputError(f"找不到印章图片：{seal_path}", field="seal",
                             hint="请在单位设置中配置印章图片的路径（PNG 或 JPEG）") from None
        key = (os.path.abspath(seal_path), st.st_mtime_ns, st.st_size, width_mm)
        package = self._packages.get(key)
        if package is None:
            with self._lock:
                package = self._packages.get(key) or self._register_seal(seal_path, width_mm)
                if len(self._packages) >= 32:
                    self._packages.pop(next(iter(self._packages)))
                self._packages[key] = package
        return package

    def _register_seal(self, seal_path: str, width_mm: float) -> _Package:
        from docx.image.exceptions import UnrecognizedImageError
        from docx.image.image import Image

        try:
            blob = Path(seal_path).read_bytes()
            image = Image.from_blob(blob)
        except OSError as exc:
            raise InputError(f"无法读取印章图片 {seal_path}：{exc.strerror or exc}",
                             field="seal") from None
        except (UnrecognizedImageError, ValueError, IndexError, struct.error):  # truncated too
            raise InputError(f"无法识别印章图片的格式：{seal_path}", field="seal",
                             hint="请使用 PNG 或 JPEG 格式的印章图片") from None
        digest = hashlib.sha256(blob).hexdigest()[:16]
        ext = image.ext
        media = f"word/media/seal_{digest}.{ext}"
        rid = "rIdSeal"
        rels = self._text[self._rels_name]
        while f'Id="{rid}"' in rels:
            rid += "X"
        target = posixpath.relpath(media, self._main_dir or ".")
        rels = rels.replace("</Relationships>",
                            f'<Relationship Id="{rid}" Type="{_IMAGE_REL}" Target="{target}"/>'
                            "</Relationships>")
        types = self._text["[Content_Types].xml"]
        if not re.search(rf'<Default Extension="{ext}"', types, re.IGNORECASE):
            types = re.sub(r"(<Types\b[^>]*>)",
                           rf'\1<Default Extension="{ext}" ContentType="{image.content_type}"/>',
                           types, count=1)
        changed = {"[Content_Types].xml": types.encode("utf-8"),
                   self._rels_name: rels.encode("utf-8")}
        static = self._static_members(changed)
        date_time = self._infos[next(iter(self._dynamic))].date_time
        static.append(_member(media, method=0, crc=zlib.crc32(blob), raw=blob, size=len(blob),
                              date_time=date_time))

        x_centre, top = self._geometry
        cx = round(width_mm * EMU_PER_MM)
        cy = round(cx * image.px_height / image.px_width)
        # The seal's top sits just below the top of the blank line above the organ name,
        # whatever its size: a larger seal reaches further down, never up into the body.
        anchor = _ANCHOR.format(wp=_WP, a=_A, pic=_PIC, r=_R, rid=rid, cx=cx, cy=cy,
                                x=round(x_centre - cx / 2), y=round(SEAL_GAP_MM * EMU_PER_MM + top),
                                name=f"seal.{ext}")
        return _Package(static, anchor)

    # -- rendering -----------------------------------------------------------------------

    def render(self, context: dict, package: _Package, properties: dict | None = None) -> bytes:
        from jinja2 import TemplateError, UndefinedError

        # Drawing ids must be unique in the document; like docxtpl, number from 1001.
        ids = itertools.count(1001)
        ctx = dict(context)
        ctx["seal"] = _SealRun(package.anchor_xml, ids)
        members = list(package.static)
        if properties and _CORE in self._text:
            core = _core_properties(self._text[_CORE], properties)
            encoded = _CORE.encode()
            members = [_deflated(_CORE, core, self._infos[_CORE].date_time) if m.name == encoded else m
                       for m in members]
        for name, (template, renumber) in self._dynamic.items():
            try:
                xml = template.render(ctx)
            except UndefinedError as exc:
                field = _undefined_name(str(exc))
                raise InputError(
                    f"模板 {self.kind}.docx 使用了字段 {field}，但数据中没有提供",
                    field=field,
                    hint=f"请补全该字段；若数据无误，请核对 schemas/{self.kind}.json 与模板是否一致",
                ) from None
            except TemplateError as exc:
                raise ConfigError(f"模板 {self.kind}.docx 渲染失败：{exc}",
                                  field=str(self.path)) from None
            xml = (xml.replace("{_{", "{{").replace("}_}", "}}")
                   .replace("{_%", "{%").replace("%_}", "%}"))
            if "\n" in xml or "\t" in xml:
                # Line breaks and tabs inside values become <w:br/> and <w:tab/>.
                xml = self._resolve_listing(xml)
            if renumber:  # the template has pictures of its own, repeated by the loop
                xml = re.sub(r'(<wp:docPr\b[^>]*?\bid=")\d+',
                             lambda m: m.group(1) + str(next(ids)), xml)
            members.append(_deflated(name, (_XML_DECLARATION + xml).encode("utf-8"),
                                     self._infos[name].date_time))
        return _zip_bytes(members)


_CORE = "docProps/core.xml"
_CORE_FIELDS = {"title": "dc:title", "subject": "dc:subject", "author": "dc:creator", "keywords": "cp:keywords",
                "description": "dc:description"}


def _core_properties(xml: str, properties: dict) -> bytes:
    """The template's core properties with ``properties`` (title, subject, author,
    keywords, description) put in: LibreOffice carries them into the PDF's document
    information and its XMP metadata alike, as PDF/A wants them to agree."""
    from xml.sax.saxutils import escape

    for key, tag in _CORE_FIELDS.items():
        if key not in properties:
            continue
        element = f"<{tag}>{escape(str(properties[key] or ''))}</{tag}>"
        pattern = rf"<{tag}\s*/>|<{tag}>.*?</{tag}>"
        if re.search(pattern, xml, flags=re.S):
            xml = re.sub(pattern, lambda _m: element, xml, count=1, flags=re.S)
        else:
            xml = xml.replace("</cp:coreProperties>", element + "</cp:coreProperties>")
    return xml.encode("utf-8")


def _read_raw(fp, info) -> bytes:
    """The compressed bytes of a member, read past its local header."""
    fp.seek(info.header_offset)
    header = fp.read(30)
    if header[:4] != b"PK\x03\x04":
        raise ConfigError(f"模板文件已损坏（{info.filename}）", field=info.filename)
    name_len, extra_len = struct.unpack("<2H", header[26:30])
    fp.seek(info.header_offset + 30 + name_len + extra_len)
    return fp.read(info.compress_size)


def _seal_geometry(doc) -> tuple[int, int]:
    """Where the seal goes, from the paragraph holding ``{{r seal }}``: the horizontal
    centre of the organ name (EMU from the left margin: the paragraph style's centre tab
    stop, else the middle of its text area) and the top of the blank line above the organ
    name relative to the paragraph (0 when the paragraph opens with that blank line, one
    line up when the blank line is the paragraph before)."""
    from docx.enum.text import WD_TAB_ALIGNMENT

    section = doc.sections[-1]
    text_width = section.page_width - section.left_margin - section.right_margin
    para = next((p for p in doc.paragraphs if "seal" in p.text and "{{" in p.text), None)
    if para is None:
        return text_width // 2, -_DEFAULT_LINE_PITCH_EMU
    centre_tab = None
    style = para.style
    while style is not None and centre_tab is None:
        centre_tab = next((t.position for t in style.paragraph_format.tab_stops
                           if t.alignment == WD_TAB_ALIGNMENT.CENTER), None)
        style = style.base_style

    def effective(attr):
        value = getattr(para.paragraph_format, attr)
        style = para.style
        while value is None and style is not None:
            value = getattr(style.paragraph_format, attr)
            style = style.base_style
        return value

    left = effective("left_indent") or 0
    right = effective("right_indent") or 0
    pitch = effective("line_spacing")
    if not isinstance(pitch, int) or pitch <= 0:  # a multiple of single spacing, not a Length
        pitch = _DEFAULT_LINE_PITCH_EMU
    top = 0 if re.sub(r"^\{\{r\s*seal\s*\}\}", "", para.text).startswith("\n") else -int(pitch)
    if centre_tab is not None and "\t" in para.text:
        return int(centre_tab), top
    return left + (text_width - left - right) // 2, top


def _undefined_name(message: str) -> str:
    m = re.search(r"has no attribute '([^']+)'", message) or re.search(r"'([^']+)' is undefined",
                                                                        message)
    return m.group(1) if m else message


# --------------------------------------------------------------------------- validation

class _Validator:
    def __init__(self, kind: str, schema_path: Path):
        import json

        import jsonschema

        self.kind = kind
        self.depends = [schema_path]
        docs: dict[str, Any] = {}

        def load(name: str):
            if name not in docs:
                path = schema_path.parent / name
                try:
                    docs[name] = json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise ConfigError(f"无法读取模板字段定义 {path}：{exc}", field=str(path)) from None
                if path not in self.depends:
                    self.depends.append(path)
            return docs[name]

        # jsonschema resolves a $ref on every validation, which costs more than the
        # checks themselves; the notice schemas are not recursive, so inline them once.
        schema = _inline_refs(load(schema_path.name), schema_path.name, load)
        self._validator = jsonschema.Draft202012Validator(schema)

    def check(self, context: Any) -> None:
        from jsonschema.exceptions import best_match

        error = best_match(self._validator.iter_errors(context))
        if error is not None:
            field, message = describe_schema_error(error, f"{self.kind} 模板")
            raise InputError(message, field=field)
        bad = _find_control_char(context, [])
        if bad is not None:
            field = json_path(bad)
            raise InputError(f"字段 {field} 含有不可打印的控制字符", field=field,
                             hint="请删除该字段中的控制字符后重试")


def _inline_refs(node: Any, doc: str, load, depth: int = 0) -> Any:
    """``node`` (from file ``doc``) with every ``$ref`` replaced by the schema it names;
    ``load(name)`` returns a schema file's contents. Sibling keywords of a ``$ref``
    (a description) are kept."""
    if depth > 50:
        raise ConfigError(f"模板字段定义 {doc} 中的 $ref 循环引用", field=doc)
    if isinstance(node, list):
        return [_inline_refs(v, doc, load, depth + 1) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict = {}
    ref = node.get("$ref")
    if isinstance(ref, str):
        name, _, pointer = ref.partition("#")
        target_doc = name.rsplit("/", 1)[-1] or doc
        target = load(target_doc)
        try:
            for key in filter(None, pointer.split("/")):
                target = target[key.replace("~1", "/").replace("~0", "~")]
        except (KeyError, TypeError):
            raise ConfigError(f"模板字段定义 {doc} 引用了不存在的定义 {ref}", field=doc) from None
        out.update(_inline_refs(target, target_doc, load, depth + 1))
    for key, value in node.items():
        if key not in ("$ref", "$defs"):
            out[key] = _inline_refs(value, doc, load, depth + 1)
    return out


def _find_control_char(value: Any, path: list) -> list | None:
    if isinstance(value, str):
        return path if _CONTROL_CHARS.search(value) else None
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _find_control_char(item, path + [key])
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------- render

_cache: dict[str, tuple[tuple, _CompiledTemplate, _Validator]] = {}
_cache_lock = threading.Lock()


def _stamp(paths) -> tuple:
    out = []
    for p in paths:
        try:
            st = os.stat(p)
            out.append((str(p), st.st_mtime_ns, st.st_size))
        except OSError:
            out.append((str(p), None, None))
    return tuple(out)


def _compiled(kind: str) -> tuple[_CompiledTemplate, _Validator]:
    """The cached template and validator of ``kind``, reloaded when a file changed."""
    template_path = _template_path(kind)
    schema_path = schemas_dir() / f"{kind}.json"
    entry = _cache.get(kind)
    if entry is not None:
        stamp, template, validator = entry
        if stamp == _stamp([template_path, *validator.depends]):
            return template, validator
    with _cache_lock:
        if not schema_path.is_file():
            raise ConfigError(f"模板 {kind}.docx 缺少字段定义 {schema_path}", field=str(schema_path))
        validator = _Validator(kind, schema_path)
        template = _CompiledTemplate(kind, template_path)
        _cache[kind] = (_stamp([template_path, *validator.depends]), template, validator)
    return template, validator


def render_notice(kind: str, context: dict, out_path: str | os.PathLike, *,
                  seal_mm: float = SEAL_WIDTH_MM, properties: dict | None = None) -> Path:
    """Render ``templates/<kind>.docx`` with ``context`` and write it to ``out_path``.

    ``context`` must match ``schemas/<kind>.json`` exactly; ``context["seal"]`` is the path
    of the seal image, placed as a floating picture centred over the organ name and date
    of every part, ``seal_mm`` wide (the unit's seal size); ``properties`` (title, subject,
    author, keywords, description) replace the template's document properties. Raises
    :class:`InputError` naming the field (``applicant.name``, ``materials[0].copies``) for
    bad or missing data, :class:`StateError` if ``out_path`` exists (it is never replaced).
    Returns ``out_path``.
    """
    out_path = Path(out_path)
    template, validator = _compiled(kind)
    validator.check(context)
    if out_path.exists():
        raise _exists_error(out_path, "out_path")
    data = template.render(context, template.package(context["seal"], seal_mm), properties)
    return atomic_write_bytes(out_path, data, fsync=False)


def render_document(kind: str, context: dict, out_path: str | os.PathLike, *, field: str = "out_path",
                    properties: dict | None = None) -> Path:
    """Render ``templates/<kind>.docx``, a template without a seal (the archive's forms),
    with ``context`` and write it to ``out_path``; same checks as :func:`render_notice`.
    ``field`` names the path in errors (``out`` when the user chose it); ``properties``
    (title, subject, author, keywords, description) replace the template's document
    properties."""
    out_path = Path(out_path)
    template, validator = _compiled(kind)
    validator.check(context)
    if out_path.exists():
        raise _exists_error(out_path, field)
    return atomic_write_bytes(out_path, template.render(context, template.plain_package(), properties),
                              fsync=False, field=field)
