"""Plugins: objects other packages add through a Python entry point group (studies, protocols).

One reading for every group: each entry is loaded once, a class or factory is called, and a
plugin that fails to load or is not of the kind the group takes is one line naming it, never a
traceback from inside another package.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TypeVar

from debatelab.base.errors import UserError

T = TypeVar("T")


def load_plugins(group: str, kind: type[T], what: str) -> dict[str, T]:
    """Every entry of `group` as a `kind` instance, by entry-point name. An entry may name an
    instance, or a class or factory that makes one. `what` names the plugin in errors ("study")."""
    found: dict[str, T] = {}
    for ep in entry_points(group=group):
        try:
            obj = ep.load()
            made = obj if isinstance(obj, kind) else obj()
        except Exception as exc:  # a broken plugin is named, not a traceback
            raise UserError(f"{what} plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from None
        if not isinstance(made, kind):
            raise UserError(f"{what} plugin {ep.name!r} ({ep.value}) is not a debatelab {kind.__name__}")
        found[ep.name] = made
    return found
