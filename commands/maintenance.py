"""Commands that keep an installation running: the search indexer, backups and restores.

``archive indexer`` ↔ ``search.indexer.Indexer.run``; ``archive backup`` ↔
``backup.backup``; ``archive restore`` ↔ ``backup.restore``.
"""

from __future__ import annotations

import sys

import click

from .common import ArchiveCommand, as_installation_unless_named, emit, json_option, session_command


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1024 or unit == "TB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return str(n)


def _progress_printer(enabled: bool):
    def progress(done, total, label):
        click.echo(f"\r{label}：{done}/{total}", nl=False, err=True)
        if done == total:
            click.echo("", err=True)

    return progress if enabled else None


@session_command(None, "indexer")
@click.option("--once", is_flag=True, help="只应用当前积压的变更并合并索引分段（包括较大的分段，大的索引可能要几分钟），"
                                           "然后退出（适合在批量导入后或由夜间定时任务运行）")
@click.option("--poll", type=click.FloatRange(0.05, 60), default=0.2, show_default=True,
              help="空闲时每隔多少秒查看一次新的变更")
@click.option("--verbose", "-v", is_flag=True, help="每应用一批变更输出一行")
@json_option
def indexer_command(session, once, poll, verbose, as_json):
    """检索索引进程：按提交顺序把数据库的变更记录应用到全文检索索引。

    同一时间只有一个索引进程写索引（锁在数据库里）；再启动一个会等前一个退出。
    不指定经办人时在服务器本机上以超级用户身份运行；指定经办人时该账户须有“运行检索索引进程”的权限（系统管理员）。
    进程随时被终止都不会丢失变更：重新启动后从索引记下的最后一项接着应用。
    没有索引进程时，每条办理业务的命令在退出前自己补上索引。

    \b
    示例：
      archive indexer                 常驻运行（可由 systemd 管理，见 docs/deploy.md）
      archive indexer --once --json   应用积压的变更、合并索引分段后退出
    """
    import signal
    import threading

    from archive.search import indexer

    as_installation_unless_named(session)
    stop = threading.Event()

    def on_event(kind, detail):
        if as_json and kind != "error":
            return
        if kind == "started":
            click.echo(f"检索索引进程已启动（工作区 {session.ws.home}）", err=True)
        elif kind == "waiting":
            who = f"（{detail['holder']}）" if detail.get("holder") else ""
            tail = "；--once 不等待，由它应用积压的变更" if once else "，等待它退出"
            click.echo(f"另一个检索索引进程正在运行{who}{tail}", err=True)
        elif kind == "batch" and verbose:
            click.echo(f"已应用 {detail['entries']} 项变更（{detail['records']} 件），索引已到第 {detail['applied']} 项，"
                       f"用时 {detail['seconds']:.2f} 秒", err=True)
        elif kind == "merged" and (verbose or once):
            click.echo(f"已合并一次索引分段，用时 {detail['seconds']:.1f} 秒", err=True)
        elif kind == "rebuild":
            click.echo(f"变更记录中缺少索引之后的部分（索引在第 {detail['applied']} 项，数据库已到第 {detail['head']} 项），"
                       "正在重建检索索引……", err=True)
        elif kind == "error":
            again = "" if once else f"，{indexer.ERROR_PAUSE:.0f} 秒后重试"
            click.echo(f"错误：检索索引未能更新：{detail['message']}{again}", err=True)
        elif kind == "stopped" and not once:
            click.echo(f"检索索引进程已停止：共应用 {detail['entries']} 项变更", err=True)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    worker = indexer.Indexer(session, poll=poll, on_event=on_event)
    stats = worker.run(stop, once=once)
    if once:
        from archive.search import index

        status = index.status(session)
        data = dict(stats.to_dict(), lag=status.lag, exists=status.exists)
        text = (f"已应用 {stats.entries} 项变更；索引尚落后 {status.lag['changes']} 项" if status.exists
                else "尚未建立检索索引：运行 archive reindex")
        emit(as_json, data, text)
        if stats.errors:
            sys.exit(1)


