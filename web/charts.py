"""Charts drawn on the server as inline SVG: no script, no CDN, readable without a network.

Each function returns markup to place in a page as it is; every text in it is escaped, and
a bar can link to the cases behind it (the drill-down).
"""

from __future__ import annotations

from markupsafe import Markup, escape

FONT = 'font-family="Noto Sans CJK SC, Microsoft YaHei, sans-serif"'
COLOURS = {"on_track": "#3d8b40", "blue": "#1f6fd1", "yellow": "#e0a800", "red": "#c62828", "paused": "#7b8794",
           "bar": "#16427a", "bar2": "#4f86c6", "grid": "#d5dbe3", "text": "#1d2733"}


def _link(href: str | None, inner: str) -> str:
    return f'<a href="{escape(href)}">{inner}</a>' if href else inner


def rate_bars(rows, *, title: str, width: int = 560, big: bool = False) -> Markup:
    """Horizontal bars of rates 0–1: ``rows`` are ``(label, rate or None, detail text, href)``."""
    size = 22 if big else 14
    line = 40 if big else 26
    left = 230 if big else 170
    right = 150 if big else 120
    bar_width = width - left - right
    height = 30 + line * max(1, len(rows))
    parts = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="100%" {FONT} font-size="{size}">', f"<title>{escape(title)}</title>"]
    for tick in (0, 0.5, 1):
        x = left + bar_width * tick
        parts.append(f'<line x1="{x:.1f}" y1="18" x2="{x:.1f}" y2="{height - 6}" stroke="{COLOURS["grid"]}"/>')
        parts.append(f'<text x="{x:.1f}" y="13" text-anchor="middle" fill="#66717d" font-size="{size - 3}">'
                     f'{int(tick * 100)}%</text>')
    fits = int((left - 12) / size)  # characters the label column holds
    for i, (label, rate, detail, href) in enumerate(rows):
        y = 24 + i * line
        shown = label if len(label) <= fits else label[:fits - 1] + "…"
        parts.append(f'<text x="{left - 8}" y="{y + line * 0.55:.1f}" text-anchor="end" fill="{COLOURS["text"]}">'
                     f'<title>{escape(label)}</title>{escape(shown)}</text>')
        if rate is None:
            parts.append(f'<text x="{left + 4}" y="{y + line * 0.55:.1f}" fill="#66717d">无办结</text>')
            continue
        bar = f'<rect x="{left}" y="{y + 3}" width="{max(1.0, bar_width * rate):.1f}" height="{line - 9}" ' \
              f'fill="{COLOURS["bar"]}" rx="2"/>'
        parts.append(_link(href, bar))
        parts.append(f'<text x="{left + bar_width + 8}" y="{y + line * 0.55:.1f}" fill="{COLOURS["text"]}">'
                     f'{rate * 100:.1f}%{escape(detail)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def state_bar(parts_in, *, title: str, width: int = 560, big: bool = False) -> Markup:
    """One stacked bar of open cases by due state: ``(label, count, colour key, href)``, then a legend."""
    size = 22 if big else 14
    total = sum(count for _, count, _, _ in parts_in)
    bar_height = 46 if big else 30
    legend_line = 34 if big else 24
    height = bar_height + 16 + legend_line * ((len(parts_in) + 2) // 3)
    out = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
           f'width="100%" {FONT} font-size="{size}">', f"<title>{escape(title)}</title>"]
    x = 0.0
    if total == 0:
        out.append(f'<rect x="0" y="0" width="{width}" height="{bar_height}" fill="{COLOURS["grid"]}" rx="3"/>')
        out.append(f'<text x="{width / 2}" y="{bar_height * 0.65:.1f}" text-anchor="middle" fill="#66717d">'
                   "无在办件</text>")
    for label, count, colour, href in parts_in:
        if not count:
            continue
        w = width * count / total
        out.append(_link(href, f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{bar_height}" '
                               f'fill="{COLOURS[colour]}"><title>{escape(label)} {count}</title></rect>'))
        x += w
    for i, (label, count, colour, href) in enumerate(parts_in):
        lx = (i % 3) * width / 3
        ly = bar_height + 14 + (i // 3) * legend_line
        swatch = size
        out.append(f'<rect x="{lx:.1f}" y="{ly}" width="{swatch}" height="{swatch}" fill="{COLOURS[colour]}"/>')
        out.append(_link(href, f'<text x="{lx + swatch + 6:.1f}" y="{ly + swatch - 2}" fill="{COLOURS["text"]}">'
                               f'{escape(label)} {count}</text>'))
    out.append("</svg>")
    return Markup("".join(out))


def count_bars(rows, *, title: str, width: int = 560, big: bool = False) -> Markup:
    """Vertical bars of counts: ``(label, count)`` (ratings by level)."""
    size = 20 if big else 13
    height = 220 if big else 160
    top, bottom = 24, 30
    peak = max([count for _, count in rows] + [1])
    slot = width / max(1, len(rows))
    out = [f'<svg class="chart" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
           f'width="100%" {FONT} font-size="{size}">', f"<title>{escape(title)}</title>",
           f'<line x1="0" y1="{height - bottom}" x2="{width}" y2="{height - bottom}" stroke="{COLOURS["grid"]}"/>']
    for i, (label, count) in enumerate(rows):
        h = (height - top - bottom) * count / peak
        x = i * slot + slot * 0.2
        colour = COLOURS["red"] if label in ("不满意", "非常不满意") else COLOURS["bar2"]
        out.append(f'<rect x="{x:.1f}" y="{height - bottom - h:.1f}" width="{slot * 0.6:.1f}" height="{h:.1f}" '
                   f'fill="{colour}" rx="2"/>')
        out.append(f'<text x="{x + slot * 0.3:.1f}" y="{height - bottom - h - 5:.1f}" text-anchor="middle" '
                   f'fill="{COLOURS["text"]}">{count}</text>')
        out.append(f'<text x="{x + slot * 0.3:.1f}" y="{height - 8}" text-anchor="middle" '
                   f'fill="{COLOURS["text"]}">{escape(label)}</text>')
    out.append("</svg>")
    return Markup("".join(out))
