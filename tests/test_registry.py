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
