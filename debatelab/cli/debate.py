"""One debate: `graph` (draw a configuration's graph) and `debate` (run or resume one, live)."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape

from debatelab.cli.common import CONFIG_HELP, DEFAULT_CHECKPOINTS, CheckpointsOption, console, out

if TYPE_CHECKING:  # the model and graph layers load only in the commands that use them
    from debatelab.graphs import DebateConfig


def load_config(path: str) -> DebateConfig:
    """A configuration, with its topology, roles and wiring checked by building its graph."""
    from debatelab.graphs import build_graph, load_debate_config

    config = load_debate_config(path)
    build_graph(config)
    return config


def print_turn(console: Console, turn: dict[str, Any]) -> None:
    """One turn as it happens: who spoke (round, agent, role, stance, model, cost), then the text."""
    stance = f", {turn['stance']}" if turn.get("stance") in ("pro", "con") else ""
    head = (f"[bold cyan]round {turn['round']} · {escape(str(turn['agent']))}[/bold cyan] "
            f"[dim]({escape(str(turn['role']))}{stance} · {escape(str(turn['model']))} · "
            f"{turn.get('output_tokens', 0)} tok · {turn.get('duration_s', 0):.1f}s)[/dim]")
    console.print(head, highlight=False)
    console.print(escape(turn.get("text") or "(empty)"), highlight=False, soft_wrap=True)
    console.print()


def graph_cmd(config: Annotated[str, typer.Argument(help=CONFIG_HELP)]) -> None:
    """Print a configuration's compiled debate graph as Mermaid.

    One write, newline included: `print` sends a long text and its newline in two writes, and a
    reader that stops at its first match (`| grep -q`) would then close the pipe between them.
    """
    from debatelab.graphs import compile_debate

    mermaid = compile_debate(load_config(config)).get_graph().draw_mermaid()
    sys.stdout.write(mermaid if mermaid.endswith("\n") else mermaid + "\n")


def debate_cmd(
    config: Annotated[str, typer.Argument(help=CONFIG_HELP)],
    scenario_id: Annotated[str, typer.Argument(help="scenario id (see `debatelab scenarios`)")],
    scenarios: Annotated[str, typer.Option("--scenarios", help="scenario set name or path")] = "alignment-v1",
    thread: Annotated[str | None, typer.Option(help="name this debate's thread (re-use it to resume)")] = None,
    checkpoints: CheckpointsOption = DEFAULT_CHECKPOINTS,
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object at the end")] = False,
) -> None:
    """Run (or resume) one debate, streaming turns as they happen."""
    from debatelab.agents import require_models, resolve_host
    from debatelab.experiments import debate_id_for, run_debate, transcript_json
    from debatelab.runtime import freeze_startup_heap
    from debatelab.scenarios import load_scenario_set
    from debatelab.store import check_checkpoint_file, open_checkpointer

    cfg = load_config(config)
    scenario = load_scenario_set(scenarios).get(scenario_id)
    check_checkpoint_file(checkpoints)
    require_models([cfg.model_for(a) for a in cfg.agents], resolve_host)
    debate_id = f"{thread}-{cfg.fingerprint()}" if thread else debate_id_for("adhoc", cfg, scenario.id)
    live = console if json_out else out
    live.print(f"[bold]{escape(cfg.name)}[/bold] on [bold]{escape(scenario.id)}[/bold]: {escape(scenario.motion)}",
               highlight=False)

    async def go() -> Any:
        async with open_checkpointer(checkpoints) as saver:
            return await run_debate(cfg, scenario, checkpointer=saver, debate_id=debate_id,
                                    on_turn=lambda t: print_turn(live, t))

    freeze_startup_heap()
    outcome = asyncio.run(go())
    if outcome.status == "already_finished":
        live.print("(this debate had already finished; no model was called)")
        for t in outcome.turns:
            print_turn(live, t)
    elif outcome.status == "resumed":
        live.print(f"(resumed from checkpoint; {len(outcome.new_turns)} new turn(s))")
    if json_out:
        print(json.dumps(transcript_json(outcome, cfg, scenario), indent=2))



# What this module adds to the `debatelab` app (the package's face registers every group's).
COMMANDS = {"graph": graph_cmd, "debate": debate_cmd}
