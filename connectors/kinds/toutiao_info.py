"""`kind: toutiao_info`: a Toutiao list whose articles are read from the info JSON endpoint.

Toutiao's desktop article pages are JavaScript shells, and its desktop lists want signed
parameters. The mobile site's lists and its m.toutiao.com/i<id>/info/ endpoint answer plain
JSON: data.title, data.content (HTML), data.source and data.publish_time (epoch seconds).
"""

from __future__ import annotations

from typing import ClassVar

from connectors.config import PageJson
from connectors.kinds import register_kind
from connectors.kinds.json_api import Cursor, ItemFields, JsonApi

INFO_ANSWER = PageJson(
    title="data.title", content="data.content", time="data.publish_time", author="data.source"
)


@register_kind("toutiao_info")
class ToutiaoInfo(JsonApi):
    """A Toutiao list in the shape of its feeds, each item read from its /i<id>/info/ answer."""

    article_json: ClassVar[PageJson] = INFO_ANSWER  # how its article pages are read
    items_path: str = "data"
    fields: ItemFields = ItemFields(id="item_id", title="title", time="behot_time")
    article_url: str = "/i{id}/info/"
    cursor: Cursor | None = Cursor(
        param="max_behot_time", next="next.max_behot_time", has_more="has_more"
    )
