"""Draw the specimen certification stamp (档案证明专用章) for certified copies.

    python tools/make_certify_stamp.py [PATH]   # default: archive/data/certify_stamp.png

The archive's real stamp is an authorised asset a centre configures (``lending.certify_stamp``
names a PNG in the workspace's ``seals/`` folder); the product never draws a real one. This
draws the packaged specimen used by demos and tests: a red round stamp with the organ name
on the upper arc, a star, 档案证明专用章 and a large 样章, so nobody can mistake a copy that
carries it for a certified one.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "archive" / "data" / "certify_stamp.png"
ORGAN = "示例政务服务中心档案室"
PURPOSE = "档案证明专用章"
FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


def _font(size: int):
    from PIL import ImageFont

    for path in FONTS:
        if Path(path).exists():
            # Noto CJK collections order their faces JP, KR, SC, TC, HK: 2 is Simplified Chinese.
            return ImageFont.truetype(path, size, index=2)
    sys.exit("找不到中文字体（Noto CJK），无法绘制样章：请安装 fonts-noto-cjk")


def draw(path: Path, size_px: int = 600) -> Path:
    """A round red specimen stamp marked 样章, 40 mm across at its stated resolution."""
    from PIL import Image, ImageDraw

    red = (200, 20, 30, 235)
    img = Image.new("RGBA", (size_px, size_px), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    c = size_px / 2
    ring = size_px * 0.035
    draw.ellipse([ring / 2, ring / 2, size_px - ring / 2, size_px - ring / 2], outline=red, width=int(ring))
    inner = size_px * 0.075
    draw.ellipse([inner, inner, size_px - inner, size_px - inner], outline=red, width=max(2, int(ring / 4)))

    r_out, r_in = size_px * 0.11, size_px * 0.042
    star = []
    for k in range(10):
        r = r_out if k % 2 == 0 else r_in
        a = math.pi / 2 + k * math.pi / 5
        star.append((c + r * math.cos(a), c - 0.03 * size_px - r * math.sin(a)))
    draw.polygon(star, fill=red)

    font = _font(int(size_px * 0.085))
    radius = c - size_px * 0.16
    span = math.radians(200)
    for i, ch in enumerate(ORGAN):
        a = math.pi / 2 + span / 2 - span * i / (len(ORGAN) - 1)
        glyph = Image.new("RGBA", (int(size_px * 0.13),) * 2, (0, 0, 0, 0))
        ImageDraw.Draw(glyph).text((glyph.width / 2, glyph.height / 2), ch, font=font, fill=red, anchor="mm")
        glyph = glyph.rotate(math.degrees(a - math.pi / 2), resample=Image.BICUBIC)
        img.alpha_composite(glyph, (int(c + radius * math.cos(a) - glyph.width / 2),
                                    int(c - radius * math.sin(a) - glyph.height / 2)))
    draw.text((c, c + size_px * 0.15), PURPOSE, font=_font(int(size_px * 0.068)), fill=red, anchor="mm")
    draw.text((c, c + size_px * 0.29), "样 章", font=_font(int(size_px * 0.15)), fill=(150, 0, 0, 255), anchor="mm")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, dpi=(381, 381))  # 600 px = 40 mm
    return path


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else DEFAULT_OUT
    print(f"已生成 {draw(out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
