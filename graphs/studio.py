"""Graphs for LangGraph Server and Studio (`langgraph dev`; see langgraph.json).

Each built-in topology is compiled from its shipped `embedded/<topology>` configuration, without a
checkpointer (the server supplies its own). A run needs no context: its agents then use the
configuration's models, on the embedded endpoint (`DEBATELAB_EMBEDDED_HOST` when set). A context
`{"configuration": NAME_OR_INLINE}` or `{"models": {AGENT: "TAG@HOST"}}` overrides the models, as
`debatelab.graphs.DebateContext` describes. `judging` scores a transcript given as input.
"""

from __future__ import annotations

from typing import Any

from debatelab.graphs.config import load_debate_config
from debatelab.graphs.judging import compile_judging
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
