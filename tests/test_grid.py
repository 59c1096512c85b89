import subprocess

from benchmark.config import GridConfig
from benchmark.grid import Combination, expand_grid
from benchmark.subsets import ModalitySelection
from tests.conftest import PYTHON, cli_env

TASKS = {"t3": ["vec", "img", "seq"], "t2": ["vec", "img"]}


def test_all_subsets_with_the_unimodal_rule():
    plan = expand_grid(GridConfig(depth=(1, 2), fusion=("concat", "attention", "late_vote")), TASKS)
    # t3: 3 unimodal + (3 pairs + 1 triple) x 3 fusions = 15 per depth; t2: 2 + 1 x 3 = 5 per depth
    assert len(plan.combinations) == 2 * 15 + 2 * 5
    unimodal = [c for c in plan.combinations if len(c.modalities) == 1]
    assert all(c.fusion == "none" for c in unimodal)
    assert len(unimodal) == len({(c.task, c.depth, c.modalities) for c in unimodal}) == 2 * 3 + 2 * 2
    assert all(len(c.modalities) > 1 for c in plan.combinations if c.fusion != "none")
    assert len(set(plan.combinations)) == len(plan.combinations)


def test_min_size_and_explicit_subsets():
    plan = expand_grid(
        GridConfig(depth=(1,), modalities=ModalitySelection(min_size=2), fusion=("concat",)),
        {"t3": TASKS["t3"]},
    )
    assert [c.modalities for c in plan.combinations] == [
        ("img", "seq"),
        ("img", "vec"),
        ("seq", "vec"),
        ("img", "seq", "vec"),
    ]
    explicit = ModalitySelection(explicit=(("seq", "vec"), ("vec",)))
    plan = expand_grid(GridConfig(depth=(1,), modalities=explicit, fusion=("concat",)), TASKS)
    names = [c.name for c in plan.combinations]
    assert names == ["t3/d1/seq+vec/concat", "t3/d1/vec/none", "t2/d1/vec/none"]
    assert [d.describe() for d in plan.dropped] == [
        "t2/d1/seq+vec/*: task has no modality 'seq' (has: img, vec)"
    ]


def test_fusions_that_cannot_handle_a_subset_are_dropped_with_a_reason():
    plan = expand_grid(GridConfig(depth=(1,), fusion=("none", "concat")), {"t2": TASKS["t2"]})
    assert [c.fusion for c in plan.combinations] == ["none", "none", "concat"]
    assert len(plan.dropped) == 1 and "needs at most 1" not in plan.dropped[0].reason
    assert plan.dropped[0].reason == "none handles at most 1 modalities, got 2"


def test_combination_ids_are_stable_across_processes_and_distinct():
    a = Combination("t", 1, ("img", "vec"), "concat")
    code = "from benchmark.grid import Combination; print(Combination('t', 1, ('img', 'vec'), 'concat').id)"
    other_process = subprocess.run(
        [PYTHON, "-c", code], capture_output=True, text=True, env=cli_env(), check=True
    )
    assert other_process.stdout.strip() == a.id
    assert (
        len(
            {
                a.id,
                Combination("t", 2, ("img", "vec"), "concat").id,
                Combination("u", 1, ("img", "vec"), "concat").id,
            }
        )
        == 3
    )
    assert a.study_name == f"t/d1/img+vec/concat#{a.id}"
