"""archive 命令行：窗口受理、文书打印、归档、借阅与检索。

The command line is a thin skin over the ``archive`` library: each command parses its
options, makes one library call and formats the result. The commands live in this
package (``commands/`` in a source checkout, ``archive.commands`` once installed), one
module per area; library errors are mapped to click in exactly one place,
``common.ArchiveGroup``. This module assembles them into the ``archive`` command.
"""

from __future__ import annotations

import click

from . import accounts, filing, jobs, lending, maintenance, registers, search, server, supervision, window
from .common import CONTEXT_SETTINGS, ArchiveGroup, localise


@click.group(cls=ArchiveGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(package_name="service-archive")
def main():
    """政务服务中心办件与档案系统。

    \b
    快速开始：
      archive init --sample --home ./demo       建立带示例数据的工作区
      export ARCHIVE_HOME=./demo ARCHIVE_OPERATOR=王芳
      archive catalog list                     查看事项目录
      archive case receive --item SJ-XK-001 --applicant 张三 \\
          --id-number 11010519491231002X --phone 13800138000 --materials M01,M02
    """




for module in (window, filing, search, lending, supervision, registers, accounts, server, maintenance, jobs):
    for command in module.COMMANDS:
        main.add_command(command)

# `archive report` gathers the reports of several areas (lending's group holds them).
for command in supervision.REPORTS:
    lending.report_group.add_command(command)
localise(main)

