"""The house's shape, checked from the source: rooms in their order, imports only downward and only
through public faces, no import cycle anywhere (imports inside functions count), and SQL only in
the store. A change that breaks the layering fails here, with the import that broke it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"debatelab.base": ROOT / "base", "debatelab.agents": ROOT / "agents", "debatelab.graphs": ROOT / "graphs",
           "debatelab.scenarios": ROOT / "scenarios", "debatelab.rubric": ROOT / "rubric",
           "debatelab": ROOT / "debatelab"}
# Lowest first: a package may import those before it, never those after it. The base and the
# package's own top face (`debatelab`, which holds only the version and the errors) are open to all.
ORDER = ["debatelab.agents", "debatelab.scenarios", "debatelab.rubric", "debatelab.graphs", "debatelab.runtime",
         "debatelab.store", "debatelab.analysis", "debatelab.judging", "debatelab.experiments", "debatelab.results",
         "debatelab.report", "debatelab.studies", "debatelab.cluster", "debatelab.view", "debatelab.cli"]
OPEN_TO_ALL = ("debatelab.base",)
ROOMS = {name.split(".")[1] for name in ORDER if name.count(".") == 1} - {"agents", "graphs", "scenarios", "rubric"}


def _modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the tree by dotted name, and whether it is a package face (`__init__`)."""
    out = {}
    for alias, folder in FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            face = parts[-1] == "__init__"
            if face:
                parts = parts[:-1]
            out[".".join([alias, *parts])] = (path, face)
    return out


MODULES = _modules()


def package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else module


def _imports(module: str) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the module's file, inside functions too."""
    path, face = MODULES[module]
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".") if face else module.split(".")[:-1]
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            out.append((base, node.lineno))
            out += [(f"{base}.{a.name}", node.lineno) for a in node.names if f"{base}.{a.name}" in MODULES]
    return [(name, line) for name, line in out if name in MODULES]


EDGES = {m: _imports(m) for m in MODULES}


def test_the_lab_is_rooms_with_faces() -> None:
    loose = [p.name for p in (ROOT / "debatelab").glob("*.py") if p.name not in ("__init__.py", "__main__.py")]
    assert not loose, f"debatelab/ keeps only __init__ and __main__ beside its rooms: {loose}"
    for room in sorted(p.name for p in (ROOT / "debatelab").iterdir() if (p / "__init__.py").exists()):
        assert room in ROOMS, f"debatelab/{room} is a room the layering test does not know; give it a place in ORDER"
        assert "__all__" in (ROOT / "debatelab" / room / "__init__.py").read_text(), f"debatelab/{room} has no face"


def test_imports_go_down_and_through_faces() -> None:
    rank = {name: i for i, name in enumerate(ORDER)}
    wrong = []
    for module, imports in EDGES.items():
        here = package_of(module)
        for target, line in imports:
            there = package_of(target)
            if there == here or there in OPEN_TO_ALL or target == "debatelab":
                continue
            where = f"{MODULES[module][0].relative_to(ROOT)}:{line} imports {target}"
            if rank.get(there, -1) >= rank.get(here, len(ORDER)):
                wrong.append(f"{where}: {there} is not below {here}")
            if not MODULES[target][1]:
                wrong.append(f"{where}: a module inside {there}; import it from a face")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycle_between_modules() -> None:
    """Not between packages, not between the modules of one package (chat_model <-> host_pool was one)."""
    graph = {m: {t for t, _ in imports if t != m and not MODULES[t][1]} for m, imports in EDGES.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles[:5])


@pytest.mark.parametrize("folder", ["agents", "graphs", "scenarios", "rubric", "debatelab", "bench"])
def test_only_the_store_speaks_sql(folder: str) -> None:
    offenders = []
    for path in (ROOT / folder).rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("debatelab/store/"):
            continue
        source = path.read_text()
        if any(k in source for k in (".execute(", ".executemany(", ".executescript(", "sqlite3.connect(")):
            offenders.append(rel)
    assert not offenders, f"SQL outside debatelab/store/: {offenders}"


@pytest.mark.parametrize(("module", "absent"), [
    ("debatelab.experiments", ["scipy"]),  # a run's first model call does not wait for scipy
    ("debatelab.report", ["scipy", "langgraph.graph", "langgraph.pregel", "langchain_ollama"]),  # calls no model
])
def test_heavy_libraries_load_only_where_they_are_used(module: str, absent: list[str]) -> None:
    """Import time is every command's start-up (5.4 s -> 3.8 s for a run here once scipy loaded on
    first use); a report, which calls no model, must not load LangGraph's graphs or a model client."""
    import subprocess
    import sys

    code = f"import sys, {module}; print(sorted(m for m in {absent!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]", f"importing {module} loads {out.stdout.strip()}"


def test_closing_a_checkpointer_drops_the_graphs_compiled_for_it(tmp_path) -> None:
    """The store closes its saver without importing the graphs: the compile cache registered a
    close callback on the saver when it cached a graph there."""
    import asyncio

    from langgraph.graph import END, START, StateGraph
    from typing_extensions import TypedDict

    from debatelab.graphs import compiled
    from debatelab.store import open_checkpointer

    class S(TypedDict):
        x: int

    def build() -> StateGraph:
        g = StateGraph(S)
        g.add_node("n", lambda s: {"x": s["x"] + 1})
        g.add_edge(START, "n")
        g.add_edge("n", END)
        return g

    async def go() -> tuple[bool, bool, object]:
        async with open_checkpointer(tmp_path / "cp.sqlite") as saver:
            first = compiled("k", build, saver, name="g")
            again = compiled("k", build, saver, name="g") is first
            held = hasattr(saver, "_debatelab_compiled_graphs")
        return again, held, saver

    again, held, saver = asyncio.run(go())
    assert again and held
    assert not hasattr(saver, "_debatelab_compiled_graphs")
