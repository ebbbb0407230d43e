"""`python -m fixture_site [--port N]`: serve the fixture site for the demo until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import threading

from core.settings import VARIABLES
from fixture_site.catalog import source_ids
from fixture_site.server import FixtureSite


def main(argv: list[str] | None = None) -> int:
    """Start the server, say where each source lives, and wait for Ctrl-C."""
    parser = argparse.ArgumentParser(prog="python -m fixture_site", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port to bind (default: a free one)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each request")
    args = parser.parse_args(argv)
    with FixtureSite(args.port, verbose=args.verbose) as site:
        print(f"fixture site at {site.base_url}")
        print(f"  export {VARIABLES['base_url']}={site.base_url}")
        for source_id in source_ids():
            print(f"  {source_id:<18} {site.source_base(source_id)}")
        print("Ctrl-C to stop", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
