"""Classical reference models (``ref_*``), the bag-of-n-grams encoder, class weights, ``workers: auto``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.utils.class_weight import compute_class_weight

from benchmark.cli import main
from benchmark.encoders import build_encoder
from benchmark.host import resolve_workers, usable_cores
from benchmark.references.features import FeatureBuilder, token_documents
from benchmark.runner import prepare
from benchmark.studies import load_study
from benchmark.tasks import ModalitySpec, build_task
from benchmark.training import class_weights
from tests.conftest import tiny_overrides
from tests.store import Store

REFERENCE_RUN = ("grid.fusion=[concat,ref_logreg,ref_gbdt]", "grid.modalities=[[img,vec],[vec]]")


def test_reference_models_run_end_to_end_and_match_scikit_learn(tmp_path):
    assert main(["run", *tiny_overrides(tmp_path, *REFERENCE_RUN), "--no-progress"]) == 0
    store = Store(tmp_path)
    parents = {
        (p.data.tags["benchmark.fusion"], p.data.tags["benchmark.modalities"]): p
        for p in store.runs("combination")
    }
    for reference in ("ref_logreg", "ref_gbdt"):
        for modalities in ("img+vec", "vec"):
            parent = parents[(reference, modalities)]
            assert parent.data.tags["benchmark.depth"] == "0"  # depth does not apply: one run per subset
            assert parent.data.tags["benchmark.status"] == "finished"
            for key in (
                "test/f1_macro_mean",
                "test/accuracy_mean",
                "val/f1_macro_mean",
                "latency/p50_ms_mean",
                "latency/batch_p50_ms_mean",
                "memory/cpu_added_mb_mean",
                "model/parameters_mean",
            ):
                assert key in parent.data.metrics, (reference, key)
    assert not [k for k in parents if k[0].startswith("ref_") and k[1] == "img"]  # only the asked subsets
    # the same scikit-learn model fitted directly on the same split scores the same
    logreg = parents[("ref_logreg", "vec")]
    params = {k.removeprefix("best."): v for k, v in logreg.data.params.items() if k.startswith("best.")}
    task = build_task("synth-redundancy", seed=0, n_modalities=2, n_samples=240)
    train, test = task.splits["train"], task.splits["test"]
    x_train, x_test = train.inputs["vec"].double().numpy(), test.inputs["vec"].double().numpy()
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    weight = None if params["class_weight"] == "none" else "balanced"
    direct = LogisticRegression(C=float(params["C"]), class_weight=weight, max_iter=2000)
    direct.fit((x_train - mean) / std, train.labels.numpy())
    expected = f1_score(test.labels.numpy(), direct.predict((x_test - mean) / std), average="macro")
    assert logreg.data.metrics["test/f1_macro_mean"] == pytest.approx(expected, abs=0.02)
    # reports place them as reference rows, outside the fusion-method comparison
    readme = (tmp_path / "reports" / "smoke" / "README.md").read_text()
    assert "ref_logreg (reference)" in readme and "ref_gbdt (reference)" in readme


def _token_task_inputs() -> tuple[dict[str, ModalitySpec], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    spec = {"t": ModalitySpec("t", "tokens", (4,), vocab_size=100)}
    train = {"t": torch.tensor([[2, 3, 0, 0], [2, 3, 4, 0], [3, 4, 0, 0], [2, 4, 3, 0]])}
    held_out = {"t": torch.tensor([[50, 51, 2, 0], [50, 51, 52, 3]])}  # ids 50-52 occur only outside train
    return spec, train, held_out


def test_tfidf_vocabulary_and_idf_come_from_train_rows_only():
    spec, train, held_out = _token_task_inputs()
    builder = FeatureBuilder(spec, dense=False).fit(train)
    vectorizer, _ = builder._fitted["t"]
    assert not any(set(term.split()) & {"50", "51", "52"} for term in vectorizer.vocabulary_)
    alone = TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    alone.fit(token_documents(train["t"]))
    assert vectorizer.vocabulary_ == alone.vocabulary_
    assert np.allclose(vectorizer.idf_, alone.idf_)
    # fitting on train + held-out rows would change both: the test above would notice a leak
    leaked = TfidfVectorizer(token_pattern=r"\S+", ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    leaked.fit(token_documents(torch.cat([train["t"], held_out["t"]])))
    assert leaked.vocabulary_ != alone.vocabulary_
    assert builder.transform(held_out).shape == (2, len(alone.vocabulary_))


def test_dense_features_standardise_with_train_statistics_only():
    spec = {"v": ModalitySpec("v", "vector", (2,))}
    train = {"v": torch.tensor([[0.0, 1.0], [2.0, 1.0]])}
    builder = FeatureBuilder(spec, dense=True).fit(train)
    assert np.allclose(builder.transform({"v": torch.tensor([[4.0, 1.0]])}), [[3.0, 0.0]])


def test_bag_of_ngrams_hashes_bigrams_and_skips_padding():
    spec = ModalitySpec("t", "tokens", (4,), vocab_size=10)
    encoder = build_encoder("bag", spec, depth=1, width=8, dropout=0.0)
    ids = encoder.ngram_ids(torch.tensor([[2, 3, 0, 0]]))
    assert ids.shape == (1, 7)
    assert ids[0, :4].tolist() == [2, 3, 0, 0]
    assert ids[0, 4] >= 10 and ids[0, 5:].tolist() == [0, 0]  # one real bigram, the rest padding
    reordered = encoder.ngram_ids(torch.tensor([[3, 2, 0, 0]]))
    assert reordered[0, 4] != ids[0, 4]  # bigrams keep word order
    assert torch.equal(encoder(torch.zeros(1, 4, dtype=torch.long)), torch.zeros(1, 8))


def test_balanced_class_weights_match_scikit_learn():
    labels = torch.tensor([0, 0, 0, 0, 1, 2, 2])
    expected = compute_class_weight("balanced", classes=np.arange(3), y=labels.numpy())
    assert np.allclose(class_weights(labels, 3).numpy(), expected)
    assert class_weights(torch.tensor([0, 0, 1]), 3)[2] == 0  # an absent class has nothing to weigh


def test_workers_auto_uses_every_usable_core(tmp_path):
    from benchmark.config import StudyConfig

    assert StudyConfig.workers == "auto"  # the default (the smoke study pins 1 to stay reproducible)
    config = load_study("smoke", [f"workdir={tmp_path}", "workers=auto"])
    assert config.workers == "auto"
    assert prepare(config).config.workers == usable_cores() == len(__import__("os").sched_getaffinity(0))
    assert resolve_workers("auto", torch.device("cuda")) == 1 and resolve_workers(3, torch.device("cpu")) == 3
    assert main(["run", "study=smoke", f"workdir={tmp_path}", "workers=0", "--dry-run"]) == 2


def test_the_time_series_floor_sees_through_a_random_phase():
    """synth-redundancy's sequence is a sinusoid whose frequency is the class, at a random phase per sample:
    a linear model on time-aligned raw values cannot use it, MiniRocket's shift-invariant features can."""
    from benchmark.references.features import SequenceFeatures

    task = build_task("synth-redundancy", seed=0, n_modalities=3, n_samples=1200, noise=0.3)
    train, test = task.splits["train"], task.splits["test"]
    spec = {"seq": task.modalities["seq"]}
    assert SequenceFeatures.applies(train.inputs["seq"])

    def accuracy(features: np.ndarray, held_out: np.ndarray) -> float:
        model = LogisticRegression(max_iter=2000).fit(features, train.labels.numpy())
        return float((model.predict(held_out) == test.labels.numpy()).mean())

    builder = FeatureBuilder(spec, dense=True).fit({"seq": train.inputs["seq"]})
    rocket = accuracy(
        builder.transform({"seq": train.inputs["seq"]}), builder.transform({"seq": test.inputs["seq"]})
    )
    flat = lambda x: x.reshape(len(x), -1).numpy()  # noqa: E731
    raw = accuracy(flat(train.inputs["seq"]), flat(test.inputs["seq"]))
    ceiling = task.bayes_accuracy["seq"]
    assert rocket >= ceiling - 0.1 and rocket > raw + 0.2, (rocket, raw, ceiling)
    # fitted on train only: the same builder gives the same test features whatever else it sees
    again = FeatureBuilder(spec, dense=True).fit({"seq": train.inputs["seq"]})
    assert np.array_equal(
        again.transform({"seq": test.inputs["seq"]}), builder.transform({"seq": test.inputs["seq"]})
    )


