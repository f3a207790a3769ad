"""The migrations and the table definitions describe the same database."""


def test_migrations_match_the_tables(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from archive.core import store as st

    store = st.open_store(f"sqlite:///{tmp_path / 'db.sqlite'}", migrate=True)
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), st.metadata)
    store.dispose()
    assert diffs == []


def test_migrating_twice_changes_nothing(tmp_path):
    from archive.core import store as st

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    st.open_store(url, migrate=True).dispose()
    store = st.open_store(url, migrate=True)
    assert st.current_revision(store) == st.head_revision()
    store.dispose()


def test_sqlite_synchronous_setting_reaches_the_connection(home, monkeypatch):
    from archive.core.config import open_workspace
    from archive.core.session import Session

    for value, expected in (("normal", 1), ("full", 2)):
        monkeypatch.setenv("ARCHIVE_SQLITE_SYNCHRONOUS", value)
        with Session(open_workspace(home)) as session, session.store.read() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == expected
