-- duckdb_version: the DuckDB library version (benchmark results record it).
SELECT version()
