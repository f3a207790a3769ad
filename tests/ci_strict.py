"""Under CI (CI=true) a skipped test fails the run: every component a test needs (LibreOffice,
Chromium, PostgreSQL, poppler, fonts) is installed by the Makefile, so a skip there means a
missing install step, not an optional feature. Loaded by tests/conftest.py; a plugin of its
own so that tests/test_ci_strict.py can run it on a throwaway test file."""

from __future__ import annotations

import os

import pytest


def _strict() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _failed(report) -> None:
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = f"CI=true 时测试不得跳过（所缺组件应由 make deps 安装）：{reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _strict() and not hasattr(report, "wasxfail"):
        _failed(report)


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _strict():
        _failed(report)
