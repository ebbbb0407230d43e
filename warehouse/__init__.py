"""The DuckDB warehouse: schema, idempotent loads and the state flows ask for."""