def test_bigram_buckets_no_training_text_filled_stay_zero():
    """Bigram vectors start at zero and words small: a bucket no training text hit adds nothing at test
    (with N(0, 1) rows it added a random vector per unseen bigram to the mean)."""
    spec = ModalitySpec("t", "tokens", (4,), vocab_size=10)
    encoder = build_encoder("bag", spec, depth=1, width=8, dropout=0.0)
    weight = encoder.embed.weight
    assert torch.all(weight[10:] == 0) and 0 < weight[1:10].abs().max() <= 1 / 8
    train = torch.tensor([[2, 3, 4, 0], [5, 6, 0, 0]])
    seen = set(encoder.ngram_ids(train)[:, 4:].flatten().tolist()) - {0}
    optimizer = torch.optim.AdamW(encoder.parameters(), lr=0.1, weight_decay=0.01)
    for _ in range(5):
        optimizer.zero_grad()
        encoder(train).pow(2).sum().backward()
        optimizer.step()
    moved = {i for i in range(10, weight.shape[0]) if weight[i].abs().sum() > 0}
    assert moved == seen  # only the buckets of training bigrams learned anything
    unseen = torch.tensor([[7, 8, 9, 0]])  # words seen by no training text, bigrams nowhere
    bigram = encoder.ngram_ids(unseen)[0, 4:6]
    assert torch.all(weight[bigram] == 0)


