"""Graph factories for LangGraph Studio (see langgraph.json).

Studio supplies its own checkpointer, so these compile without one. Each exposes a built-in
topology with its `configs/embedded/` configuration; models reach nodes through the context
(`DebateContext`), which the runner (or Studio's context input) provides.
"""

from __future__ import annotations

from pathlib import Path

from graphs.config import load_debate_config
from graphs.registry import compile_debate

CONFIGS = Path(__file__).resolve().parent.parent / "configs" / "embedded"


def _compiled(name: str):  # noqa: ANN202
    return compile_debate(load_debate_config(CONFIGS / f"{name}.yaml"))


def single():  # noqa: ANN201
    return _compiled("single")


def adversarial():  # noqa: ANN201
    return _compiled("adversarial")


def critiqued():  # noqa: ANN201
    return _compiled("critiqued")


def society():  # noqa: ANN201
    return _compiled("society")


def mixture():  # noqa: ANN201
    return _compiled("mixture")


def facilitated():  # noqa: ANN201
    return _compiled("facilitated")
