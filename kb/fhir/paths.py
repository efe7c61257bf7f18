"""Walking FHIR JSON along a table path (``item[].subSite[].text``), with the FHIRPath of each value."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def walk(value: Any, path: str, where: str) -> Iterator[tuple[Any, str]]:
    """Every value at ``path`` below ``value`` (a dict), with its FHIRPath below ``where``."""
    if not path:
        yield value, where
        return
    head, _, rest = path.partition(".")
    many = head.endswith("[]")
    name = head.removesuffix("[]")
    if not isinstance(value, dict) or name not in value:
        return
    child = value[name]
    if many and isinstance(child, list):
        for i, item in enumerate(child):
            yield from walk(item, rest, f"{where}.{name}[{i}]")
    else:
        yield from walk(child, rest, f"{where}.{name}")


def leaves(value: Any, where: str, plain: str = "") -> Iterator[tuple[str, str]]:
    """(FHIRPath, path without indices) of every primitive value below ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "resourceType":
                continue
            name = key.removeprefix("_")
            yield from leaves(item, f"{where}.{name}", f"{plain}.{name}" if plain else name)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, f"{where}[{i}]", plain)
    else:
        yield where, plain


def put(target: dict[str, Any], path: str, value: Any) -> None:
    """Write ``value`` at ``path``: a new list element at the first ``[]`` segment, dicts on the way."""
    head, _, rest = path.partition(".")
    many = head.endswith("[]")
    name = head.removesuffix("[]")
    if many:
        items = target.setdefault(name, [])
        if not rest:
            items.append(value)
            return
        child: dict[str, Any] = {}
        items.append(child)
        _put_single(child, rest, value)
        return
    if not rest:
        target[name] = value
        return
    put(target.setdefault(name, {}), rest, value)


def _put_single(target: dict[str, Any], path: str, value: Any) -> None:
    """Below a new list element: nested lists get exactly one element."""
    head, _, rest = path.partition(".")
    many = head.endswith("[]")
    name = head.removesuffix("[]")
    if not rest:
        target[name] = [value] if many else value
        return
    child: dict[str, Any] = {}
    if many:
        target.setdefault(name, []).append(child)
    else:
        child = target.setdefault(name, {})
    _put_single(child, rest, value)
