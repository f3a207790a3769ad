"""Commands of the search area: full-text search and rebuilding the index."""

from __future__ import annotations

import click

from .common import Choice, as_installation_unless_named, emit, json_option, progress_reporter, session_command


def _facet_text(result, unit_names: dict) -> str:
    labels = {"year": "年度", "unit": "单位", "class": "分类"}
    parts = []
    for name, counts in result.facets.items():
        if not counts:
            continue
        shown = "、".join(f"{unit_names.get(k, k) if name == 'unit' else k}（{v}）" for k, v in list(counts.items())[:8])
        parts.append(f"{labels[name]}：{shown}")
    return "；".join(parts)


def _lag_note(lag: dict) -> str:
    if not lag or not lag.get("changes"):
        return ""
    return (f"提示：检索索引尚有 {lag['changes']} 项变更未应用（最早的一项在 {lag['seconds']:.0f} 秒前提交），"
            "结果可能不含最新办理的业务；运行中的索引进程会自动补上，没有索引进程时运行 archive indexer --once")


def describe_search(result, unit_names: dict) -> str:
    note = _lag_note(result.lag)
    if not result.total:
        return "没有找到符合条件的办件或案卷" + (f"\n{note}" if note else "")
    first = (result.page - 1) * result.limit + 1
    last = first + len(result.hits) - 1
    lines = [f"共找到 {result.total} 件" + (f"，显示第 {first}—{last} 件" if result.hits else f"，第 {result.page} 页没有结果")]
    for number, hit in enumerate(result.hits, start=first):
        code = f"  档号 {hit.archival_code}" if hit.archival_code else ""
        lines.append(f"{number}. {hit.case}{code}  {hit.year}年  {unit_names.get(hit.unit, hit.unit)}")
        lines.append(f"   {hit.title}")
        if hit.snippet:
            lines.append(f"   {hit.snippet}")
    facets = _facet_text(result, unit_names)
    if facets:
        lines.append("")
        lines.append(f"分布：{facets}")
    if note:
        lines.append(note)
    return "\n".join(lines)


@session_command(None, "search", context_settings={"ignore_unknown_options": True})
@click.argument("query", nargs=-1)
@click.option("--year", help="年度：2026，或范围 2020-2023")
@click.option("--unit", help="单位代码或名称，如 SJ、市场监管局")
@click.option("--item", help="事项编码，如 SJ-XK-003")
@click.option("--class", "classification", help="分类号（含下级类目），如 XK 或 XK·ZC")
@click.option("--status", help="办件状态（accepted、concluded……）或 filed（已归档）")
@click.option("--limit", type=click.IntRange(1, 1000), default=10, show_default=True, help="每页条数")
@click.option("--page", type=click.IntRange(1), default=1, show_default=True, help="页码")
@click.option("--sort", type=Choice({"relevance": "相关度", "date": "日期"}, aliases={"相关": "relevance", "时间": "date"}),
              default="relevance", show_default=True,
              help="按相关度或按日期（新的在前）排序")
@click.option("--role", help="以更窄的角色查看结果（如 public），不能超出本人角色的范围")
@json_option
def search_command(session, query, year, unit, item, classification, status, limit, page, sort, role, as_json):
    """全文检索办件和案卷（申请人、事项、单位、档号、文书和材料全文）。

    多个词之间为“并且”；词中任意两个以上连续汉字都能找到，繁体字按简体检索。

    \b
    语法：
      不动产 登记            两个词都要出现
      "不予受理决定书"        短语，原样出现
      食品 OR 药品           任一个出现
      -注销 或 NOT 注销      排除
      applicant:张三         字段：applicant 申请人、title 题名、item 事项、unit 单位、
                             class 分类、year 年度、status 状态、case 办件编号、
                             code 档号、id 证件号、text 全文
      code:Z023-XK*          前缀（编号、档号、证件号输入前几位即可）
    \b
    示例：
      archive search 不动产 --year 2020-2026
      archive search applicant:张三 --json
      archive search 91350100 --sort date
    """
    from archive.core import access
    from archive.search import index as search

    unknown = [word for word in query if word.startswith("--")]
    if unknown:  # "-词" excludes a word, but "--词" is a mistyped option
        raise click.UsageError(f"没有这个选项：{unknown[0]}（要排除一个词，请写成 -词 或 NOT 词）")
    chosen = access.narrowed_role(session, role)
    result = search.search(session, " ".join(query), year=year, unit=unit, item=item, classification=classification,
                           status=status, limit=limit, page=page, sort=sort, role=chosen)
    units = {code: u.get("short_name") or u.get("name", code) for code, u in session.ws.units.items()}
    emit(as_json, result.to_dict(), describe_search(result, units))


@session_command(None, "reindex")
@click.option("--progress/--no-progress", "show_progress", default=None,
              help="显示进度（默认：在终端上显示，输出到文件或其他程序时只输出一行结果）")
@json_option
def reindex_command(session, show_progress, as_json):
    """从数据库重建全文检索索引（索引只是缓存，随时可以重建）。

    新索引建在临时目录中，建好后再替换旧索引；重建期间检索照常使用旧索引。
    不指定经办人时在服务器本机上以超级用户身份执行；指定经办人时该账户须有“运行检索索引进程”的权限
    （系统管理员）。每次重建记入审计日志。网页上由系统管理员在“检索索引”页面提交，在后台进行。

    \b
    示例：
      archive reindex --progress
      archive reindex --operator 冯涛 --json     以系统管理员账户（示例工作区中的冯涛）重建
    """
    from archive.search import index as search

    as_installation_unless_named(session)
    progress = progress_reporter("重建检索索引", as_json, force=show_progress)
    report = search.rebuild(session, progress=progress)
    lines = [f"检索索引已重建：{report.documents} 件，用时 {report.seconds:.1f} 秒，索引目录 {report.path}"]
    if report.no_text:
        lines.append(f"没有文字的文件 {len(report.no_text)} 个（扫描件或图像，只按题名等元数据检索）：")
        lines += [f"  {x['case']}  {x['title']}  {x['path']}" for x in report.no_text[:20]]
        if len(report.no_text) > 20:
            lines.append(f"  ……另有 {len(report.no_text) - 20} 个")
    emit(as_json, report.to_dict(), "\n".join(lines))


COMMANDS = (search_command, reindex_command)
