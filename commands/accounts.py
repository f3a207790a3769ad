"""Commands for accounts and the audit trail: `archive user …`, `archive audit …`.

On the server's own shell `archive user …` acts as the installation's superuser (as
Django's createsuperuser does) and is recorded in the audit trail as such. `archive audit`
reads the trail as the operator's account, which needs the auditor's permission.
"""

from __future__ import annotations

import functools
import sys

import click

from .common import ArchiveGroup, emit, home_option, json_option, session_command, split_codes


@click.group("user", cls=ArchiveGroup)
def user_group():
    """账户：新建、改密码、停用、列出、授予角色（在服务器本机上以超级用户身份执行，记入审计日志）。"""


def superuser_command(name, **kwargs):
    """A `user` subcommand that receives a superuser session (``--home`` only)."""

    def decorate(func):
        @user_group.command(name, **kwargs)
        @home_option
        @json_option
        @functools.wraps(func)
        def wrapper(home, as_json, **options):
            from archive.centre import open_session

            with open_session(home) as opened:
                opened.superuser = True
                opened.client = "服务器命令行"
                return func(opened, as_json=as_json, **options)

        return wrapper

    return decorate


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("密码", hide_input=True, confirmation_prompt="再输入一次")


def _user_text(user) -> str:
    units = "、".join(user.units) or "全部单位"
    state = "有效" if user.active else "已停用"
    extra = "，首次登录须改密码" if user.must_change else ""
    return f"{user.name}\t{user.role}\t{units}\t{state}{extra}"


@superuser_command("add")
@click.argument("name", metavar="账户名")
@click.option("--role", required=True, help="角色，如 clerk、unit_head、archivist、archive_head、principal、staff、reader、public、sysadmin、secadmin、auditor")
@click.option("--unit", "units", multiple=True, help="所属单位代码（可多次给出；不给则为全部单位）")
@click.option("--fonds", "fonds", multiple=True, help="负责的全宗号（可多次给出；不给则为全部全宗）")
@click.option("--password-stdin", is_flag=True, help="从标准输入读一行作为密码（便于脚本）")
def user_add(session, name, role, units, fonds, password_stdin, as_json):
    """新建账户；首次登录时须修改密码。

    \b
    示例：
      echo 'Chuang-kou-2026!' | archive user add 李四 --role clerk --unit SJ --password-stdin
    """
    from archive.core import accounts

    units = [u for value in units for u in split_codes(value)]
    user = accounts.add(session, name, role=role, units=units, fonds=list(fonds),
                        password=_read_password(password_stdin))
    emit(as_json, user.to_dict(), f"已建立账户：{_user_text(user)}")


@superuser_command("passwd")
@click.argument("name", metavar="账户名")
@click.option("--password-stdin", is_flag=True, help="从标准输入读一行作为密码")
def user_passwd(session, name, password_stdin, as_json):
    """重设账户密码；该账户下次登录时须修改密码，登录锁定随之解除。

    \b
    示例：
      echo 'Xin-mi-ma-2026!' | archive user passwd 李四 --password-stdin
    """
    from archive.core import accounts

    user = accounts.set_password(session, name, _read_password(password_stdin))
    emit(as_json, user.to_dict(), f"已重设密码：{user.name}（下次登录须修改）")


@superuser_command("disable")
@click.argument("name", metavar="账户名")
def user_disable(session, name, as_json):
    """停用账户：不能再登录或办理，已登录的会话随即失效。

    \b
    示例：
      archive user disable 李四
    """
    from archive.core import accounts

    user = accounts.disable(session, name)
    emit(as_json, user.to_dict(), f"已停用账户：{user.name}")


@superuser_command("grant")
@click.argument("name", metavar="账户名")
@click.option("--role", required=True, help="新的角色")
@click.option("--unit", "units", multiple=True, help="所属单位代码（给出则替换原有的）")
def user_grant(session, name, role, units, as_json):
    """为账户授予另一个角色（原有会话随即失效）。

    \b
    示例：
      archive user grant 李四 --role unit_head --unit SJ
    """
    from archive.core import accounts

    units = [u for value in units for u in split_codes(value)] or None
    user = accounts.grant(session, name, role=role, units=units)
    emit(as_json, user.to_dict(), f"已授予角色：{_user_text(user)}")


@superuser_command("list")
def user_list(session, as_json):
    """列出全部账户。

    \b
    示例：
      archive user list --json
    """
    from archive.core import accounts

    users = accounts.list_users(session)
    emit(as_json, [u.to_dict() for u in users],
         "\n".join(["姓名\t角色\t单位\t状态"] + [_user_text(u) for u in users]))


@click.group("audit", cls=ArchiveGroup)
def audit_group():
    """审计日志：核验哈希链、查看记录（需要安全审计员账户）。"""


@session_command(audit_group, "verify")
@json_option
def audit_verify(session, as_json):
    """核验审计日志的哈希链：完好时退出码为 0，发现被修改或删除的记录时为 1 并指出第一条。

    \b
    示例：
      archive audit verify --operator 韩梅
    """
    from archive.core import audit

    result = audit.verify(session)
    if result.ok:
        emit(as_json, result.to_dict(), f"审计日志完好：共 {result.checked} 条记录，哈希链无断裂")
        return
    emit(as_json, result.to_dict(), None)
    if not as_json:
        click.echo(f"审计日志被篡改：{result.reason}（已核验 {result.checked} 条）", err=True)
    sys.exit(1)


@session_command(audit_group, "list")
@click.option("--actor", help="只看某人的记录")
@click.option("--action", help="只看某种操作，如 login、receive")
@click.option("--since", help="起始时间，如 2026-09-28")
@click.option("--limit", type=int, default=50, show_default=True, help="最多显示几条（最新的在前）")
@json_option
def audit_list(session, actor, action, since, limit, as_json):
    """查看审计日志（最新的在前）。

    \b
    示例：
      archive audit list --operator 韩梅 --action login --limit 20
    """
    from archive.core import audit

    rows = audit.entries(session, actor=actor, action=action, since=since, limit=limit)
    lines = [f"{e.seq}\t{e.at}\t{e.actor}\t{e.action_text}\t{e.subject}\t{e.outcome_text}\t{e.client}" for e in rows]
    emit(as_json, [e.to_dict() for e in rows], "\n".join(lines) or "（没有记录）")


COMMANDS = (user_group, audit_group)
