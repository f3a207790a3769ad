"""Draw the specimen seal images (样章) of the sample centre's units.

A real seal image is an authorised asset that a centre configures per unit; the product
never draws one. Demos and tests need a stand-in, so this script draws, for every unit of
a centre file, a round red seal in the usual layout of a 行政许可专用章 (ring, unit name
along the upper arc, five-pointed star, 行政许可专用章 below it) and stamps 样章 across it
in large characters, cut out of the seal, so that the image can never pass for a real
seal. The bottom arc reads 仅供演示　不具法律效力.

Usage (writes archive/data/seal_<unit>.png; existing files need --force)::

    .venv/bin/python tools/make_specimen_seals.py
    .venv/bin/python tools/make_specimen_seals.py --centre my_centre.json --out seals/ --size 400 --force
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CENTRE = ROOT / "archive" / "data" / "sample_centre.json"
DEFAULT_OUT = ROOT / "archive" / "data"
FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/noto-cjk"),
             Path("/usr/share/fonts/opentype/noto-cjk"))
RED = (214, 0, 15)
SCALE = 4  # draw large, then downsample for smooth edges


def find_font(file_names: tuple[str, ...], explicit: str | None = None) -> tuple[str, int]:
    """A CJK font file and the index of its Simplified Chinese face."""
    candidates = [Path(explicit)] if explicit else [d / name for name in file_names for d in FONT_DIRS]
    for path in candidates:
        if not path.is_file():
            continue
        for index in range(10):
            try:
                family = ImageFont.truetype(str(path), 10, index=index).getname()[0]
            except OSError:
                break
            if family.endswith(" SC"):
                return str(path), index
        return str(path), 0
    sys.exit(f"找不到中文字体（{', '.join(file_names)}）；请用 --font 指定 .ttc/.otf 文件")


def glyph(char: str, font: ImageFont.FreeTypeFont, squeeze: float = 1.0) -> Image.Image:
    """One character as a red RGBA tile, optionally narrowed the way seal lettering is."""
    left, top, right, bottom = font.getbbox(char)
    size = font.size
    tile = Image.new("RGBA", (size * 2, size * 2), (0, 0, 0, 0))
    ImageDraw.Draw(tile).text((size - (left + right) / 2, size - (top + bottom) / 2), char, font=font, fill=RED)
    tile = tile.crop(tile.getbbox() or (0, 0, 1, 1))
    if squeeze != 1.0:
        tile = tile.resize((max(1, round(tile.width * squeeze)), tile.height), Image.LANCZOS)
    return tile


def paste_rotated(canvas: Image.Image, tile: Image.Image, centre: tuple[float, float], clockwise_deg: float) -> None:
    rotated = tile.rotate(-clockwise_deg, resample=Image.BICUBIC, expand=True)
    x = round(centre[0] - rotated.width / 2)
    y = round(centre[1] - rotated.height / 2)
    canvas.alpha_composite(rotated, (x, y))


def arc_text(canvas, text, font, centre, radius, span_deg, *, bottom=False, squeeze=0.78):
    """Lay ``text`` along the upper arc (reading clockwise) or the lower arc (reading left to right)."""
    n = len(text)
    for k, char in enumerate(text):
        offset = -span_deg / 2 + span_deg * (k + 0.5) / n
        theta = 180 - offset if bottom else offset  # degrees clockwise from 12 o'clock
        position = (centre[0] + radius * math.sin(math.radians(theta)),
                    centre[1] - radius * math.cos(math.radians(theta)))
        paste_rotated(canvas, glyph(char, font, squeeze), position, theta - 180 if bottom else theta)


def star(draw: ImageDraw.ImageDraw, centre, radius: float) -> None:
    points = []
    for k in range(10):
        r = radius if k % 2 == 0 else radius * 0.382
        angle = math.radians(-90 + 36 * k)
        points.append((centre[0] + r * math.cos(angle), centre[1] + r * math.sin(angle)))
    draw.polygon(points, fill=RED)


def specimen_seal(unit_name: str, size: int, serif: tuple[str, int], sans: tuple[str, int]) -> Image.Image:
    big = size * SCALE
    c = (big / 2, big / 2)
    outer = big * 0.47
    ring = big * 0.028
    seal = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(seal)
    draw.ellipse((c[0] - outer, c[1] - outer, c[0] + outer, c[1] + outer), outline=RED, width=round(ring))

    n = len(unit_name)
    span = min(250.0, 22.0 * n + 20)
    text_radius = outer - ring - big * 0.085
    char_size = min(big * 0.105, 2 * math.pi * text_radius * span / 360 / n * 1.05)
    arc_text(seal, unit_name, ImageFont.truetype(serif[0], round(char_size), index=serif[1]), c, text_radius, span)
    arc_text(seal, "仅供演示　不具法律效力", ImageFont.truetype(sans[0], round(big * 0.042), index=sans[1]),
             c, outer - ring - big * 0.045, 100, bottom=True, squeeze=1.0)
    star(draw, (c[0], c[1] - big * 0.02), big * 0.13)
    label_font = ImageFont.truetype(serif[0], round(big * 0.062), index=serif[1])
    label = "行政许可专用章"
    width = draw.textlength(label, font=label_font)
    draw.text((c[0] - width / 2, c[1] + big * 0.17), label, font=label_font, fill=RED)

    # 样章 across the seal, cut out of it so it reads clearly over ring, star and text.
    mark_font = ImageFont.truetype(sans[0], round(big * 0.30), index=sans[1])
    mark = Image.new("L", (big, big), 0)
    mark_draw = ImageDraw.Draw(mark)
    halo = Image.new("L", (big, big), 0)
    halo_draw = ImageDraw.Draw(halo)
    text = "样章"
    box = mark_draw.textbbox((0, 0), text, font=mark_font)
    origin = (c[0] - (box[0] + box[2]) / 2, c[1] - (box[1] + box[3]) / 2)
    halo_draw.text(origin, text, font=mark_font, fill=255, stroke_width=round(big * 0.022), stroke_fill=255)
    mark_draw.text(origin, text, font=mark_font, fill=255)
    halo = halo.rotate(18, resample=Image.BICUBIC, center=c)
    mark = mark.rotate(18, resample=Image.BICUBIC, center=c)
    alpha = ImageChops.subtract(seal.getchannel("A"), halo)
    seal.putalpha(alpha)
    overlay = Image.new("RGBA", (big, big), RED + (255,))
    overlay.putalpha(mark)
    seal.alpha_composite(overlay)

    out = seal.resize((size, size), Image.LANCZOS)
    # A stamp is ink, not paint: let the paper show through a little.
    out.putalpha(out.getchannel("A").point(lambda a: a * 235 // 255))
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="为各单位绘制标明“样章”的示例印章图片（PNG，透明背景）")
    parser.add_argument("--centre", default=str(DEFAULT_CENTRE), help="服务中心文件（含 units），默认示例中心")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="输出文件夹，默认 archive/data")
    parser.add_argument("--size", type=int, default=400, help="图片边长（像素），默认 400")
    parser.add_argument("--font", help="单位名称所用字体文件（默认 Noto Serif CJK SC Bold）")
    parser.add_argument("--force", action="store_true", help="覆盖已存在的图片")
    args = parser.parse_args(argv)

    units = json.loads(Path(args.centre).read_text(encoding="utf-8"))["units"]
    serif = find_font(("NotoSerifCJK-Bold.ttc", "NotoSerifCJK-Regular.ttc"), args.font)
    sans = find_font(("NotoSansCJK-Bold.ttc", "NotoSansCJK-Regular.ttc"))
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    for unit in units:
        target = out_dir / unit["seal"]
        if target.exists() and not args.force:
            print(f"已存在，跳过（加 --force 覆盖）：{target}")
            continue
        image = specimen_seal(unit["name"], args.size, serif, sans)
        info = PngInfo()
        info.add_itxt("Title", f"{unit['name']} 样章")
        info.add_itxt("Description", "Specimen seal (样章) for demos and tests only; not a real seal, no legal effect.")
        tmp = target.with_name(f".{target.name}.tmp")
        image.save(tmp, format="PNG", pnginfo=info, optimize=True)
        tmp.replace(target)
        print(f"已生成：{target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
