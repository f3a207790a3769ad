"""DOCX to PDF through long-lived LibreOffice servers (the pool); PDF reading is in :mod:`.pdf`.

Starting LibreOffice costs a third of a second to two; converting a notice in a running
instance costs about a quarter of one. So a batch opens one :class:`PdfConverter`, which keeps unoserver
(https://github.com/unoconv/unoserver) servers running for its lifetime and sends every
document to them::

    with PdfConverter() as converter:
        for docx in notices:                      # one at a time, on one server
            converter.convert(docx, docx.with_suffix(".pdf"))
        converter.convert_many(                   # a batch, on one server per core
            [(docx, docx.with_suffix(".pdf")) for docx in more_notices], progress=report)

How the servers run, and why:

* One LibreOffice converts one document at a time, on one core. :meth:`PdfConverter.convert`
  always uses the first server, started on entry. :meth:`PdfConverter.convert_many` starts
  further servers (up to one per core, ``servers=``) for a batch of at least
  ``parallel_threshold`` documents; they start in the background while the first server
  is already converting, and each is fed by its own thread. They stay up until
  :meth:`PdfConverter.close`.
* unoserver's server must run under a Python that can ``import uno`` — on Debian that is
  ``/usr/bin/python3`` with ``python3-uno``, not the project's virtualenv. The pip-installed
  unoserver is made importable to it through a private folder holding symlinks to the
  ``unoserver`` package and its dist-info only, so the system Python does not see the
  rest of the virtualenv.
* unoserver's own ``main()`` sleeps a fixed 7 seconds while LibreOffice starts. Our bootstrap
  (``_BOOTSTRAP``) drives ``unoserver.server.UnoServer`` itself: it starts LibreOffice with
  the same options, polls until LibreOffice accepts a UNO connection, then serves XML-RPC
  with unoserver's ``serve()``.
* LibreOffice spends most of its start-up initialising a new user profile. A clean profile
  (two starts and one opened, never saved, empty document: no paths of real documents in
  it) is built once per LibreOffice version under ``~/.cache/archive`` (``profile_cache=``)
  and copied for every server. A cached profile that does not start is thrown away and
  the server starts with a new one.
* Each server has its own temporary folder: LibreOffice user profile
  (``-env:UserInstallation``), the fontconfig file and the server log. Ports are free
  loopback ports picked at start, so two servers (a pool, parallel tests, two clerks'
  batch jobs) do not share or fight over one LibreOffice.
* The notices name fonts Linux machines lack (仿宋, 方正小标宋简体, 黑体, 楷体). The server
  gets a ``FONTCONFIG_FILE`` that includes the system configuration plus the rules of
  :mod:`.fonts`: the workspace's own ``fonts/`` first, then Noto Serif/Sans CJK SC (bold
  for titles) under their Simplified Chinese names, so nothing under ``/etc`` has to change.
* Every PDF is PDF/A-2b (``SelectPdfVersion=2``): fonts embedded, colour profile and XMP
  metadata included, the archival format :func:`.pdf.pdfa_claim` checks for.
* PDF export runs with ``ReduceImageResolution=false`` (``PDF_EXPORT_OPTIONS``): by default
  LibreOffice resamples every picture above 300 dpi and re-encodes it as JPEG, which for
  the 40 mm seal costs two thirds of the export time and blurs the seal. Without it the
  seal is embedded losslessly at its own resolution, and the PDF is smaller. Documents
  are loaded hidden (no view is set up for them), a fifth less work again.
* LibreOffice's own temporary folders (``TMPDIR``) are inside the server's folder, so they
  go with it even when LibreOffice is killed.
* Each server is its own process group, and a small watchdog ends it when the process that
  started it is gone, so a crashed batch does not leave LibreOffice running.

Nothing here prints; errors are :class:`archive.core.errors.ConversionError` (exit 1) with a
Chinese message that says what to do.
"""

from __future__ import annotations

import functools
import glob
import hashlib
import os
import queue
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
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from ..core.errors import ConversionError, InputError, StateError
from .pdf import looks_like_pdf

__all__ = [
    "PDF_EXPORT_OPTIONS",
    "PdfConverter",
    "converter",
    "libreoffice_available",
    "pdf_enabled",
]

