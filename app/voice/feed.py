"""What the feed shows of the employees' voice above its cards: news of the member's own
stories and questions (the in-app side of their notifications) and the review sites' card.

Two small queries per first page of the feed: the counts in one statement (each an indexed
look-up by member), the review sites (at most 10 rows). ``python -m bench.voice`` measures them.
"""

from __future__ import annotations

from typing import Any

from app.voice import programme
from app.voice.stories import NEWS_STATES
from app.voice.tables import Proposal

NEWS_SQL = """
SELECT
  (SELECT COUNT(*) FROM proposal
   WHERE author = {} AND state IN ({}, {}, {})
     AND (author_seen_at IS NULL OR author_seen_at < changed_at)) AS stories,
  (SELECT COUNT(*) FROM question
   WHERE asker = {} AND answered_at IS NOT NULL
     AND (asker_seen_at IS NULL OR asker_seen_at < answered_at)) AS answers
"""


async def unread(member_id: int) -> int:
    """Replies about the member's stories and questions they have not read yet."""
    rows = await Proposal.raw(NEWS_SQL, member_id, *NEWS_STATES, member_id)
    return int(rows[0]["stories"]) + int(rows[0]["answers"]) if rows else 0


async def feed_panel(member_id: int) -> dict[str, Any]:
    return {"news": await unread(member_id), "review_sites": await programme.review_sites()}
