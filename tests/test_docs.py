"""The documentation's generated reference follows the code: every field of every configuration
and experiment model, every command, every results table (the strict build itself runs in .ci/run)."""

from __future__ import annotations

import importlib.util
import re

import typer
from pydantic import Field

from debatelab.cli import app
from debatelab.experiments import Experiment
from debatelab.graphs import DebateConfig
from debatelab.store.schema import TABLES
from tests.conftest import ROOT

spec = importlib.util.spec_from_file_location("generated_reference", ROOT / "docs" / "hooks" / "generated_reference.py")
hook = importlib.util.module_from_spec(spec)
spec.loader.exec_module(hook)


def _fields(model, seen=None):
    seen = seen if seen is not None else {}
    if model in seen:
        return seen
    seen[model] = set(model.model_fields)
    for f in model.model_fields.values():
        for nested in hook._models_in(f.annotation):
            _fields(nested, seen)
    return seen


def test_every_field_of_every_model_is_in_the_reference() -> None:
    for root in (DebateConfig, Experiment):
        text = hook.models_reference(root)
        found: dict = {}
        for model in hook._models_in(root):
            found.update(_fields(model, found))
        assert len(found) >= (1 if root is DebateConfig else 4)
        for model, fields in found.items():
            assert f"### `{model.__name__}`" in text
            for name in fields:
                assert f"| `{name}` |" in text, f"{model.__name__}.{name} missing from the reference"


def test_a_field_added_to_a_model_appears_without_editing_a_page() -> None:
    class Extended(DebateConfig):
        brand_new_option: int = Field(default=3, ge=1, description="a field added in a later version")

    text = hook.models_reference(Extended)
    assert "| `brand_new_option` | integer (>= 1) | `3` | a field added in a later version |" in text
    page = hook.on_page_markdown("<!-- debatelab:model debatelab.graphs:DebateConfig -->")
    assert "| `topology` |" in page and "<!--" not in page


def test_every_command_and_every_table_is_in_the_reference() -> None:
    cli = hook.cli_reference()
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    groups = [g.name for g in app.registered_groups]
    for name in commands + groups:
        assert re.search(rf"## `debatelab {re.escape(name)}", cli), f"command {name} missing"
    assert "audit-judge" in cli and "--format" in cli
    tables = hook.tables_reference()
    for table, spec_ in TABLES.items():
        assert f"### `{table}`" in tables
        assert all(f"`{c}`" in tables for c in spec_["columns"])
    assert isinstance(app, typer.Typer)
