"""`newsflow stories` and `newsflow story ID`: the events an analyst follows, read-only.

A story is the articles about one event, any outlet or language (warehouse/stories.py assigns
them); these commands list stories and show one story's articles side by side in time order.
The warehouse is imported only when one of them runs (the CLI registers them on every start).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desk.shell import OutputFormat

STORIES_SQL = """
SELECT story_id, strftime(first_seen, '%Y-%m-%d %H:%M') AS first_seen,
       strftime(last_seen, '%Y-%m-%d %H:%M') AS last_seen, articles,
       array_to_string(languages, ',') AS languages, array_to_string(sources, ',') AS sources,
       first_source, title
FROM stories
WHERE ($since IS NULL OR last_seen >= CAST($since AS DATE))
  AND ($language IS NULL OR list_contains(languages, $language))
  AND ($source IS NULL OR list_contains(sources, $source))
ORDER BY last_seen DESC, articles DESC, story_id
"""
STORY_SQL = """
SELECT strftime(f.event_at, '%Y-%m-%d %H:%M') AS at, e.language, e.source_id,
       coalesce(e.title_en, e.title_original) AS title_en, e.title_original, e.english_from,
       e.url
FROM articles_en e JOIN story_features f ON f.url = e.url
WHERE e.story_id = CAST($story AS BIGINT)
ORDER BY f.event_at, e.url
"""


class UnknownStory(LookupError):
    """No story has (or had, before a merge) this id."""


def list_stories(args: argparse.Namespace) -> int:
    """Print the stories that match the filters, latest first."""
    from desk.shell import print_query

    params = {
        "since": args.since.isoformat() if args.since else None,
        "language": args.language,
        "source": args.source,
    }
    print_query(STORIES_SQL, params, _format(args), max_rows=1000)
    return 0


def show_story(args: argparse.Namespace) -> int:
    """Print one story's articles; an id merged into another story shows that story."""
    from desk.shell import print_query
    from warehouse.sandbox import analysis_connection
    from warehouse.stories import resolve

    with analysis_connection() as conn:
        story_id = resolve(conn, args.story_id)
    if story_id is None:
        raise UnknownStory(f"no story {args.story_id} (`newsflow stories` lists them)")
    if story_id != args.story_id:
        print(f"story {args.story_id} was merged into story {story_id}")
    print_query(STORY_SQL, {"story": str(story_id)}, _format(args), max_rows=1000)
    return 0


def _format(args: argparse.Namespace) -> OutputFormat:
    from desk.shell import OutputFormat

    return OutputFormat.JSON if args.json else OutputFormat.TABLE
