"""政务服务中心办件与档案系统 — the library.

Laid out by desk (docs/architecture.md): ``core`` (errors, validation, config, store,
session, calendar, access), ``documents`` (rendering, the LibreOffice pool, PDF helpers,
text extraction), the desks ``window``, ``shelf``, ``lending`` and ``search``, and on top
the assembly (``centre``, ``demo``) that the skins — the CLI and the web pages — call.
"""
