#!/bin/sh
# Install the Debian packages that DOCX->PDF conversion needs (archive/converter.py):
#   libreoffice-writer-nogui  LibreOffice Writer without a GUI (soffice)
#   python3-uno               the uno module for Debian's /usr/bin/python3 (runs unoserver)
#   fonts-noto-cjk            Noto Serif/Sans CJK SC, substitutes for 仿宋/小标宋/黑体
#   poppler-utils             pdftoppm/pdftotext, to look at the PDFs
#   postgresql                PostgreSQL server and client (initdb, pg_ctl, pg_dump): the
#                             tests run the suite on a throwaway server of their own, and
#                             `archive backup` uses pg_dump for a PostgreSQL store
#   chromium, chromium-driver Debian's browser and its WebDriver, for the browser tests
#                             (tests/test_browser.py; no browser is ever downloaded)
#
# Idempotent: when everything is present it prints one line and changes nothing.
# Without apt-get (not Debian/Ubuntu) or without the rights to install, it warns and
# exits 0; the tests that need LibreOffice (or the PostgreSQL run) then skip and say why
# (under CI=true they fail instead).
set -u

PACKAGES="libreoffice-writer-nogui python3-uno fonts-noto-cjk poppler-utils chromium chromium-driver postgresql"

warn() { echo "install-debian-deps: 警告：$*" >&2; }

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
    warn "这台机器没有 apt-get（不是 Debian/Ubuntu），请自行安装 LibreOffice、python3-uno、Noto CJK 字体和 PostgreSQL；需要它们的测试将被跳过。"
    exit 0
fi

installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

missing=""
for package in $PACKAGES; do
    installed "$package" || missing="$missing $package"
done

# A LibreOffice installed another way (e.g. the full libreoffice package pulls in
# libreoffice-writer, not -nogui) is fine: check for the commands, not the package name.
case "$missing" in
*libreoffice-writer-nogui*)
    if command -v soffice >/dev/null 2>&1 && installed libreoffice-writer; then
        missing=$(echo "$missing" | sed 's/ libreoffice-writer-nogui//')
    fi
    ;;
esac
case "$missing" in
*poppler-utils*)
    if command -v pdftoppm >/dev/null 2>&1 && command -v pdftotext >/dev/null 2>&1; then
        missing=$(echo "$missing" | sed 's/ poppler-utils//')
    fi
    ;;
esac

case "$missing" in
*postgresql*)
    # A server installed another way (a versioned postgresql-NN package, or from source)
    # is fine: the tests find initdb under /usr/lib/postgresql/*/bin or on PATH.
    if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
        missing=$(echo "$missing" | sed 's/ postgresql//')
    fi
    ;;
esac

missing=${missing# }
if [ -z "$missing" ]; then
    echo "install-debian-deps: 系统依赖已齐全（$PACKAGES）"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
else
    warn "缺少软件包：$missing；当前不是 root 且没有 sudo，无法安装。请让管理员执行：apt-get install $missing"
    exit 0
fi

echo "install-debian-deps: 安装缺少的软件包：$missing"
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086  # $missing is a list of package names
if ! $SUDO apt-get update -q; then
    warn "apt-get update 失败；需要 LibreOffice 的测试将被跳过。"
    exit 0
fi
# shellcheck disable=SC2086
if ! $SUDO apt-get install -y -q --no-install-recommends $missing; then
    warn "apt-get install 失败（$missing）；需要 LibreOffice 的测试将被跳过。"
    exit 0
fi
echo "install-debian-deps: 安装完成"