INSTALL_HINT = (
    "请运行 make deps 安装，或执行 "
    "sudo apt-get install libreoffice-writer-nogui fonts-noto-cjk python3-uno"
)

#: Options of LibreOffice's PDF export filter (unoserver's ``filter_options``). Its default
#: resamples pictures above 300 dpi to JPEG: slow (exporting a 3-part notice with a
#: 600 px seal took 230 ms of CPU with it, 70 ms without) and lossy. Tagged PDF is off by
#: default already; the other options (bookmarks, notes, JPEG quality, lossless) made no
#: measurable difference. ``SelectPdfVersion=2`` makes every PDF PDF/A-2b, the archival
#: form: fonts embedded, an sRGB output intent and XMP metadata claiming the conformance.
PDF_EXPORT_OPTIONS = ("ReduceImageResolution=false", "SelectPdfVersion=2")

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

# Options unoserver's UnoServer.start() gives LibreOffice (unoserver 3.x).
_SOFFICE_OPTIONS = (
    "--headless", "--invisible", "--nocrashreport", "--nodefault", "--nologo",
    "--nofirststartwizard", "--norestore",
)  # fmt: skip

# Runs under the uno Python; argv: parent pid, port, uno port, soffice, profile folder,
# conversion timeout, then _SOFFICE_OPTIONS. unoserver's UnoServer.start() starts
# LibreOffice, sleeps 5 s, starts serve() in a thread and sleeps 2 s more. This starts
# LibreOffice with the same options first thing (the imports happen while it starts), polls
# until it accepts a UNO connection, then runs UnoServer.serve() in a thread. On SIGTERM
# (close(), or the watchdog once the process that started the server is gone, even if it
# was killed outright) LibreOffice is asked over UNO to quit, which takes a tenth of the
# time a signal does; failing that, it gets the signal.
_BOOTSTRAP = """\
import os, signal, subprocess, sys, threading, time
from pathlib import Path
parent = int(sys.argv[1])
port, uno_port, soffice, profile, timeout = sys.argv[2:7]
options = sys.argv[7:]
accept = f"socket,host=127.0.0.1,port={uno_port},tcpNoDelay=1;urp"
office = subprocess.Popen([soffice, *options, f"-env:UserInstallation={Path(profile).as_uri()}",
                           f"--accept={accept};StarOffice.ComponentContext"])
started = time.monotonic()

class Stop:
    requested = False
    desktop = None  # LibreOffice's, once connected

def on_signal(signum, frame):
    Stop.requested = True
    try:
        if Stop.desktop is not None and Stop.desktop.terminate():
            return
    except Exception:  # the bridge went down with LibreOffice
        pass
    try:
        office.send_signal(signum)
    except ProcessLookupError:
        pass

for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(signum, on_signal)

def watch():
    while os.getppid() == parent:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(10)
    os.killpg(0, signal.SIGKILL)  # LibreOffice did not quit: end the whole process group
threading.Thread(target=watch, daemon=True).start()

import logging
logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
log = logging.getLogger("archive.documents.office")
log.info("Started LibreOffice (pid %s): %s", office.pid, " ".join(office.args))
import uno
from com.sun.star.beans import PropertyValue
from com.sun.star.connection import NoConnectException
from unoserver import converter as unoconverter
from unoserver.server import UnoServer

class Desktop:
    # Loads every document hidden: no view is set up for it (a fifth less CPU a notice).
    def __init__(self, desktop):
        self.desktop = desktop
    def loadComponentFromURL(self, url, frame, flags, properties):
        hidden = PropertyValue(Name="Hidden", Value=True)
        return self.desktop.loadComponentFromURL(url, frame, flags, (*properties, hidden))
    def __getattr__(self, name):
        return getattr(self.desktop, name)

class Converter(unoconverter.UnoConverter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        Stop.desktop = self.desktop
        self.desktop = Desktop(self.desktop)

unoconverter.UnoConverter = Converter  # what UnoServer.serve() instantiates

class Server(UnoServer):
    def start(self):
        self.libreoffice_process = office
        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local)
        while office.poll() is None and not Stop.requested:
            try:
                resolver.resolve(f"uno:{accept};StarOffice.ComponentContext")
                break
            except NoConnectException:
                time.sleep(0.02)
        else:
            log.error("LibreOffice exited while starting (code %s)", office.poll())
            return False
        log.info("LibreOffice accepts UNO after %.2f s", time.monotonic() - started)
        self.xmlrcp_thread = threading.Thread(target=self.serve_or_stop, daemon=True)
        self.xmlrcp_thread.start()
        return True

    def serve_or_stop(self):
        try:
            self.serve()  # returns only when it could not start serving
        except Exception:  # logged before LibreOffice goes: the parent reads the log then
            log.exception("The XML-RPC server failed")
        finally:
            if not Stop.requested:  # LibreOffice must not outlive its server
                office.terminate()

server = Server("127.0.0.1", port, "127.0.0.1", uno_port, Path(profile).as_uri(),
                int(timeout) or None)
if not server.start():
    office.terminate()
    sys.exit(2)
office.wait()
log.info("LibreOffice exited (code %s)", office.returncode)
workdir = Path(profile).parent
if os.getppid() != parent and workdir.name.startswith("archive-soffice-"):
    import shutil  # the process that started the server is gone: nobody else cleans up
    shutil.rmtree(workdir, ignore_errors=True)
# unoserver's stop() waits up to half a second for serve_forever() to notice; the XML-RPC
# thread is a daemon thread and has nothing to save, so the process just ends.
sys.stdout.flush()
sys.stderr.flush()
os._exit(0 if Stop.requested else 1)
"""

