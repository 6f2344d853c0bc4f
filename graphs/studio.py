"""Graphs for LangGraph Server and Studio (`langgraph dev`; see langgraph.json).

Each built-in topology is compiled from its shipped `embedded/<topology>` configuration, without a
checkpointer (the server supplies its own). A run needs no context: its agents then use the
configuration's models, on the embedded endpoint (`DEBATELAB_EMBEDDED_HOST` when set). A context
`{"configuration": NAME_OR_INLINE}` or `{"models": {AGENT: "TAG@HOST"}}` overrides the models, as
`debatelab.graphs.DebateContext` describes. `judging` scores a transcript given as input.
`oversight_<protocol>` runs one labelled question under a protocol of debate as oversight (input:
`debatelab.graphs.OversightState`).
"""

from __future__ import annotations

from typing import Any

from debatelab.graphs.config import load_debate_config
from debatelab.graphs.judging import compile_judging
from debatelab.graphs.oversight import compile_oversight
from debatelab.graphs.protocols import builtin_protocol_names
from debatelab.graphs.registry import build_graph


def _compiled(name: str) -> Any:
    config = load_debate_config(f"embedded/{name}")
    return build_graph(config).compile(name=name)


# The shipped topologies' graphs and one graph per oversight protocol, as the module attributes
# langgraph.json names (`debatelab.graphs.studio:adversarial`, `...:oversight_debate`); an oversight
# graph's input: question (with passage, two options), protocol, sides, rounds, judges (see
# OversightState); context: models per agent (optional).
SHIPPED_TOPOLOGIES = ("single", "adversarial", "critiqued", "society", "mixture", "facilitated", "weighted")
for _name in SHIPPED_TOPOLOGIES:
    globals()[_name] = _compiled(_name)
for _protocol in builtin_protocol_names():
    globals()[f"oversight_{_protocol}"] = compile_oversight(_protocol)
judging = compile_judging()
