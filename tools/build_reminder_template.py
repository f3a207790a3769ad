"""Build ``templates/reminder.docx``, the 催还通知单 (overdue-volume reminder), from code.

    python tools/build_reminder_template.py [--out templates/]

The reminder looks like the window's notices (``tools/build_templates.py``, whose page
setup, styles and part head/foot it reuses): GB/T 9704 A4 page, 3号仿宋 body with the
East Asian font named explicitly, the title with the part label at the right margin, the
number line with the check code, one page per part (联: 借阅人收执 / 档案室存根), the
issuing organ and date with the seal, and the borrower's signature at their left. The variables are
exactly those of ``schemas/reminder.json``; ``level`` 1, 2, 3 is the first, second and
final reminder, and the final one adds the warning paragraph.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import build_templates as bt  # noqa: E402  (the window's template builder, reused)

ROOT = Path(__file__).resolve().parent.parent


def build_reminder() -> "bt.Notice":
    n = bt.Notice("催还通知单")
    bt._part_head(n)
    n.p("\t（{{ level_name }}）\t", style="文号")
    # The archival code lives in its own wide cell, never in running text, so it never wraps.
    n.table([22, 58, 26, 50], [
        ["借阅人", "{{ borrower.name }}", "借阅证号", "{{ borrower.code }}"],
        ["工作单位", "{{ borrower.unit }}", "联系电话", "{{ borrower.phone }}"],
        ["借阅单号", "{{ loan.number }}", "利用方式", "{{ loan.mode_name }}"],
        ["档号", "{{ loan.archival_code }}", None, None],
        ["案卷题名", "{{ loan.title }}", None, None],
        ["借出日期", "{{ loan.lent_on }}", "应还日期", "{{ loan.due_on }}"],
    ])
    n.p("{{ borrower.name }}：", style="主送")
    n.p("你于{{ loan.lent_on }}借阅的上列案卷应于{{ loan.due_on }}归还，至今已逾期{{ loan.days_overdue }}天。"
        "请于{{ return_by }}前将案卷完整归还档案室。借阅期间不得转借他人，不得拆卷、抽页或在卷内圈划、书写；"
        "逾期未还期间不能借阅其他档案。")
    n.tag("{%p if level == 3 %}")
    n.p("本通知为最后一次催还。逾期仍不归还的，将停止你的借阅资格，并通报你所在单位，"
        "依照《中华人民共和国档案法》的有关规定处理。")
    n.tag("{%p endif %}")
    bt._part_foot(n, signer="借阅人")
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "templates",
                        help="folder for reminder.docx (default: templates/)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "reminder.docx"
    build_reminder().save(path)
    print(f"已生成 {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
