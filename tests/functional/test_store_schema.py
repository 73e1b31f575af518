"""services/store/sql/schema.sql is the schema that replaying every migration builds:
one database from each, and their catalogs compared (as the procrastinate project
checks its schema.sql)."""

from __future__ import annotations

from importlib import resources

import asyncpg

from tests.support.database import PostgresServer, create_database

# The ledger of applied migrations is made by services/store/migrations.py, not by a
# migration, so schema.sql leaves it out.
LEDGER = "schema_migrations"

CATALOG = {
    "relations": """
        SELECT c.relname, c.relkind::text
        FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relname NOT LIKE $1 || '%'
        ORDER BY 1
    """,
    "columns": """
        SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod),
               a.attnotnull, a.attidentity::text, a.attgenerated::text,
               pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
          AND c.relname <> $1 AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY 1, 2
    """,
    "constraints": """
        SELECT c.relname, k.conname, k.contype::text, pg_get_constraintdef(k.oid)
        FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
        WHERE k.connamespace = 'public'::regnamespace AND c.relname <> $1
        ORDER BY 1, 2
    """,
    "indexes": """
        SELECT i.tablename, i.indexname, i.indexdef
        FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename <> $1
        ORDER BY 1, 2
    """,
    "functions": """
        SELECT p.proname, pg_get_function_identity_arguments(p.oid), pg_get_functiondef(p.oid)
        FROM pg_proc p
        WHERE p.pronamespace = 'public'::regnamespace
        ORDER BY 1, 2
    """,
    "triggers": """
        SELECT t.tgrelid::regclass::text, t.tgname, pg_get_triggerdef(t.oid)
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
        WHERE c.relnamespace = 'public'::regnamespace AND c.relname <> $1 AND NOT t.tgisinternal
        ORDER BY 1, 2
    """,
}


async def catalog(url: str) -> dict[str, list[tuple[object, ...]]]:
    conn = await asyncpg.connect(url)
    try:
        return {
            part: [tuple(row) for row in await conn.fetch(query, *args)]
            for part, query in CATALOG.items()
            for args in [(LEDGER,) if "$1" in query else ()]
        }
    finally:
        await conn.close()


async def test_schema_sql_is_what_the_migrations_build(postgres: PostgresServer) -> None:
    migrated = await create_database(postgres)
    from_schema = await create_database(postgres, migrated=False)
    schema = (resources.files("services.store") / "sql" / "schema.sql").read_text("utf-8")
    conn = await asyncpg.connect(from_schema)
    try:
        await conn.execute(schema)
    finally:
        await conn.close()

    replayed, written = await catalog(migrated), await catalog(from_schema)
    assert {name for name, _, _ in replayed["functions"]} >= {
        "burnafter_reveal_v3",
        "burnafter_reveal_v4",
        "burnafter_reveal_v6",
        "burnafter_create_content_v1",
        "burnafter_put_segment_v1",
        "burnafter_finalize_content_v1",
        "burnafter_release_content_v1",
        "burnafter_complete_grant_v1",
        "burnafter_reserve_storage_v1",
        "burnafter_recount_storage_v2",
        "burnafter_same_bytes_v2",
        "burnafter_enqueue_webhook_v2",
    }  # the catalogs compared are not empty
    for part in CATALOG:
        assert written[part] == replayed[part], part
