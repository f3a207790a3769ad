"""DOCX to PDF through one long-lived LibreOffice, and PDF metadata with pypdf.

Starting LibreOffice costs seconds; converting a one-page notice in a running instance
costs a tenth of one. So a batch opens one :class:`PdfConverter`, which starts a single
unoserver (https://github.com/unoconv/unoserver) server for its lifetime and sends every
document to it::

    with PdfConverter() as converter:
        for docx in notices:
            converter.convert(docx, docx.with_suffix(".pdf"))

How the server runs, and why:

* unoserver's server must run under a Python that can ``import uno`` — on Debian that is
  ``/usr/bin/python3`` with ``python3-uno``, not the project's virtualenv. The pip-installed
  unoserver is made importable to it through a private folder holding symlinks to the
  ``unoserver`` package and its dist-info only, so the system Python does not see the
  rest of the virtualenv.
* Each converter has its own temporary folder: LibreOffice user profile
  (``-env:UserInstallation``), the fontconfig file and the server log. Ports are free
  loopback ports picked at start, so two converters (parallel tests, two clerks' batch
  jobs) do not share or fight over one LibreOffice.
* The notices name fonts Linux machines lack (仿宋, 方正小标宋简体, 黑体, 楷体).
  ``tools/fontconfig/*.conf`` maps them to Noto Serif/Sans CJK SC; the server gets a
  ``FONTCONFIG_FILE`` that includes the system configuration plus those files, so nothing
  under ``/etc`` has to change.
* The server is its own process group, and a small watchdog ends it when the process that
  started it is gone, so a crashed batch does not leave LibreOffice running.

Nothing here prints; errors are :class:`archive.errors.ConversionError` (exit 1) with a
Chinese message that says what to do.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import weakref
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from archive.errors import ConversionError, InputError, StateError

__all__ = [
    "PdfConverter",
    "libreoffice_available",
    "pdf_page_count",
    "pdf_text",
    "stamp_metadata",
]

INSTALL_HINT = (
    "请运行 make deps 安装，或执行 "
    "sudo apt-get install libreoffice-writer-nogui fonts-noto-cjk python3-uno"
)

#: Folder of fontconfig files given to LibreOffice (a source checkout has it).
FONTCONFIG_DIR = Path(__file__).resolve().parent.parent / "tools" / "fontconfig"

_SOFFICE_CANDIDATES = (
    "/usr/lib/libreoffice/program/soffice",
    "/usr/local/lib/libreoffice/program/soffice",
    "/opt/libreoffice*/program/soffice",
    "/snap/bin/libreoffice",
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
)

# Import filter forced for .docx input: left to type detection, LibreOffice opens a
# damaged .docx as plain text and "converts" the garbage into a PDF.
_DOCX_IMPORT_FILTER = "MS Word 2007 XML"

# Runs under the uno Python: end the server (unoserver forwards SIGTERM to LibreOffice)
# once the process that started it is gone, even if that process was killed outright.
_BOOTSTRAP = """\
import os, signal, sys, threading, time
parent = int(sys.argv.pop(1))
def watch():
    while os.getppid() == parent:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)
