import pytest

from benchmark.registry import Registry, UnknownNameError


def test_duplicate_name_is_an_error():
    registry: Registry[int] = Registry("thing")
    registry.register("a")(1)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("a")(2)


def test_unknown_name_lists_the_valid_ones():
    registry: Registry[int] = Registry("thing")
    registry.register("b")(1)
    registry.register("a")(2)
    with pytest.raises(UnknownNameError) as err:
        registry.get("c")
    assert str(err.value) == "unknown thing 'c'; choose one of: a, b"
    assert registry.names() == ["a", "b"] and "a" in registry


def test_plugins_carry_their_metadata_and_every_kind_has_one_default_encoder():
    from benchmark.encoders import ENCODERS, default_encoder, encoder_kinds
    from benchmark.tasks.base import ModalityKind

    for kind in ModalityKind.__args__:
        assert kind in encoder_kinds(default_encoder(kind))
    assert all(encoder_kinds(name) for name in ENCODERS.names())


def test_a_new_method_never_gets_a_known_methods_colour():
    from benchmark.report.plots import _EXTRA_COLORS, FUSION_COLORS, _color

    order = [*FUSION_COLORS, "ref_gbdt", "ref_logreg", "my_fusion"]
    colours = [_color(f, order) for f in order]
    assert len(set(colours)) == len(colours)
    assert not set(_EXTRA_COLORS) & set(FUSION_COLORS.values())
