"""The thin Prefect layer: flows composing connectors, processing and warehouse; the CLI."""
