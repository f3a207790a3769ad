"""`archive serve`: the centre's server (the web desks and the JSON API) under uvicorn."""

from __future__ import annotations

import click

from .common import ArchiveCommand, home_option


@click.command("serve", cls=ArchiveCommand)
@home_option
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址；局域网内提供服务时填本机地址或 0.0.0.0")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535), help="端口")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 32), help="工作进程数")
def serve_command(home, host, port, workers):
    """启动服务器：各窗口用浏览器办理，省级平台或叫号系统通过 /api/v1 接入。

    \b
    示例：
      archive serve --home ./demo-home --port 8080
      （浏览器打开 http://127.0.0.1:8080/ ；接口说明见 /api/v1/openapi.json）
    """
    from archive.web import server

    server.run(home, host=host, port=port, workers=workers, echo=click.echo)


COMMANDS = (serve_command,)
