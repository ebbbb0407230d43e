"""Connectors know the web: sources config, the HTTP client, and link discovery per source kind."""