threading.Thread(target=watch, daemon=True).start()
from unoserver.server import main
sys.exit(main())
"""

_ports_lock = threading.Lock()
_ports_in_use: set[int] = set()


# --------------------------------------------------------------------------- discovery


def _find_soffice() -> str | None:
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return found
    for pattern in _SOFFICE_CANDIDATES:
        for candidate in sorted(glob.glob(pattern), reverse=True):
            if os.access(candidate, os.X_OK):
                return candidate
    return None


def _python_has_uno(python: str) -> bool:
    try:
        result = subprocess.run(
            [python, "-c", "import uno"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=30,
            env=_clean_python_env(),
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return result.returncode == 0


def _find_uno_python(soffice: str) -> str | None:
    program_dir = Path(os.path.realpath(soffice)).parent
    candidates = [
        str(program_dir / "python"),  # LibreOffice's own build from libreoffice.org
        "/usr/bin/python3",  # Debian/Ubuntu with python3-uno
        shutil.which("python3"),
        sys.executable,
    ]
    seen: set[str] = set()
    for candidate in candidates:
        if not candidate or candidate in seen or not os.access(candidate, os.X_OK):
            continue
        seen.add(candidate)
        if _python_has_uno(candidate):
            return candidate
    return None


@functools.lru_cache(maxsize=1)
def _discover() -> tuple[str | None, str | None]:
    soffice = _find_soffice()
    if soffice is None:
        return None, None
    return soffice, _find_uno_python(soffice)


def _require_libreoffice() -> tuple[str, str]:
    soffice, python = _discover()
    if soffice is None:
        raise ConversionError(
            f"未找到 LibreOffice，无法把文书转换为 PDF。{INSTALL_HINT}",
            hint="安装后重新运行本命令即可，无需其他设置。",
        )
    if python is None:
        raise ConversionError(
            "已找到 LibreOffice，但没有能加载 uno 模块的 Python（Debian 软件包 python3-uno），"
            f"无法启动 PDF 转换服务。{INSTALL_HINT}",
        )
    return soffice, python


def libreoffice_available() -> bool:
    """Return whether DOCX→PDF conversion can run on this machine.

    True when a LibreOffice ``soffice`` is found (on ``PATH`` or in the usual install
    folders), a Python that can ``import uno`` is found (Debian: ``/usr/bin/python3`` with
    ``python3-uno``), and the ``unoserver`` package is installed. The answer is cached
    for the life of the process.
    """
    try:
        _unoserver_locations()
    except ConversionError:
        return False
    soffice, python = _discover()
    return soffice is not None and python is not None


# --------------------------------------------------------------------------- helpers


def _clean_python_env() -> dict[str, str]:
    """The environment for the system Python: none of the virtualenv's settings."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONSAFEPATH"):
        env.pop(name, None)
    return env


def _unoserver_locations() -> tuple[Path, list[Path]]:
    """The installed ``unoserver`` package folder and its ``*.dist-info`` folder(s)."""
    try:
        import unoserver  # only its __init__; the client and server import lazily
    except ImportError as exc:
        raise ConversionError(
            "缺少 Python 软件包 unoserver，无法启动 PDF 转换服务。",
            hint="请在项目的虚拟环境中执行 pip install -e . 或 make deps",
        ) from exc
    package = Path(unoserver.__file__).resolve().parent
    # unoserver reads its own version from the package metadata at import time.
    dist_infos = [Path(p) for p in glob.glob(str(package.parent / "unoserver-*.dist-info"))]
    return package, dist_infos


def _reserve_port() -> int:
    """A free loopback port that no other converter of this process holds."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        with _ports_lock:
            if port not in _ports_in_use:
                _ports_in_use.add(port)
                return port


def _release_ports(ports: Iterable[int]) -> None:
    with _ports_lock:
        _ports_in_use.difference_update(ports)


def _fontconfig_file(folder: Path, extra: Sequence[Path]) -> Path:
    lines = [
        '<?xml version="1.0"?>',
        '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">',
        "<fontconfig>",
    ]
    system = os.environ.get("FONTCONFIG_FILE") or "/etc/fonts/fonts.conf"
    for path in [Path(system), *extra]:
        lines.append(f'  <include ignore_missing="yes">{_xml_escape(str(path))}</include>')
    lines.append("</fontconfig>")
    target = folder / "fonts.conf"
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return target


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _log_tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def _kill_group(pgid: int, timeout: float) -> None:
    """SIGKILL what is left of the server's process group and wait until it is gone."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)


def _stop_server(proc: subprocess.Popen | None, timeout: float = 15.0) -> None:
    if proc is None:
        return
    if proc.poll() is None:
        try:
            proc.terminate()  # unoserver passes SIGTERM on to LibreOffice
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
    # LibreOffice (oosplash, soffice.bin) may outlive the server on a crash or timeout.
    _kill_group(proc.pid, timeout=5.0)
    if proc.poll() is None:
        proc.wait(5)


def _exists_error(target: Path) -> StateError:
    return StateError(
        f"目标文件已存在：{target}",
        field="pdf_path",
        hint="已有文件不会被覆盖；请换一个文件名，或先把原文件移走。",
    )


# --------------------------------------------------------------------------- converter