# Runs under the uno Python; argv: parent pid, soffice, profile folder, then
# _SOFFICE_OPTIONS. Builds a user profile worth copying: a profile is finished (its first
# start after an "update" done, ooSetupLastVersion written) only once LibreOffice has
# opened a document window (a hidden document does not count) and quit cleanly, and only
# then does a start take 0.15 s instead of 0.8. So this starts LibreOffice, opens (never
# saves) an empty Writer document and quits. No real document is ever loaded: the profile
# holds no paths of notices.
_PROFILE_BUILDER = """\
import os, signal, subprocess, sys, threading, time, uuid
parent = int(sys.argv[1])
soffice, profile = sys.argv[2:4]
options = sys.argv[4:]
def watch():
    while os.getppid() == parent:
        time.sleep(0.5)
    os.killpg(0, signal.SIGKILL)  # this process leads its group: LibreOffice goes with it
threading.Thread(target=watch, daemon=True).start()

from pathlib import Path
import uno
from com.sun.star.connection import NoConnectException
local = uno.getComponentContext()
resolver = local.ServiceManager.createInstanceWithContext(
    "com.sun.star.bridge.UnoUrlResolver", local)
pipe = f"pipe,name=archive-profile-{uuid.uuid4().hex};urp"
office = subprocess.Popen([soffice, *options, f"-env:UserInstallation={Path(profile).as_uri()}",
                           f"--accept={pipe};StarOffice.ComponentContext"])
while True:
    if office.poll() is not None:
        sys.exit(4)
    try:
        context = resolver.resolve(f"uno:{pipe};StarOffice.ComponentContext")
        break
    except NoConnectException:
        time.sleep(0.02)
desktop = context.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", context)
document = desktop.loadComponentFromURL("private:factory/swriter", "_blank", 0, ())
document.close(True)
try:
    desktop.terminate()
except Exception:  # the bridge may go down with LibreOffice before answering
    pass
if office.wait(60) != 0:
    sys.exit(5)
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


def _fontconfig_file(folder: Path, extra: Sequence[Path], rules: str = "") -> Path:
    lines = [
        '<?xml version="1.0"?>',
        '<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">',
        "<fontconfig>",
    ]
    system = os.environ.get("FONTCONFIG_FILE") or "/etc/fonts/fonts.conf"
    for path in [Path(system), *extra]:
        lines.append(f'  <include ignore_missing="yes">{_xml_escape(str(path))}</include>')
    if rules:
        lines.append(rules)
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


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` is still running (zombies do not count).

    LibreOffice's helpers (gpgconf, gpg) end as zombies of whichever process adopts them
    when LibreOffice exits; that process reaps them when it gets round to it (in some
    containers a second later). They hold nothing, so nobody needs to wait for them.
    """
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:
        entries = os.listdir("/proc")
    except OSError:
        return True  # no /proc: killpg's answer is all there is
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            continue
        # fields: state, ppid, pgrp, ...
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != b"Z":
            return True
    return False


