"""syncbench.param_types: what each annotation accepts, strictly, and what it refuses."""

from __future__ import annotations

import math

import pytest

from syncbench.param_types import (
    Kind,
    ParameterTypeError,
    conform,
    notebook_annotation,
    parse_annotation,
)


@pytest.mark.parametrize("annotation, value, expected", [
    ("int", 3, 3),
    ("float", 2, 2.0),             # an int is a float (lossless)
    ("float", 0.25, 0.25),
    ("bool", False, False),
    ("str", "lan", "lan"),
    ("list[str]", ["a", "b"], ["a", "b"]),
    ("list[str]", ("a",), ["a"]),  # a tuple for a list
    ("tuple[str, ...]", ["a", "b"], ("a", "b")),  # a list for a tuple
    ("tuple[float, ...]", [1, 2.5], (1.0, 2.5)),
    ("dict[str, float]", {"lan": 1}, {"lan": 1.0}),
    ("str | None", None, None),
    ("Optional[int]", 4, 4),
    ("Union[int, str]", "x", "x"),
    ("Literal['lan', 'wan']", "wan", "wan"),
    ("list[dict]", [{"at": 1}], [{"at": 1}]),
    ("MyProfileClass", object, object),  # an annotation it cannot read accepts anything
    ("", {"any": "thing"}, {"any": "thing"}),
])
def test_accepted_values(annotation: str, value: object, expected: object) -> None:
    result = conform(annotation, value)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize("annotation, value, accepted", [
    ("bool", "False", "true or false"),      # text is never parsed into a bool
    ("bool", 0, "true or false"),
    ("int", "3", "an integer"),
    ("int", True, "an integer"),             # a bool is not an int
    ("int", 2.0, "an integer"),              # a float is not an int, even a whole one
    ("float", math.nan, "a finite number"),
    ("float", math.inf, "a finite number"),
    ("float", True, "a finite number"),
    ("str", 3, "a string"),
    ("list[str]", "abc", "a list of strings"),  # a string is not a list of its letters
    ("list[str]", {"a": 1}, "a list of strings"),
    ("list[int]", [1, "2"], "a list of integers"),
    ("tuple[str, ...]", "ab", "a list of strings"),
    ("dict[str, float]", [("a", 1.0)], "a mapping of strings to numbers"),
    ("dict[str, float]", {"a": "fast"}, "a mapping of strings to numbers"),
    ("str | None", 0, "a string or null"),
    ("Literal['lan', 'wan']", "lte", "one of 'lan', 'wan'"),
    ("Literal[1, 2]", 1.0, "one of 1, 2"),   # a literal matches its type too
])
def test_refused_values_name_what_is_accepted(annotation: str, value: object,
                                              accepted: str) -> None:
    with pytest.raises(ParameterTypeError) as error:
        conform(annotation, value)
    message = str(error.value)
    assert message.startswith(f"expects {accepted}, got {type(value).__name__} ")


def test_tuples_false_writes_tuples_back_as_lists_for_a_notebook() -> None:
    assert conform("tuple[str, ...]", ("a", "b"), tuples=False) == ["a", "b"]


def test_parse_annotation_reads_unions_optionals_and_typing_aliases() -> None:
    assert parse_annotation("int | None") == Kind("union", (Kind("int"), Kind("none")))
    assert parse_annotation("typing.List[int]") == Kind("list", (Kind("int"),))
    assert parse_annotation("Sequence[str]") == Kind("list", (Kind("str"),))
    assert parse_annotation("not valid (") == Kind("any")


@pytest.mark.parametrize("annotation, written", [
    ("tuple[str, ...]", "list[str]"),
    ("dict[str, float]", "dict[str, float]"),
    ("Literal['a', 'b']", "str"),
    ("Optional[int]", "int | None"),
    ("Any", "object"),
    ("list", "list"),
])
def test_notebook_annotation_writes_what_a_notebook_cell_holds(annotation: str,
                                                               written: str) -> None:
    assert notebook_annotation(annotation) == written
