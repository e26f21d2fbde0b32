-- The tables and views analyst SQL may name (the sandbox's wall, wall.go):
-- the database's own tables and views (events, dead_letters, changes,
-- errors...), this connection's temporary ones, and DuckDB's internal
-- catalog views (information_schema, pg_catalog, duckdb_tables...), which
-- PostgreSQL clients and analysts use to find their way around. A name that
-- is not here (a file path, a URL, 'x.csv') is refused before DuckDB binds it.
SELECT lower(database_name), lower(schema_name), lower(table_name) FROM duckdb_tables()
UNION ALL
SELECT lower(database_name), lower(schema_name), lower(view_name) FROM duckdb_views()
