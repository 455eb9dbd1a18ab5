"""Helpers to build typed resolvers at run time (strawberry reads their signatures)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

import strawberry
from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField


def resolver(
    fn: Callable[..., Any],
    returns: Any,
    arguments: dict[str, tuple[Any, Any, str]] | None = None,
    *,
    names: dict[str, str] | None = None,
) -> Callable[..., Any]:
    """Give `fn(root, info, **kwargs)` a signature: arguments map name -> (type, default, description)."""
    params = [
        inspect.Parameter("root", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("info", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=strawberry.Info),
    ]
    annotations: dict[str, Any] = {"info": strawberry.Info}
    for name, (annotation, default, description) in (arguments or {}).items():
        argument = strawberry.argument(description=description, name=(names or {}).get(name))
        typed = Annotated[annotation, argument]
        params.append(
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=typed, default=default)
        )
        annotations[name] = typed
    annotations["return"] = returns
    fn.__signature__ = inspect.Signature(params, return_annotation=returns)
    fn.__annotations__ = annotations
    return fn


REQUIRED = inspect.Parameter.empty


def flat_fields(selections: list[Any]) -> list[SelectedField]:
    """The selected fields, with fragment spreads and inline fragments flattened."""
    out: list[SelectedField] = []
    for item in selections:
        if isinstance(item, SelectedField):
            out.append(item)
        elif isinstance(item, InlineFragment | FragmentSpread):
            out += flat_fields(item.selections)
    return out
