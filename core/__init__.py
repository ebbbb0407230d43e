"""The floor under every other: what all of newsflow shares and that depends on none of it."""
