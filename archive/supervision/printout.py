"""The window report as a printable monthly report (.pdf) with charts, drawn with matplotlib.

A4 portrait pages: the key figures and charts (rates by unit, open cases by due state,
ratings by level), the table of units, the red cards and the table of clerks. Text is set
in Noto Sans CJK (Debian's fonts-noto-cjk, which ``make deps`` installs) and embedded as
Type 3 glyphs, so the file prints and reads back the same everywhere.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from ..core.errors import WorkspaceError
from . import alerts
from .figures import LEVELS

A4 = (8.27, 11.69)
FONT_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJKsc-Regular.otf", "NotoSansCJK-Bold.ttc")
FONT_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/opentype", "/usr/share/fonts", "/usr/local/share/fonts")
STATE_COLOURS = {"正常": "#5b9a68", "蓝牌": "#3b7dd8", "黄牌": "#e0b000", "红牌": "#d0342c", "暂停": "#9a9a9a"}
ROWS_PER_PAGE = 34
MAX_CLERK_ROWS = 200
MAX_CARD_ROWS = 120


def _font() -> str:
    """Register Noto Sans CJK with matplotlib and return its family name."""
    from matplotlib import font_manager

    for name in ("Noto Sans CJK SC", "Noto Sans CJK JP"):
        if any(f.name == name for f in font_manager.fontManager.ttflist):
            return name
    for folder in FONT_DIRS:
        for found in sorted(Path(folder).rglob("NotoSansCJK*")) if Path(folder).is_dir() else ():
            if found.name in FONT_FILES:
                font_manager.fontManager.addfont(str(found))
                return "Noto Sans CJK SC"
    raise WorkspaceError("找不到中文字体（Noto Sans CJK），无法生成 PDF 报表",
                         hint="运行 make deps 安装 fonts-noto-cjk，或改用 --out 报表.xlsx")


def _pct(value) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _num(value) -> str:
    return "—" if value is None else f"{value:g}"


class _Pages:
    """The pages of one document: a running header, page numbers and a cursor that flows
    tables down the page and onto the next."""

    TOP = 0.93
    BOTTOM = 0.06

    def __init__(self, report, font: str):
        self.report = report
        self.font = font
        self.figures = []
        self.fig = None
        self.y = self.TOP

    def new(self, heading: str):
        from matplotlib.figure import Figure

        fig = Figure(figsize=A4)
        fig.text(0.07, 0.965, self.report.title, fontsize=9, color="#555555", family=self.font)
        fig.text(0.93, 0.965, heading, fontsize=9, color="#555555", ha="right", family=self.font)
        fig.add_artist(_line(0.07, 0.93, 0.958))
        self.figures.append(fig)
        self.fig, self.y = fig, self.TOP
        return fig

    def room(self, height: float, heading: str) -> None:
        """Start a new page unless ``height`` still fits below the cursor."""
        if self.fig is None or self.y - height < self.BOTTOM:
            self.new(heading)

    def finish(self) -> bytes:
        from matplotlib.backends.backend_pdf import PdfPages

        buffer = io.BytesIO()
        total = len(self.figures)
        with PdfPages(buffer, metadata={"Title": self.report.title, "Creator": "service-archive"}) as pdf:
            for number, fig in enumerate(self.figures, start=1):
                fig.text(0.5, 0.025, f"第 {number} 页 共 {total} 页", fontsize=8, ha="center", color="#555555",
                         family=self.font)
                pdf.savefig(fig)
        return buffer.getvalue()


def _line(x0, x1, y, colour="#999999", width=0.6):
    from matplotlib.lines import Line2D

    return Line2D([x0, x1], [y, y], color=colour, linewidth=width)


def pdf_bytes(report) -> bytes:
    import matplotlib

    font = _font()
    # Type 3 glyphs: Noto CJK has CFF outlines, which Type 42 embedding mislabels.
    with matplotlib.rc_context({"pdf.fonttype": 3, "axes.unicode_minus": False, "font.family": [font]}):
        pages = _Pages(report, font)
        _front(pages, report)
        _table(pages, "各单位办件情况", _UNIT_COLUMNS, report.units, lambda r: (r.code, r.name))
        _cards(pages, report)
        clerks = report.clerks[:MAX_CLERK_ROWS]
        note = (f"（共 {len(report.clerks)} 人，此处列出前 {MAX_CLERK_ROWS} 人，完整名单见 .xlsx 报表）"
                if len(report.clerks) > MAX_CLERK_ROWS else "")
        _table(pages, "窗口工作人员办件情况" + note, _CLERK_COLUMNS, clerks, lambda r: (r.code, r.unit))
        return pages.finish()


def _front(pages: _Pages, report) -> None:
    fig = pages.new("概况")
    pages.fig = None  # the tables start on a page of their own
    t = report.totals
    per = report.period
    fig.text(0.5, 0.92, report.centre, fontsize=15, ha="center", family=pages.font)
    fig.text(0.5, 0.885, f"窗口办件监察月报　{per.label}", fontsize=20, ha="center", weight="bold", family=pages.font)
    scope = "全中心" if report.scope is None else "、".join(sorted(report.scope))
    fig.text(0.5, 0.86, f"统计期间 {per.start.isoformat()} 至 {per.end.isoformat()}　在办件截至 {per.as_of.isoformat()}"
             f"　范围：{scope}　制表日期 {dt.date.today().isoformat()}", fontsize=8.5, ha="center", color="#444444")
    tiles = [
        ("收件", f"{t.received}", f"受理 {t.accepted}　不予受理 {t.not_accepted}"),
        ("办结", f"{t.concluded}", f"准予 {t.approved}　不予许可 {t.denied}"),
        ("即办率", _pct(t.on_the_spot_rate), f"当场办结 {t.on_the_spot} / 办结 {t.concluded}"),
        ("按时办结率", _pct(t.on_time_rate), f"按时 {t.on_time} / 办结 {t.concluded}"),
        ("提前办结率", _pct(t.early_rate), f"提前 {t.early} / 承诺件办结 {t.promised_concluded}"),
        ("平均用时", f"{_num(t.avg_workdays_used)} 天", f"承诺 {_num(t.avg_promised_days)}　法定 {_num(t.avg_statutory_days)}（工作日）"),
        ("超期件", f"{t.overdue}", f"超期办结 {t.overdue_concluded}　超期未办 {t.open_red}　共 {t.overdue_workdays} 工作日"),
        ("视为受理", f"{t.deemed_accepted}", "五个工作日内未一次告知补正"),
        ("暂停计时", f"{t.paused}", f"暂停 {t.paused_workdays} 个工作日"),
        ("补正告知", f"{t.supplement_notices}", f"{t.supplement_cases} 件，每件 {_num(t.supplements_per_case)} 次"),
        ("满意率", _pct(t.satisfaction_rate), f"满意 {t.satisfied} / 评价 {t.ratings}　差评 {t.bad_ratings}"),
        ("红牌", f"{t.red_cards}", f"差评整改超期 {t.rectifications_late}"),
    ]
    from matplotlib.patches import FancyBboxPatch

    for index, (label, value, detail) in enumerate(tiles):
        col, row = index % 4, index // 4
        x, y = 0.07 + col * 0.218, 0.77 - row * 0.082
        colour = "#fbe9e7" if label in ("超期件", "红牌", "视为受理") and value not in ("0",) else "#eef3f8"
        fig.add_artist(FancyBboxPatch((x, y), 0.2, 0.07, boxstyle="round,pad=0.004", transform=fig.transFigure,
                                      facecolor=colour, edgecolor="#c8d3df", linewidth=0.6))
        fig.text(x + 0.01, y + 0.052, label, fontsize=8.5, color="#333333")
        fig.text(x + 0.01, y + 0.02, value, fontsize=15, weight="bold", color="#1f3b5a")
        fig.text(x + 0.01, y + 0.006, detail, fontsize=5.8, color="#555555")
    _rates_chart(fig, report)
    _open_chart(fig, report)
    _ratings_chart(fig, report)


def _rates_chart(fig, report) -> None:
    rows = sorted((r for r in report.units if r.figures.concluded or r.figures.received),
                  key=lambda r: -r.figures.concluded)[:12]
    ax = fig.add_axes([0.2, 0.325, 0.74, 0.215])
    ax.set_title("各单位即办率、按时办结率与满意率" + ("（按办结量前12个单位）" if len(report.units) > 12 else ""),
                 fontsize=10, loc="left")
    if not rows:
        ax.text(0.5, 0.5, "本期无办件", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    names = [r.name[:10] for r in rows][::-1]
    series = (("即办率", "on_the_spot_rate", "#8fb3de"), ("按时办结率", "on_time_rate", "#2f6db5"),
              ("满意率", "satisfaction_rate", "#5b9a68"))
    height = 0.26
    for offset, (label, attr, colour) in enumerate(series):
        values = [(getattr(r.figures, attr) or 0) * 100 for r in rows][::-1]
        positions = [i + (offset - 1) * height for i in range(len(rows))]
        ax.barh(positions, values, height=height, color=colour, label=label)
    ax.set_yticks(range(len(rows)), names, fontsize=7.5)
    ax.set_xlim(0, 105)
    ax.set_xlabel("%", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.legend(fontsize=7, loc="lower right", ncols=3, frameon=False, bbox_to_anchor=(1, 1.0))
    ax.grid(axis="x", color="#dddddd", linewidth=0.5)
    ax.set_axisbelow(True)


def _open_chart(fig, report) -> None:
    t = report.totals
    ax = fig.add_axes([0.07, 0.075, 0.38, 0.17])
    ax.set_title(f"在办件期限状态（截至 {report.period.as_of.isoformat()}，共 {t.open} 件）", fontsize=9.5, loc="left")
    states = (("正常", t.open_on_track), ("蓝牌", t.open_blue), ("黄牌", t.open_yellow), ("红牌", t.open_red),
              ("暂停", t.open_paused))
    ax.bar([s for s, _ in states], [n for _, n in states], color=[STATE_COLOURS[s] for s, _ in states])
    for index, (_, n) in enumerate(states):
        ax.text(index, n, f"{n}", ha="center", va="bottom", fontsize=8)
    ax.tick_params(labelsize=8)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.margins(y=0.2)
    ax.spines[["top", "right"]].set_visible(False)


def _ratings_chart(fig, report) -> None:
    t = report.totals
    ax = fig.add_axes([0.55, 0.075, 0.39, 0.17])
    ax.set_title(f"好差评（共 {t.ratings} 条，满意率 {_pct(t.satisfaction_rate)}）", fontsize=9.5, loc="left")
    labels = [LEVELS[level] for level in (5, 4, 3, 2, 1)]
    colours = ["#2f7d4a", "#5b9a68", "#a5c78f", "#e08a3c", "#d0342c"]
    ax.bar(range(5), t.levels, color=colours)
    ax.set_xticks(range(5), labels, fontsize=7.5)
    for index, n in enumerate(t.levels):
        ax.text(index, n, f"{n}", ha="center", va="bottom", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.margins(y=0.2)
    ax.spines[["top", "right"]].set_visible(False)


# -- tables -----------------------------------------------------------------------------------

_COMMON = (
    ("收件", 0.055, lambda f: f.received), ("受理", 0.055, lambda f: f.accepted), ("办结", 0.055, lambda f: f.concluded),
    ("即办率", 0.065, lambda f: _pct(f.on_the_spot_rate)), ("按时率", 0.065, lambda f: _pct(f.on_time_rate)),
    ("提前率", 0.065, lambda f: _pct(f.early_rate)), ("超期", 0.045, lambda f: f.overdue),
    ("红/黄/蓝", 0.075, lambda f: f"{f.open_red}/{f.open_yellow}/{f.open_blue}"),
    ("暂停", 0.045, lambda f: f.paused), ("视为受理", 0.07, lambda f: f.deemed_accepted),
    ("均用时", 0.055, lambda f: _num(f.avg_workdays_used)), ("满意率", 0.065, lambda f: _pct(f.satisfaction_rate)),
    ("红牌", 0.045, lambda f: f.red_cards),
)
_UNIT_COLUMNS = (("代码", 0.045), ("单位", 0.19))
_CLERK_COLUMNS = (("工作人员", 0.1), ("单位", 0.06))


ROW = 0.022


def _section(pages: _Pages, title: str, headings, widths, rows, *, empty: str = "（无）") -> None:
    """A titled table that flows down the pages, its header repeated on each."""
    short = title.split("（")[0]
    pages.room(0.04 + ROW * (2 + min(len(rows), 3)), short)
    pages.fig.text(0.07, pages.y, title, fontsize=11, weight="bold", va="top")
    pages.y -= 0.04
    _row(pages.fig, headings, widths, pages.y, header=True)
    if not rows:
        pages.fig.text(0.07, pages.y - ROW, empty, fontsize=8.5)
        pages.y -= 2 * ROW + 0.02
        return
    for index, values in enumerate(rows):
        if pages.y - ROW < pages.BOTTOM:
            pages.new(short)
            pages.fig.text(0.07, pages.y, title + "（续）", fontsize=11, weight="bold", va="top")
            pages.y -= 0.04
            _row(pages.fig, headings, widths, pages.y, header=True)
        pages.y -= ROW
        _row(pages.fig, values, widths, pages.y, shade=index % 2 == 1)
    pages.y -= 0.035


def _table(pages: _Pages, title: str, lead, rows, lead_values) -> None:
    columns = [(text, width, None) for text, width in lead] + list(_COMMON)
    values = [list(lead_values(row)) + [get(row.figures) for _, _, get in columns[len(lead):]] for row in rows]
    _section(pages, title, [text for text, _, _ in columns], [w for _, w, _ in columns], values)


def _fit(text: str, room: float, size: float) -> str:
    """``text`` cut with an ellipsis to fit ``room`` (a fraction of the page width)."""
    import unicodedata

    em = size / 72 / A4[0]  # one CJK character, as a fraction of the page width
    used = 0.0
    for index, ch in enumerate(text):
        used += em if unicodedata.east_asian_width(ch) in "WF" else em * 0.56
        if used > room:
            return text[:max(index - 1, 1)] + "…"
    return text


def _row(fig, values, widths, y, *, header=False, shade=False) -> None:
    from matplotlib.patches import Rectangle

    scale = 0.86 / sum(widths)
    if header or shade:
        fig.add_artist(Rectangle((0.07, y - 0.006), 0.86, ROW, transform=fig.transFigure, linewidth=0,
                                 facecolor="#dde6f0" if header else "#f4f6f9"))
    size = 7.6 if header else 7.2
    x = 0.07
    for value, width in zip(values, widths):
        fig.text(x + 0.004, y, _fit(str(value), width * scale - 0.008, size), fontsize=size,
                 weight="bold" if header else "normal", ha="left", va="bottom")
        x += width * scale


def _cards(pages: _Pages, report) -> None:
    cards = list(report.red_cards)
    title = f"红牌（本期在册 {len(cards)} 张：办件超期与差评整改超期，办结、整改后仍留档）"
    if len(cards) > MAX_CARD_ROWS:
        title += f"　此处列出前 {MAX_CARD_ROWS} 张，完整名单见 .xlsx 报表"
    rows = [(alerts.CARD_KINDS[card.kind], card.case_no, card.unit, card.item_code, card.clerk,
             card.due_on.isoformat(), card.raised_on.isoformat(), card.days_over,
             card.closed_on.isoformat() if card.closed_on else "未办结") for card in cards[:MAX_CARD_ROWS]]
    _section(pages, title, ("类别", "办件编号", "单位", "事项", "工作人员", "期限", "亮牌日期", "超期日", "办结/整改"),
             (0.12, 0.17, 0.07, 0.13, 0.1, 0.11, 0.11, 0.08, 0.11), rows, empty="本期没有红牌。")