class PdfConverter:
    """Converts DOCX files to PDF through one LibreOffice kept running for a batch.

    Use it as a context manager (or call :meth:`start` and :meth:`close`). The server
    starts on entry; a server that died is started again once, on the next
    :meth:`convert`. ``starts`` counts how many times a server was started.

    :param startup_timeout: seconds to wait for LibreOffice to accept documents.
    :param conversion_timeout: seconds one document may take; past that unoserver ends
        LibreOffice and the document fails (the next one gets a fresh server).
    :param fontconfig_files: fontconfig files added to the system configuration for
        LibreOffice; by default every ``*.conf`` in ``tools/fontconfig/``.
    """

    def __init__(
        self,
        *,
        startup_timeout: float = 60.0,
        conversion_timeout: int = 120,
        fontconfig_files: Sequence[str | os.PathLike] | None = None,
    ):
        self.startup_timeout = startup_timeout
        self.conversion_timeout = conversion_timeout
        if fontconfig_files is None:
            fontconfig_files = sorted(FONTCONFIG_DIR.glob("*.conf"))
        self.fontconfig_files = [Path(p).resolve() for p in fontconfig_files]
        self.starts = 0
        self._lock = threading.RLock()
        self._proc: subprocess.Popen | None = None
        self._workdir: Path | None = None
        self._ports: tuple[int, int] | None = None
        self._finalizer: weakref.finalize | None = None
        self._client = None

    # -- lifecycle

    def __enter__(self) -> PdfConverter:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def server_pid(self) -> int | None:
        """Process id of the server (also its process group id), or None when stopped."""
        return self._proc.pid if self._proc is not None else None

    def start(self) -> None:
        """Start the server unless it is already running (blocks until it is ready)."""
        with self._lock:
            if self.running:
                return
            self._shutdown()
            soffice, python = _require_libreoffice()
            package, dist_infos = _unoserver_locations()
            # A port taken between picking and binding makes the server exit at once;
            # a second pair of ports almost surely is free.
            for _attempt in range(3):
                try:
                    self._launch(soffice, python, package, dist_infos)
                    return
                except _PortClash:
                    self._shutdown()
                except BaseException:
                    self._shutdown()
                    raise
            raise ConversionError("LibreOffice 转换服务启动失败：找不到可用的本机端口。")

    def close(self) -> None:
        """Stop the server, wait for LibreOffice to exit and remove the temporary profile."""
        with self._lock:
            self._shutdown()

    def _launch(self, soffice: str, python: str, package: Path, dist_infos: list[Path]) -> None:
        workdir = Path(tempfile.mkdtemp(prefix="archive-soffice-"))
        try:
            pylib = workdir / "pylib"
            pylib.mkdir()
            for source in [package, *dist_infos]:
                (pylib / source.name).symlink_to(source, target_is_directory=True)
            fonts_conf = _fontconfig_file(workdir, self.fontconfig_files)
        except OSError as exc:
            shutil.rmtree(workdir, ignore_errors=True)
            raise ConversionError(f"无法准备 LibreOffice 的临时目录 {workdir}：{exc}") from None
        profile = workdir / "profile"
        log_path = workdir / "server.log"
        port, uno_port = _reserve_port(), _reserve_port()

        env = _clean_python_env()
        env["PYTHONPATH"] = str(pylib)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["FONTCONFIG_FILE"] = str(fonts_conf)
        command = [
            python, "-c", _BOOTSTRAP, str(os.getpid()),
            "--interface", "127.0.0.1", "--port", str(port),
            "--uno-interface", "127.0.0.1", "--uno-port", str(uno_port),
            "--executable", soffice,
            "--user-installation", str(profile),
            "--conversion-timeout", str(int(self.conversion_timeout)),
        ]  # fmt: skip
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=env,
                cwd=workdir,
                start_new_session=True,  # its own process group, to end LibreOffice too
            )
        self._proc, self._workdir, self._ports = proc, workdir, (port, uno_port)
        self._finalizer = weakref.finalize(self, _cleanup, proc, workdir, (port, uno_port))
        self.starts += 1
        self._wait_ready(log_path)
        self._client = _make_client(port)

    def _wait_ready(self, log_path: Path) -> None:
        import xmlrpc.client

        port = self._ports[0]
        deadline = time.monotonic() + self.startup_timeout
        while True:
            if self._proc.poll() is not None:
                tail = _log_tail(log_path)
                if "Address already in use" in tail:
                    raise _PortClash()
                raise ConversionError(
                    f"LibreOffice 转换服务启动失败（进程退出，返回码 {self._proc.returncode}）。",
                    hint=f"{INSTALL_HINT}。服务日志：\n{tail}",
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                tail = _log_tail(log_path)
                raise ConversionError(
                    f"LibreOffice 转换服务在 {self.startup_timeout:g} 秒内未就绪。",
                    hint=f"机器负载过高时可稍后重试。服务日志：\n{tail}",
                )
            transport = _timeout_transport(min(remaining, 5.0))
            proxy = xmlrpc.client.ServerProxy(
                f"http://127.0.0.1:{port}", transport=transport, allow_none=True
            )
            try:
                proxy.info()
                return
            except (OSError, xmlrpc.client.ProtocolError):
                time.sleep(0.2)
            finally:
                proxy("close")()

    def _shutdown(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # stops the server, removes the folder, frees the ports
        self._finalizer = None
        self._proc = self._workdir = self._ports = self._client = None

    # -- conversion

    def convert(self, docx_path: str | os.PathLike, pdf_path: str | os.PathLike) -> Path:
        """Convert ``docx_path`` to a new PDF at ``pdf_path`` and return ``pdf_path``.

        The PDF is written to a temporary file beside the target and renamed into place;
        an existing ``pdf_path`` is refused with :class:`StateError`. A damaged document
        raises :class:`ConversionError` and leaves no file behind.
        """
        source = Path(docx_path).resolve()
        target = Path(pdf_path).resolve()
        if not source.is_file():
            raise InputError(f"找不到要转换的文件：{source}", field="docx_path")
        if target.exists():  # checked again, atomically, when the PDF is put in place
            raise _exists_error(target)
        if source.suffix.lower() == ".docx" and not zipfile.is_zipfile(source):
            raise ConversionError(
                f"{source.name} 不是有效的 DOCX 文件（已损坏或并非 Word 文档），无法转换为 PDF。",
                field="docx_path",
                hint="请重新生成该文书，或用 Word/WPS 打开后另存为 .docx 再试。",
            )
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InputError(f"无法创建输出目录 {target.parent}：{exc}", field="pdf_path") from None
        if not os.access(target.parent, os.W_OK):
            raise InputError(f"输出目录 {target.parent} 不可写", field="pdf_path")
        temp = target.parent / f".{target.stem}.{uuid.uuid4().hex}.part.pdf"
        try:
            with self._lock:
                self._convert_with_retry(source, temp)
            if not _looks_like_pdf(temp):
                raise ConversionError(
                    f"LibreOffice 没有为 {source.name} 生成有效的 PDF。",
                    hint="请用 Word/WPS 打开该文件检查后重试。",
                )
            from archive.documents import publish

            publish(temp, target, field="pdf_path")
        finally:
            temp.unlink(missing_ok=True)
        return Path(pdf_path)

    def _convert_with_retry(self, source: Path, temp: Path) -> None:
        import http.client
        import xmlrpc.client

        infilter = _DOCX_IMPORT_FILTER if source.suffix.lower() == ".docx" else None
        for attempt in (1, 2):
            self.start()  # no-op while running; starts a fresh server if it died
            try:
                self._client.convert(
                    inpath=str(source),
                    outpath=str(temp),
                    convert_to="pdf",
                    infiltername=infilter,
                    update_index=False,  # notices have no tables of contents
                )
                return
            except xmlrpc.client.Fault as exc:
                # LibreOffice refused the document (or timed out on it): do not retry
                # it; if the server went down with it, the next document restarts it.
                raise ConversionError(
                    f"无法把 {source.name} 转换为 PDF：LibreOffice 无法打开或导出该文件。",
                    field="docx_path",
                    hint=f"请用 Word/WPS 打开该文件检查后重试。（{_fault_summary(exc)}）",
                ) from None
            except (OSError, http.client.HTTPException, xmlrpc.client.ProtocolError) as exc:
                # The server died under us: start it again, once, and resend.
                if attempt == 2:
                    raise ConversionError(
                        f"LibreOffice 转换服务在转换 {source.name} 时意外退出，重启后仍失败。",
                        hint=f"请稍后重试；如反复出现，请检查该文件。（{exc}）",
                    ) from None
                self._shutdown()


class _PortClash(Exception):
    pass


def _cleanup(proc: subprocess.Popen, workdir: Path, ports: tuple[int, int]) -> None:
    try:
        _stop_server(proc)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        _release_ports(ports)


def _make_client(port: int):
    from unoserver.client import UnoClient

    class _Client(UnoClient):
        # unoserver's client retries a refused connection 5 times, 10 s apart; ours
        # knows whether its server is alive, so it wants the error at once.
        def _connect(self, proxy, *args, **kwargs):
            return super()._connect(proxy, retries=1, sleep=0)

    return _Client("127.0.0.1", str(port), host_location="local")


def _timeout_transport(timeout: float):
    """An xmlrpc transport whose socket gives up after ``timeout`` seconds."""
    import xmlrpc.client

    class TimeoutTransport(xmlrpc.client.Transport):
        def make_connection(self, host):
            connection = super().make_connection(host)
            connection.timeout = timeout
            return connection

    return TimeoutTransport()


def _fault_summary(fault) -> str:
    text = str(getattr(fault, "faultString", fault)).strip()
    return text.splitlines()[-1][:200] if text else "未知错误"


def _looks_like_pdf(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(5) == b"%PDF-"
    except OSError:
        return False


# --------------------------------------------------------------------------- pypdf


def _open_pdf(path: str | os.PathLike):
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        return PdfReader(path)
    except FileNotFoundError:
        raise InputError(f"找不到 PDF 文件：{path}", field="pdf_path") from None
    except (PdfReadError, OSError, ValueError) as exc:
        raise InputError(
            f"无法读取 PDF 文件 {path}：文件已损坏或不是 PDF（{exc}）。",
            field="pdf_path",
            hint="请重新生成该 PDF。",
        ) from None


def pdf_page_count(path: str | os.PathLike) -> int:
    """Return the number of pages of the PDF at ``path``."""
    return len(_open_pdf(path).pages)


def pdf_text(path: str | os.PathLike) -> str:
    """Return the text of every page of the PDF at ``path``, pages separated by newlines."""
    return "\n".join(page.extract_text() or "" for page in _open_pdf(path).pages)


def stamp_metadata(
    pdf_path: str | os.PathLike,
    *,
    title: str,
    number: str,
    case: str | None = None,
    subject: str | None = None,
    author: str | None = None,
    keywords: str | Sequence[str] | None = None,
) -> None:
    """Write the notice's document information into the PDF at ``pdf_path``.

    Sets ``/Title``, ``/NoticeNumber`` (the 文书编号) and, when given, ``/CaseNumber``,
    ``/Subject``, ``/Author`` and ``/Keywords`` (a list is joined with ``"; "``); the
    rest of the existing information (producer, creation date) is kept. The file is
    rewritten through a temporary file and renamed into place.
    """
    from pypdf import PdfWriter

    if not title or not title.strip():
        raise InputError("PDF 标题不能为空", field="title")
    if not number or not number.strip():
        raise InputError("文书编号不能为空", field="number")
    target = Path(pdf_path)
    reader = _open_pdf(target)
    writer = PdfWriter(clone_from=reader)
    info: dict[str, str] = {"/Title": title, "/NoticeNumber": number}
    if case is not None:
        info["/CaseNumber"] = case
    if subject is not None:
        info["/Subject"] = subject
    if author is not None:
        info["/Author"] = author
    if keywords is not None:
        info["/Keywords"] = keywords if isinstance(keywords, str) else "; ".join(keywords)
    writer.add_metadata(info)

    temp = target.parent / f".{target.stem}.{uuid.uuid4().hex}.part.pdf"
    try:
        with open(temp, "wb") as handle:
            writer.write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)  # replacing the same document is the point here
    finally:
        temp.unlink(missing_ok=True)