@session_command(None, "backup")
@click.argument("dest", type=click.Path(file_okay=False), metavar="备份目录")
@click.option("--keep", type=click.IntRange(1), help="只保留最新的几份备份（更早的在新备份完成后删除）")
@click.option("--full", is_flag=True, help="全量备份：重新读取并复制每个文件，不与上一份备份共用")
@click.option("--progress", "show_progress", is_flag=True, help="显示进度")
@json_option
def backup_command(session, dest, keep, full, show_progress, as_json):
    """备份工作区：数据库快照、全部文书、配置、印章图片和字体，附 SHA-256 清单。

    办理业务不必停下：数据库取一致的快照（SQLite 在线备份 / PostgreSQL pg_dump）。
    每次备份是 DEST 下的一个新目录（清单和数据库快照），文件内容按 SHA-256 只存一份，
    放在 DEST/objects 下，各次备份共用；大小、修改时间、变更时间和 inode 都与上一份备份
    记录相同的文件不再读取（--full 则全部重新读取并重写）。--keep 删除较早的备份后，
    也删除已无备份用到的文件内容。恢复时仍逐个核对每个文件的 SHA-256。
    备份中途被终止不影响已有的备份。备份目录只有其所有者可读写（0700/0600）。
    备份含全部数据和账户的密码散列：不指定经办人时在服务器本机上以超级用户身份执行，
    指定经办人时该账户须有“备份工作区”的权限（系统管理员）；每次备份记入审计日志。

    \b
    示例：
      archive backup /mnt/backup/centre --keep 14
      archive backup /mnt/backup/centre --full      每周一次全量备份
      archive restore /mnt/backup/centre --home ./restored
    """
    from archive import backup

    as_installation_unless_named(session)
    report = backup.backup(session, dest, keep=keep, full=full, progress=_progress_printer(show_progress))
    lines = [
        f"备份完成：{report.path}",
        f"数据库：{'PostgreSQL（pg_dump）' if report.store == 'postgresql' else 'SQLite'}，快照到第 {report.generation} 项变更",
        f"文件 {report.files} 个，共 {_size(report.bytes)}；本次复制 {report.copied_files} 个（{_size(report.copied_bytes)}）"
        + (f"，{report.linked_files} 个与已有备份相同，不再存储" if report.linked_files else ""),
        f"用时 {report.seconds:.1f} 秒",
    ]
    if report.missing:
        lines.append(f"警告：数据库登记的 {len(report.missing)} 个文件在工作区中找不到，未能备份（请运行 archive verify）：")
        lines += [f"  {path}" for path in report.missing[:20]]
    if report.removed:
        lines.append(f"已删除较早的备份：{'、'.join(report.removed)}")
    emit(as_json, report.to_dict(), "\n".join(lines))


@click.command("restore", cls=ArchiveCommand)
@click.argument("src", type=click.Path(file_okay=False), metavar="备份目录")
@click.option("--home", required=True, type=click.Path(file_okay=False),
              help="恢复到的新工作区目录（不存在或为空）")
@click.option("--db", "database_url", help="PostgreSQL 备份恢复到的空数据库，如 postgresql+psycopg://archive@localhost/restored")
@click.option("--progress", "show_progress", is_flag=True, help="显示进度")
@json_option
def restore_command(src, home, database_url, show_progress, as_json):
    """从备份恢复出一个新工作区，然后核验。

    先逐个文件核对备份清单（SHA-256），备份有损坏时拒绝恢复并指出第一个坏文件；
    恢复后核验全部案卷文件并重建全文检索索引。SRC 可以是一份备份，也可以是
    archive backup 的目标目录（取其中最新的完整备份）。

    \b
    示例：
      archive restore /mnt/backup/centre --home /srv/archive-restored
      archive restore /mnt/backup/centre/2026-10-01T02-00-00 --home ./r --db postgresql+psycopg://archive@localhost/r
    """
    from archive import backup

    report = backup.restore(src, home, database_url=database_url, progress=_progress_printer(show_progress))
    lines = [
        f"已从 {report.backup} 恢复到 {report.home}",
        f"数据库：{'PostgreSQL ' + report.to_dict()['database_url'] if report.store == 'postgresql' else 'SQLite'}",
        f"文件 {report.files} 个，共 {_size(report.bytes)}；检索索引 {report.indexed} 件",
    ]
    if report.ok:
        lines.append("核验：全部案卷文件完好")
    emit(as_json, report.to_dict(), "\n".join(lines))
    if not report.ok:
        from archive.shelf.fixity import PROBLEMS

        click.echo(f"错误：恢复完成，但核验发现 {len(report.problems)} 个问题：", err=True)
        for problem in report.problems[:20]:
            click.echo(f"  {PROBLEMS[problem.problem]}  {problem.path}", err=True)
        sys.exit(1)


COMMANDS = (indexer_command, backup_command, restore_command)
