"""Models and built-in files: `serve-embedded`, `models`, `hello`, `configs`, `schema`, `scenarios`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from debatelab.base import UserError
from debatelab.cli.common import console, out


def configs_cmd() -> None:
    """List the built-in configurations and experiments (use the names wherever a file is asked for)."""
    from debatelab.base import builtin_config_names

    for name in builtin_config_names():
        print(name)


def schema_cmd(
    kind: Annotated[str, typer.Argument(help="config (a debate configuration) or experiment")],
) -> None:
    """Print the JSON Schema of configuration or experiment files, for editors: save it and start a
    YAML file with `# yaml-language-server: $schema=config.schema.json` to get completion and checks."""
    from debatelab.studies import SCHEMA_NAMES, schema_text

    if kind not in SCHEMA_NAMES:
        raise UserError(f"schema {kind!r}: use config or experiment")
    sys.stdout.write(schema_text(kind))  # type: ignore[arg-type]  # checked just above


def serve_embedded(
    host: Annotated[str, typer.Option(help="address to bind (keep 127.0.0.1 unless you mean it)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 11434,
    parallel: Annotated[int, typer.Option(min=1, max=64, help="parallel slots (concurrent requests)")] = 2,
    request_log: Annotated[Path | None, typer.Option(help="append one JSON line per chat request")] = None,
    model: Annotated[list[str] | None, typer.Option(help="register another GGUF: TAG=PATH (repeatable)")] = None,
    ctx: Annotated[int, typer.Option(help="context tokens per slot (SmolLM2 was trained on 8,192)")] = 8192,
    simulate: Annotated[
        str | None, typer.Option(help="benchmarks: SECONDS_PER_TOKEN:TOKENS simulated engine, no model")
    ] = None,
    slot_affinity: Annotated[bool, typer.Option(
        help="keep each debate's and judgment's calls on one llama.cpp slot (its prompt cache)")] = True,
    published_weights: Annotated[bool, typer.Option(
        help="serve smollm2:135m from its published Q4_1 file, not the Q8_0 re-encoding (slower; "
             "for comparing with runs made before 0.3)")] = False,
) -> None:
    """Serve the Ollama API over llama.cpp (SmolLM2-135M by default) on HOST:PORT."""
    from debatelab.agents.embedded import make_server, parse_model_registration, port_in_use, served_models

    registrations = dict(parse_model_registration(m) for m in model or [])
    sim: tuple[float, int] | None = None
    if simulate:
        try:
            latency, tokens = simulate.split(":")
            sim = (float(latency), int(tokens))
        except ValueError:
            raise UserError(f"--simulate {simulate!r}: expected SECONDS_PER_TOKEN:TOKENS, e.g. 0.01:20") from None
    if port_in_use(host, port):
        raise UserError(f"port {port} on {host} is already in use; pick another with --port")
    models = served_models(registrations, parallel=parallel, ctx_per_slot=ctx, simulate=sim,
                           slot_affinity=slot_affinity, published_weights=published_weights)
    try:
        server = make_server(models, host=host, port=port, request_log=request_log)
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port} ({exc.strerror}); pick another with --port") from None
    for served in models.values():  # load now so the first request is not slow and errors show early
        served.engine().load()
    console.print(f"debatelab embedded endpoint on http://{host}:{server.server_port} "
                  f"serving {', '.join(models)} with {parallel} slot(s); Ctrl-C stops it")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def models_cmd(
    host: Annotated[str | None, typer.Option(help="Ollama URL or 'embedded' (default $OLLAMA_HOST)")] = None,
    config: Annotated[str | None, typer.Option(
        help="check the models a configuration or experiment needs (a path or built-in name)")] = None,
) -> None:
    """List the models a host serves, or check those a configuration needs (preflight)."""
    from debatelab.agents import ModelSpec, check_models, default_ollama_host, list_host_models, resolve_host
    from debatelab.studies import model_specs_in_file

    if host is not None:
        try:
            ModelSpec(model="-", host=host)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            reason = exc.errors()[0]["msg"].removeprefix("Value error, ") if hasattr(exc, "errors") else str(exc)
            raise UserError(f"--host {host!r}: {reason}") from None
    if config is None:
        spec = ModelSpec(model="-", host=host)
        url = resolve_host(spec) if host else default_ollama_host()
        table = Table(title=f"models on {url}")
        table.add_column("model")
        for t in list_host_models(url):
            table.add_row(t)
        out.print(table)
        return
    specs = model_specs_in_file(config)
    if host:
        specs = [s.model_copy(update={"host": host}) for s in specs]
    checks = check_models(specs, resolve_host)
    table = Table(title=f"preflight for {config}")
    for col in ("host", "model", "available"):
        table.add_column(col)
    for c in checks:
        table.add_row(c.host, c.model, "yes" if c.available else "[red]no[/red]")
    out.print(table)
    problems = sorted({c.problem for c in checks if not c.available})
    if problems:
        raise UserError("\n".join(problems))


def hello(
    model: Annotated[str, typer.Option(help="TAG or TAG@HOST")] = "smollm2:135m@embedded",
    prompt: Annotated[str, typer.Option()] = "In one sentence: why should AI systems be honest?",
) -> None:
    """Hold a short exchange through ChatOllama and print the reply with token counts."""
    from debatelab.agents import ModelSpec, make_chat_model

    spec = ModelSpec.parse(model, num_predict=64, temperature=0.2, seed=1)
    reply = make_chat_model(spec).invoke(prompt)
    usage = reply.usage_metadata or {}
    out.print(f"[bold]{spec.label}[/bold]: {str(reply.content).strip()}")
    out.print(f"tokens in {usage.get('input_tokens')}, out {usage.get('output_tokens')}")


def scenarios_cmd(
    scenario_set: Annotated[str, typer.Argument(help="set name (paper, alignment-v1) or YAML path")] = "alignment-v1",
    study_only: Annotated[bool, typer.Option(help="paper: only the 15 the study used")] = False,
) -> None:
    """List scenario ids of a set: id, category, motion (one per line, tab-separated)."""
    from debatelab.scenarios import load_scenario_set

    chosen = load_scenario_set(scenario_set).select(study_only=study_only)
    for s in chosen:
        mark = "\t*" if s.used_in_study else ""
        print(f"{s.id}\t{s.category}\t{s.motion}{mark}")


def studies_cmd() -> None:
    """List the study kinds an experiment file's `kind` may name: built-ins and installed plugins
    (name, other spellings, whether `run --shard` splits it, what it is; tab-separated)."""
    from debatelab.studies import all_studies

    for s in all_studies().values():
        shard = "shards" if s.shardable else "-"
        print(f"{s.name}\t{','.join(s.aliases) or '-'}\t{shard}\t{s.summary}")



# What this module adds to the `debatelab` app (the package's face registers every group's).
COMMANDS = {"configs": configs_cmd, "schema": schema_cmd, "serve-embedded": serve_embedded, "models": models_cmd,
            "hello": hello, "scenarios": scenarios_cmd, "studies": studies_cmd}
