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
from debatelab.graphs.registry import build_graph


def _compiled(name: str) -> Any:
    config = load_debate_config(f"embedded/{name}")
    return build_graph(config).compile(name=name)


single = _compiled("single")
adversarial = _compiled("adversarial")
critiqued = _compiled("critiqued")
society = _compiled("society")
mixture = _compiled("mixture")
facilitated = _compiled("facilitated")
weighted = _compiled("weighted")
judging = compile_judging()
# Debate as oversight, one graph per protocol; input: question (with passage, two options),
# protocol, sides, rounds, judges (see OversightState); context: models per agent (optional).
oversight_naive = compile_oversight("naive")
oversight_expert = compile_oversight("expert")
oversight_consultancy = compile_oversight("consultancy")
oversight_debate = compile_oversight("debate")
oversight_interactive_debate = compile_oversight("interactive_debate")
oversight_open_consultancy = compile_oversight("open_consultancy")
oversight_open_debate = compile_oversight("open_debate")