def _kill_group(pgid: int, timeout: float) -> None:
    """SIGKILL what is left of the server's process group and wait until it is gone."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _group_alive(pgid):
        time.sleep(0.02)


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


# --------------------------------------------------------------------------- profile cache

_DEFAULT = object()
_template_lock = threading.Lock()


def default_profile_cache() -> Path | None:
    """``$XDG_CACHE_HOME/archive`` or ``~/.cache/archive``: where the profile is kept."""
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError):
            return None
    return Path(base) / "archive"


# Part of the cached profile's name: raise it when _PROFILE_BUILDER changes.
_PROFILE_FORMAT = 2


def _office_key(soffice: str) -> str:
    """Names one LibreOffice installation and version (a new version gets a new profile)."""
    real = Path(os.path.realpath(soffice))
    digest = hashlib.sha256(f"{_PROFILE_FORMAT}:{real}".encode())
    for candidate in (real.parent / "versionrc", real.parent / "soffice.bin", real):
        try:
            st = candidate.stat()
        except OSError:
            continue
        digest.update(f"{candidate.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return digest.hexdigest()[:16]


def _template_path(cache: Path, soffice: str) -> Path:
    return cache / f"libreoffice-profile-{_office_key(soffice)}"


def _template_usable(path: Path) -> bool:
    return (path / "user" / "registrymodifications.xcu").is_file()


def _profile_template(cache: Path, soffice: str, python: str, timeout: float) -> Path | None:
    """The cached LibreOffice profile, built first if missing; None when there is none.

    Building takes a few seconds, once per LibreOffice version. A thread that finds
    another one building does not wait for it: its server starts with a new profile.
    """
    target = _template_path(cache, soffice)
    if _template_usable(target):
        return target
    if not _template_lock.acquire(blocking=False):
        return None
    try:
        if _template_usable(target):
            return target
        cache.mkdir(mode=0o700, parents=True, exist_ok=True)
        for leftover in cache.glob(".building-*"):  # of a build whose process was killed
            try:
                if time.time() - leftover.stat().st_mtime > 3600:
                    shutil.rmtree(leftover, ignore_errors=True)
            except OSError:
                pass
        folder = Path(tempfile.mkdtemp(prefix=".building-", dir=cache))
        try:
            env = _clean_python_env()
            env["TMPDIR"] = str(folder)
            proc = subprocess.Popen(
                [python, "-c", _PROFILE_BUILDER, str(os.getpid()), soffice,
                 str(folder / "profile"), *_SOFFICE_OPTIONS],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                cwd=folder,
                start_new_session=True,
            )  # fmt: skip
            try:
                code = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                code = None
            finally:  # also on KeyboardInterrupt: no LibreOffice is left behind
                _kill_group(proc.pid, timeout=5.0)
                if proc.poll() is None:
                    proc.wait(5)
            if code != 0 or not _template_usable(folder / "profile"):
                return None
            try:
                os.rename(folder / "profile", target)
            except OSError:  # another process put its profile there first
                pass
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return target if _template_usable(target) else None
    except OSError:
        return None
    finally:
        _template_lock.release()


def _discard_template(path: Path) -> None:
    """Remove a cached profile that LibreOffice did not start with."""
    trash = path.with_name(f".discarded-{uuid.uuid4().hex}")
    try:
        os.rename(path, trash)
    except OSError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _default_servers() -> int:
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, 4))  # each LibreOffice holds a few hundred MB


# --------------------------------------------------------------------------- converter


class PdfConverter:
    """Converts DOCX files to PDF through LibreOffice servers kept running for a batch.

    Use it as a context manager (or call :meth:`start` and :meth:`close`). The first
    server starts on entry and does every :meth:`convert`; :meth:`convert_many` adds
    servers for large batches. A server that died is started again once, on its next
    document. ``starts`` counts how many times a server was started, over all servers.

    :param startup_timeout: seconds to wait for LibreOffice to accept documents.
    :param conversion_timeout: seconds one document may take; past that unoserver ends
        LibreOffice and the document fails (the next one gets a fresh server).
    :param fontconfig_files: further fontconfig files added to the system configuration
        and the font rules of :mod:`.fonts` for LibreOffice (none by default).
    :param workspace_fonts: a folder of fonts a centre installed (the workspace's
        ``fonts/``), used before the free fallbacks.
    :param servers: most LibreOffice servers :meth:`convert_many` runs at once; by
        default one per core, at most 4.
    :param parallel_threshold: :meth:`convert_many` starts further servers only for a
        batch of at least this many documents (starting one costs about as much as
        converting three notices).
    :param profile_cache: folder for the cached LibreOffice user profile (see the module
        documentation); by default ``~/.cache/archive``; ``None`` to give every server
        a new profile (slower start).
    """

    def __init__(
        self,
        *,
        startup_timeout: float = 60.0,
        conversion_timeout: int = 120,
        fontconfig_files: Sequence[str | os.PathLike] | None = None,
        workspace_fonts: str | os.PathLike | None = None,
        servers: int | None = None,
        parallel_threshold: int = 8,
        profile_cache: str | os.PathLike | None = _DEFAULT,  # type: ignore[assignment]
    ):
        self.startup_timeout = startup_timeout
        self.conversion_timeout = conversion_timeout
        self.fontconfig_files = [Path(p).resolve() for p in fontconfig_files or ()]
        self.workspace_fonts = Path(workspace_fonts) if workspace_fonts else None
        self._font_rules: str | None = None
        self._font_lock = threading.Lock()
        self.max_servers = max(1, int(servers)) if servers else _default_servers()
        self.parallel_threshold = max(1, int(parallel_threshold))
        if profile_cache is _DEFAULT:
            profile_cache = default_profile_cache()
        self.profile_cache = Path(profile_cache).absolute() if profile_cache else None
        self._lock = threading.RLock()
        self._servers: list[_Server] = [_Server()]
        self._prewarm: threading.Thread | None = None

    # -- lifecycle

    def __enter__(self) -> PdfConverter:
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    @property
    def starts(self) -> int:
        """How many times a server was started (all servers, restarts included)."""
        return sum(server.starts for server in self._servers)

    @property
    def running(self) -> bool:
        """Whether the first server (the one :meth:`convert` uses) is alive."""
        return self._servers[0].running

    @property
    def server_pid(self) -> int | None:
        """Process id of the first server (also its process group id), or None when stopped."""
        return self._servers[0].pid

    @property
    def server_pids(self) -> list[int]:
        """Process ids (= process group ids) of every running server."""
        return [server.pid for server in self._servers if server.running]

    @property
    def _workdir(self) -> Path | None:
        return self._servers[0].workdir

    def start(self) -> None:
        """Start the first server unless it is already running (blocks until it is ready)."""
        self._servers[0].start(self)

    def prewarm(self) -> None:
        """Start the first server in a background thread and return at once.

        For a caller that knows it will convert soon and has other work to do first: the
        next :meth:`convert` waits for the start in progress instead of beginning one.
        A start that fails is tried again, and its error raised, by that :meth:`convert`
        (or :meth:`start`); :meth:`close` waits for a start in progress, then stops it.
        """
        with self._lock:
            if self.running or (self._prewarm is not None and self._prewarm.is_alive()):
                return

            def run() -> None:
                try:
                    self._servers[0].start(self)
                except Exception:  # convert() starts it again and reports the error
                    pass

            self._prewarm = threading.Thread(target=run, daemon=True, name="pdf-prewarm")
            self._prewarm.start()

    def close(self) -> None:
        """Stop every server, wait for LibreOffice to exit and remove the temporary profiles."""
        with self._lock:
            if self._prewarm is not None:
                self._prewarm.join()  # else it could start a server after this close()
                self._prewarm = None
            live = [server for server in self._servers if server.proc is not None]
            if len(live) <= 1:
                for server in live:
                    server.shutdown()
                return
            threads = [threading.Thread(target=server.shutdown, daemon=True) for server in live]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()

    def font_rules(self) -> str:
        """The fontconfig rules every server of this converter gets (made once)."""
        # Its own lock: close() holds self._lock while it waits for a prewarm thread that
        # may be right here, starting a server.
        with self._font_lock:
            if self._font_rules is None:
                from .fonts import fontconfig_xml

                # The fonts are the machine's, not the batch's: one cache for every converter.
                self._font_rules = fontconfig_xml(workspace_fonts=self.workspace_fonts,
                                                  cache=default_profile_cache() or self.profile_cache)
            return self._font_rules

    def _template(self, soffice: str, python: str) -> Path | None:
        if self.profile_cache is None:
            return None
        return _profile_template(self.profile_cache, soffice, python, max(self.startup_timeout, 30.0))

    # -- conversion

    def convert(self, docx_path: str | os.PathLike, pdf_path: str | os.PathLike, *, slot: int = 0) -> Path:
        """Convert ``docx_path`` to a new PDF at ``pdf_path`` and return ``pdf_path``.

        The PDF is written to a temporary file beside the target and renamed into place;
        an existing ``pdf_path`` is refused with :class:`StateError`. A damaged document
        raises :class:`ConversionError` and leaves no file behind. ``slot`` picks the server
        (0 … ``max_servers`` − 1; a further one starts on its first document): threads that
        convert one document at a time each, such as the server's PDF makers, use a slot
        each and so run side by side.
        """
        if not 0 <= slot < self.max_servers:
            raise ValueError(f"slot {slot} outside 0..{self.max_servers - 1}")
        source, target = self._check(docx_path, pdf_path)
        with self._lock:
            while len(self._servers) <= slot:
                self._servers.append(_Server())
            server = self._servers[slot]
        self._convert_on(server, source, target)
        return Path(pdf_path)

    def convert_many(
        self,
        pairs: Iterable[tuple[str | os.PathLike, str | os.PathLike]],
        progress: Callable[[int, int, str], None] | None = None,
    ) -> list[Path]:
        """Convert every ``(docx_path, pdf_path)`` pair; return the PDF paths in order.

        Every pair is checked as :meth:`convert` would before anything is converted (and
        two pairs may not name the same PDF). A batch of at least ``parallel_threshold``
        documents is spread over up to ``servers`` LibreOffice servers, one thread each;
        the servers that are not running yet start while the first one converts.
        ``progress(done, total, pdf_name)`` is called in the calling thread after each
        PDF. All or nothing: when a document fails, no further ones are started, the PDFs
        this call made are removed and the first failure (in the order of ``pairs``) is
        raised.
        """
        jobs: list[tuple[Path, Path, Path]] = []
        seen: set[Path] = set()
        for docx_path, pdf_path in pairs:
            source, target = self._check(docx_path, pdf_path)
            if target in seen:
                raise InputError(
                    f"同一批文书中有两份要写入同一个 PDF：{target}",
                    field="pdf_path",
                    hint="请为每份文书指定不同的 PDF 文件名。",
                )
            seen.add(target)
            jobs.append((source, target, Path(pdf_path)))
        if not jobs:
            return []
        total = len(jobs)
        wanted = 1 if total < self.parallel_threshold else min(self.max_servers, total)
        with self._lock:
            while len(self._servers) < wanted:
                self._servers.append(_Server())
            servers = self._servers[:wanted]

        pending = iter(range(total))
        pending_lock = threading.Lock()
        stop = threading.Event()
        events: queue.Queue = queue.Queue()

        def next_job() -> int | None:
            with pending_lock:
                return None if stop.is_set() else next(pending, None)

        def work(server: _Server) -> None:
            try:
                try:
                    server.start(self)
                except Exception as exc:  # the other servers carry on without this one
                    events.put(("unstarted", server, exc))
                    return
                while (index := next_job()) is not None:
                    try:
                        self._convert_on(server, jobs[index][0], jobs[index][1])
                    except Exception as exc:
                        stop.set()
                        events.put(("failed", index, exc))
                    else:
                        events.put(("done", index, None))
            finally:
                events.put(("exit", server, None))

        threads = [
            threading.Thread(target=work, args=(server,), daemon=True, name=f"pdf-{number}")
            for number, server in enumerate(servers)
        ]
        for thread in threads:
            thread.start()
        made: list[Path] = []
        failures: dict[int, Exception] = {}
        unstarted: list[tuple[int, Exception]] = []
        live = len(threads)
        try:
            while live:
                kind, what, exc = events.get()
                if kind == "exit":
                    live -= 1
                elif kind == "unstarted":
                    unstarted.append((servers.index(what), exc))
                elif kind == "failed":
                    failures[what] = exc
                else:
                    made.append(jobs[what][1])
                    if progress is not None:
                        progress(len(made), total, jobs[what][2].name)
        except BaseException:
            stop.set()
            for thread in threads:
                thread.join()
            while not events.empty():
                kind, what, _ = events.get_nowait()
                if kind == "done":
                    made.append(jobs[what][1])
            _remove(made)
            raise
        if len(made) < total:
            _remove(made)
            if failures:
                raise failures[min(failures)]
            raise min(unstarted, key=lambda item: item[0])[1]
        return [job[2] for job in jobs]

    def _check(self, docx_path: str | os.PathLike, pdf_path: str | os.PathLike) -> tuple[Path, Path]:
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
        return source, target

    def _convert_on(self, server: _Server, source: Path, target: Path) -> None:
        temp = target.parent / f".{target.stem}.{uuid.uuid4().hex}.part.pdf"
        try:
            server.convert(self, source, temp)
            if not looks_like_pdf(temp):
                raise ConversionError(
                    f"LibreOffice 没有为 {source.name} 生成有效的 PDF。",
                    hint="请用 Word/WPS 打开该文件检查后重试。",
                )
            from archive.documents.render import publish

            publish(temp, target, field="pdf_path")
        finally:
            temp.unlink(missing_ok=True)


class _Server:
    """One unoserver server with its LibreOffice, its folder and its ports.

    Settings come from the :class:`PdfConverter` passed to :meth:`start` and
    :meth:`convert`; ``lock`` makes one document at a time go to this server.
    """

    def __init__(self) -> None:
        self.starts = 0
        self.lock = threading.RLock()
        self.proc: subprocess.Popen | None = None
        self.workdir: Path | None = None
        self.ports: tuple[int, int] | None = None
        self.client = None
        self._finalizer: weakref.finalize | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self, cfg: PdfConverter) -> None:
        """Start the server unless it is already running (blocks until it is ready)."""
        with self.lock:
            if self.running:
                return
            self.shutdown()
            soffice, python = _require_libreoffice()
            package, dist_infos = _unoserver_locations()
            template = cfg._template(soffice, python)
            # A port taken between picking and binding makes the server exit at once;
            # a second pair of ports almost surely is free.
            for _attempt in range(3):
                try:
                    self._launch(cfg, soffice, python, package, dist_infos, template)
                    return
                except _PortClash:
                    self.shutdown()
                except _ServerExited:
                    self.shutdown()
                    if template is None:
                        raise
                    _discard_template(template)  # start again with a new profile
                    template = None
                except BaseException:
                    self.shutdown()
                    raise
            raise ConversionError("LibreOffice 转换服务启动失败：找不到可用的本机端口。")

    def _launch(
        self,
        cfg: PdfConverter,
        soffice: str,
        python: str,
        package: Path,
        dist_infos: list[Path],
        template: Path | None,
    ) -> None:
        workdir = Path(tempfile.mkdtemp(prefix="archive-soffice-"))
        profile = workdir / "profile"
        try:
            pylib = workdir / "pylib"
            pylib.mkdir()
            (workdir / "tmp").mkdir()
            for source in [package, *dist_infos]:
                (pylib / source.name).symlink_to(source, target_is_directory=True)
            fonts_conf = _fontconfig_file(workdir, cfg.fontconfig_files, cfg.font_rules())
        except OSError as exc:
            shutil.rmtree(workdir, ignore_errors=True)
            raise ConversionError(f"无法准备 LibreOffice 的临时目录 {workdir}：{exc}") from None
        if template is not None:
            try:
                shutil.copytree(template, profile, symlinks=True, ignore=shutil.ignore_patterns(".lock"))
            except OSError:
                shutil.rmtree(profile, ignore_errors=True)  # LibreOffice makes a new one
        log_path = workdir / "server.log"
        port, uno_port = _reserve_port(), _reserve_port()

        env = _clean_python_env()
        env["PYTHONPATH"] = str(pylib)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env["FONTCONFIG_FILE"] = str(fonts_conf)
        env["TMPDIR"] = str(workdir / "tmp")  # LibreOffice's lu*.tmp folders go with workdir
        command = [
            python, "-c", _BOOTSTRAP, str(os.getpid()), str(port), str(uno_port), soffice,
            str(profile), str(max(0, int(cfg.conversion_timeout or 0))), *_SOFFICE_OPTIONS,
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
        self.proc, self.workdir, self.ports = proc, workdir, (port, uno_port)
        self._finalizer = weakref.finalize(self, _cleanup, proc, workdir, (port, uno_port))
        self.starts += 1
        info = self._wait_ready(cfg.startup_timeout, log_path)
        self.client = _make_client(port, info)

    def _wait_ready(self, startup_timeout: float, log_path: Path) -> dict:
        """Poll the XML-RPC side until it answers; return its ``info()``."""
        import xmlrpc.client

        port = self.ports[0]
        deadline = time.monotonic() + startup_timeout
        while True:
            if self.proc.poll() is not None:
                tail = _log_tail(log_path)
                if "Address already in use" in tail:
                    raise _PortClash()
                raise _ServerExited(
                    f"LibreOffice 转换服务启动失败（进程退出，返回码 {self.proc.returncode}）。",
                    hint=f"{INSTALL_HINT}。服务日志：\n{tail}",
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                tail = _log_tail(log_path)
                raise ConversionError(
                    f"LibreOffice 转换服务在 {startup_timeout:g} 秒内未就绪。",
                    hint=f"机器负载过高时可稍后重试。服务日志：\n{tail}",
                )
            transport = _timeout_transport(min(remaining, 2.0))  # then look at the process again
            proxy = xmlrpc.client.ServerProxy(
                f"http://127.0.0.1:{port}", transport=transport, allow_none=True
            )
            try:
                return proxy.info()
            except (OSError, xmlrpc.client.ProtocolError):
                time.sleep(0.02)
            finally:
                proxy("close")()

    def shutdown(self) -> None:
        with self.lock:
            if self._finalizer is not None:
                self._finalizer()  # stops the server, removes the folder, frees the ports
            self._finalizer = None
            self.proc = self.workdir = self.ports = self.client = None

    def convert(self, cfg: PdfConverter, source: Path, temp: Path) -> None:
        import http.client
        import xmlrpc.client

        infilter = _DOCX_IMPORT_FILTER if source.suffix.lower() == ".docx" else None
        with self.lock:
            for attempt in (1, 2):
                self.start(cfg)  # no-op while running; starts a fresh server if it died
                try:
                    self.client.convert(
                        inpath=str(source),
                        outpath=str(temp),
                        convert_to="pdf",
                        filter_options=list(PDF_EXPORT_OPTIONS),
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
                    self.shutdown()


class _PortClash(Exception):
    pass


class _ServerExited(ConversionError):
    """The server process ended while starting (as opposed to a start that timed out)."""


def _remove(paths: Iterable[Path]) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            pass


def _cleanup(proc: subprocess.Popen, workdir: Path, ports: tuple[int, int]) -> None:
    try:
        _stop_server(proc)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        _release_ports(ports)


def _make_client(port: int, info: dict):
    from unoserver.client import UnoClient

    class _Client(UnoClient):
        # unoserver's client asks the server for info() (versions, filter lists) before
        # every document, and retries a refused connection 5 times, 10 s apart. Ours got
        # info() once, when the server became ready, and wants a refused connection to
        # fail at once: it knows whether its server is alive.
        def _connect(self, proxy, *args, **kwargs):
            return info

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


# --------------------------------------------------------------------------- sessions


def pdf_enabled(session) -> bool:
    """Whether this session writes PDFs: the ``pdf`` setting (never / always / auto), and
    with ``auto`` whether LibreOffice is installed."""
    mode = str(session.ws.get("pdf")).lower()
    if mode == "never":
        return False
    if mode == "always":
        return True
    return libreoffice_available()


def converter(session) -> "PdfConverter":
    """One long-lived LibreOffice pool for the whole session (started on first use)."""

    def start() -> PdfConverter:
        pool = PdfConverter(workspace_fonts=session.ws.fonts_dir)
        pool.__enter__()
        return pool

    return session.resource("pdf-converter", start)
