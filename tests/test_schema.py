"""One schema for both backends: a new SQLite file (climbing every migration) and a new PostgreSQL
database (created at the current version) end with the same tables and columns."""

import sqlite3

import psycopg

from retrieval import Store
from retrieval.db.schema import POSTGRES_MIGRATIONS, POSTGRES_FIRST, SCHEMA_VERSION, SQLITE_MIGRATIONS


async def test_both_backends_hold_the_same_tables_and_columns(tmp_path, postgres_url):
    for target in (tmp_path / "db.sqlite3", postgres_url):
        await (await Store.open(target, key_file=tmp_path / "id.key")).close()
    lite = sqlite3.connect(tmp_path / "db.sqlite3")
    sqlite_tables = {t: {c[1] for c in lite.execute(f"PRAGMA table_info({t})")}
                     for (t,) in lite.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    with psycopg.connect(postgres_url) as pg:
        rows = pg.execute("SELECT table_name, column_name FROM information_schema.columns "
                          "WHERE table_schema = current_schema()").fetchall()
        (pg_version,) = pg.execute("SELECT version FROM schema_version").fetchone()
    pg_tables: dict[str, set[str]] = {}
    for table, column in rows:
        pg_tables.setdefault(table, set()).add(column)
    pg_tables.pop("schema_version")  # PostgreSQL's home of the version SQLite keeps in PRAGMA user_version
    assert sqlite_tables == pg_tables
    assert pg_version == SCHEMA_VERSION == lite.execute("PRAGMA user_version").fetchone()[0]


def test_every_version_has_a_migration_on_both_backends():
    assert len(SQLITE_MIGRATIONS) == SCHEMA_VERSION
    assert set(POSTGRES_MIGRATIONS) == set(range(POSTGRES_FIRST, SCHEMA_VERSION))
