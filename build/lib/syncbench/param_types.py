"""What value a parameter's annotation accepts, strictly, with a one-line error otherwise.

One checker for every way a parameter arrives (a params file, a `-p` override, a notebook's
`parameters` cell, a study's params class): the annotation is read as text
("int", "list[str]", "tuple[str, ...]", "dict[str, float]", "str | None", "Literal['a', 'b']")
and the value must already have that type. Nothing is parsed out of strings: `"False"` is
not a bool and `"3"` is not an int (a `-p` override is read as YAML first, so `-p seed=3`
is an int there). The only conversions are lossless: an int for a float, a list for a
tuple (and back, for a notebook's list).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any


class ParameterTypeError(ValueError):
    """A value that the parameter's type does not accept; the message says what would do."""

    def __init__(self, accepted: str, value: Any) -> None:
        super().__init__(f"expects {accepted}, got {_show(value)}")
        self.accepted = accepted
        self.value = value


@dataclass(frozen=True)
class Kind:
    """A parsed annotation: `name` is int/float/bool/str/list/tuple/dict/none/any/literal."""

    name: str
    args: tuple[Kind, ...] = ()
    choices: tuple[Any, ...] = ()  # for literal

    def describe(self) -> str:
        """The accepted values in words: "a list of strings", "an integer or null"."""
        if self.name == "union":
            return " or ".join(arg.describe() for arg in self.args)
        if self.name == "literal":
            return "one of " + ", ".join(repr(choice) for choice in self.choices)
        if self.name in ("list", "tuple"):
            return f"a list of {_plural(self.args[0])}" if self.args else "a list"
        if self.name == "dict":
            if len(self.args) == 2:
                return f"a mapping of {_plural(self.args[0])} to {_plural(self.args[1])}"
            return "a mapping"
        return _WORDS[self.name]


_WORDS = {"int": "an integer", "float": "a finite number", "bool": "true or false",
          "str": "a string", "none": "null", "any": "any value"}
_PLURALS = {"int": "integers", "float": "numbers", "bool": "booleans", "str": "strings",
            "any": "values", "none": "nulls", "dict": "mappings", "list": "lists",
            "tuple": "lists"}
_ALIASES = {"Sequence": "list", "List": "list", "Tuple": "tuple", "Mapping": "dict",
            "Dict": "dict", "MutableMapping": "dict", "None": "none", "NoneType": "none",
            "Any": "any", "object": "any", "Optional": "optional", "Union": "union",
            "Literal": "literal"}


def _plural(kind: Kind) -> str:
    return _PLURALS.get(kind.name, kind.describe())


@lru_cache(maxsize=512)
def parse_annotation(text: str) -> Kind:
    """The Kind an annotation's text names; "any" for one it cannot check (a class)."""
    text = (text or "").strip()
    if not text:
        return Kind("any")
    try:
        node = ast.parse(text, mode="eval").body
    except SyntaxError:
        return Kind("any")
    return _kind(node)


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return _ALIASES.get(node.id, node.id)
    if isinstance(node, ast.Attribute):  # typing.List, collections.abc.Sequence
        return _ALIASES.get(node.attr, node.attr)
    if isinstance(node, ast.Constant) and node.value is None:
        return "none"
    return "?"


def _kind(node: ast.expr) -> Kind:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([_kind(node.left), _kind(node.right)])
    if isinstance(node, ast.Subscript):
        base = _name(node.value)
        items = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if base == "literal":
            return Kind("literal", choices=tuple(ast.literal_eval(item) for item in items))
        if base == "optional":
            return _union([_kind(items[0]), Kind("none")])
        if base == "union":
            return _union([_kind(item) for item in items])
        if base in ("list", "tuple"):
            # tuple[str, ...] and tuple[str] both mean "a sequence of str" here
            return Kind(base, (_kind(items[0]),))
        if base == "dict":
            return Kind("dict", tuple(_kind(item) for item in items[:2]))
        return Kind("any")
    name = _name(node)
    if name in ("int", "float", "bool", "str", "list", "tuple", "dict", "none", "any"):
        return Kind(name)
    return Kind("any")


def _union(parts: Sequence[Kind]) -> Kind:
    flat: list[Kind] = []
    for part in parts:
        flat.extend(part.args if part.name == "union" else (part,))
    return flat[0] if len(flat) == 1 else Kind("union", tuple(flat))


def conform(kind: Kind | str, value: Any, *, tuples: bool = True) -> Any:
    """`value` as `kind` accepts it (lossless conversions only); ParameterTypeError otherwise.

    `tuples=True` turns lists into tuples where the kind is a tuple (frozen params classes);
    `tuples=False` turns tuples into lists (values to write into a notebook).
    """
    kind = parse_annotation(kind) if isinstance(kind, str) else kind
    ok, result = _try(kind, value, tuples)
    if not ok:
        raise ParameterTypeError(kind.describe(), value)
    return result


def _try(kind: Kind, value: Any, tuples: bool) -> tuple[bool, Any]:
    name = kind.name
    if name == "any":
        return True, value
    if name == "union":
        for arg in kind.args:
            ok, result = _try(arg, value, tuples)
            if ok:
                return True, result
        return False, None
    if name == "none":
        return value is None, None
    if name == "literal":
        return any(type(value) is type(c) and value == c for c in kind.choices), value
    if name == "bool":
        return isinstance(value, bool), value
    if name == "int":
        return isinstance(value, int) and not isinstance(value, bool), value
    if name == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False, None
        return math.isfinite(value), float(value)
    if name == "str":
        return isinstance(value, str), value
    if name in ("list", "tuple"):
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, list | tuple):
            return False, None
        items = []
        for item in value:
            ok, result = _try(kind.args[0], item, tuples) if kind.args else (True, item)
            if not ok:
                return False, None
            items.append(result)
        return True, (tuple(items) if name == "tuple" and tuples else list(items))
    if name == "dict":
        if not isinstance(value, Mapping):
            return False, None
        key_kind, value_kind = (kind.args + (Kind("any"), Kind("any")))[:2]
        out = {}
        for key, item in value.items():
            ok_key, key = _try(key_kind, key, tuples)
            ok_value, item = _try(value_kind, item, tuples)
            if not (ok_key and ok_value):
                return False, None
            out[key] = item
        return True, out
    return True, value


def _show(value: Any) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{type(value).__name__} {text}"


def notebook_annotation(text: str) -> str:
    """The annotation as a notebook cell writes it: tuples are lists, mappings dicts."""
    kind = parse_annotation(text)
    return _written(kind)


def _written(kind: Kind) -> str:
    if kind.name == "union":
        return " | ".join(_written(arg) for arg in kind.args)
    if kind.name == "literal":
        return "str"
    if kind.name in ("list", "tuple"):
        return f"list[{_written(kind.args[0])}]" if kind.args else "list"
    if kind.name == "dict":
        return ("dict[" + ", ".join(_written(a) for a in kind.args) + "]") if kind.args else "dict"
    return {"none": "None", "any": "object"}.get(kind.name, kind.name)


__all__ = ["Kind", "ParameterTypeError", "conform", "notebook_annotation", "parse_annotation"]