def test_series_features_leave_a_worker_on_its_own_thread_count():
    """MiniRocket (numba, sharing torch's OpenMP runtime) once reset torch to every core: two workers of
    one thread each then ran four threads on two cores, several times slower."""
    from benchmark.references.features import SequenceFeatures

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        series = torch.randn(12, 40, 2)
        SequenceFeatures(0).fit(series)(series)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


QUICK_GBDT = {  # a small gradient boosting that fits in milliseconds
    "learning_rate": 0.3,
    "max_leaf_nodes": 8,
    "min_samples_leaf": 2,
    "l2_regularization": 0.01,
    "class_weight": "none",
}


def test_gradient_boosting_chooses_its_rounds_on_the_validation_split():
    """As a network's epochs: the boosting rounds stop where the validation split's loss stops improving
    (no train rows held out); a model without early stopping gets no validation keywords."""
    from benchmark.reference_run import _validation_for_early_stopping
    from benchmark.references import REFERENCES

    rng = np.random.default_rng(0)
    x, x_val = rng.standard_normal((120, 5)), rng.standard_normal((40, 5))
    y, y_val = (x[:, 0] > 0).astype(int), (x_val[:, 0] > 0).astype(int)
    gbdt = REFERENCES.get("ref_gbdt").build(QUICK_GBDT, 0)
    keywords = _validation_for_early_stopping(gbdt, x_val, y_val, y)
    assert set(keywords) == {"X_val", "y_val"}
    gbdt.fit(x, y, **keywords)
    assert gbdt.n_iter_ < 200 and len(gbdt.validation_score_) == gbdt.n_iter_ + 1
    logreg = REFERENCES.get("ref_logreg").build({"C": 1.0, "class_weight": "none"}, 0)
    assert _validation_for_early_stopping(logreg, x_val, y_val, y) == {}


def test_gradient_boosting_fits_when_validation_holds_a_class_training_lacks():
    """A rare class can miss a small training split (and the cost probe's first rows): scikit-learn
    raises on an unseen validation label, so those rows are left out of the early-stopping split."""
    from benchmark.reference_run import _validation_for_early_stopping
    from benchmark.references import REFERENCES

    rng = np.random.default_rng(1)
    x, x_val = rng.standard_normal((60, 3)), rng.standard_normal((30, 3))
    y, y_val = (x[:, 0] > 0).astype(int), np.where(np.arange(30) < 5, 2, (x_val[:, 0] > 0).astype(int))
    gbdt = REFERENCES.get("ref_gbdt").build(QUICK_GBDT, 0)
    keywords = _validation_for_early_stopping(gbdt, x_val, y_val, y)
    assert len(keywords["y_val"]) == 25 and 2 not in keywords["y_val"]
    gbdt.fit(x, y, **keywords)
    assert _validation_for_early_stopping(gbdt, x_val, np.full(30, 2), y) == {}
