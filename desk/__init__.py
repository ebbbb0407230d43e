"""The desk: what a reader uses on the warehouse (the daily digest, the reader pages, the SQL
shell and saved queries). It stands on warehouse/ beside pipeline/; flows/ and the CLI call it."""
