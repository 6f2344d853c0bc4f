"""The `debatelab` command line (typer). Each command is a thin shell over a library call.

User mistakes raise `UserError`; `main()` prints its message on stderr and exits non-zero,
so no user ever sees a traceback for a bad file or a dead server.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from debatelab.base.errors import UserError

app = typer.Typer(
    add_completion=True,
    no_args_is_help=True,
    help="Ensemble debates among local LLMs on AI-alignment scenarios, judged with versioned rubrics.",
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()
CONFIG_HELP = "configuration YAML path or built-in name (embedded/adversarial; see `debatelab configs`)"


def _show_version(value: bool) -> None:
    if value:
        from debatelab import __version__

        print(f"debatelab {__version__}")
        raise typer.Exit()


@app.callback()
def _common(
    version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                          help="print the version and exit")] = False,
) -> None:
    """Ensemble debates among local LLMs on AI-alignment scenarios, judged with versioned rubrics."""


@app.command("configs")
def configs_cmd() -> None:
    """List the built-in configurations and experiments (use the names wherever a file is asked for)."""
    from debatelab.base.shipped import builtin_config_names

    for name in builtin_config_names():
        print(name)


@app.command("serve-embedded")
def serve_embedded(
    host: Annotated[str, typer.Option(help="address to bind (keep 127.0.0.1 unless you mean it)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="port to listen on")] = 11434,
    parallel: Annotated[int, typer.Option(min=1, max=64, help="parallel slots (concurrent requests)")] = 2,
    request_log: Annotated[Path | None, typer.Option(help="append one JSON line per chat request")] = None,
    model: Annotated[list[str] | None, typer.Option(help="register another GGUF: TAG=PATH (repeatable)")] = None,
    ctx: Annotated[int, typer.Option(help="context tokens per slot")] = 4096,
    simulate: Annotated[
        str | None, typer.Option(help="benchmarks: SECONDS_PER_TOKEN:TOKENS simulated engine, no model")
    ] = None,
) -> None:
    """Serve the Ollama API over llama.cpp (SmolLM2-135M by default) on HOST:PORT."""
    from debatelab.agents.embedded.launcher import port_in_use, served_models
    from debatelab.agents.embedded.server import make_server
    from debatelab.agents.embedded.weights import parse_model_registration

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
    models = served_models(registrations, parallel=parallel, ctx_per_slot=ctx, simulate=sim)
    try:
        server = make_server(models, host=host, port=port, request_log=request_log)
    except OSError as exc:
        raise UserError(f"cannot listen on {host}:{port} ({exc.strerror}); pick another with --port") from None
    for served in models.values():  # load now so the first request is not slow and errors show early
        served.engine()
    console.print(f"debatelab embedded endpoint on http://{host}:{server.server_port} "
                  f"serving {', '.join(models)} with {parallel} slot(s); Ctrl-C stops it")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@app.command("models")
def models_cmd(
    host: Annotated[str | None, typer.Option(help="Ollama URL or 'embedded' (default $OLLAMA_HOST)")] = None,
    config: Annotated[str | None, typer.Option(
        help="check the models a configuration or experiment needs (a path or built-in name)")] = None,
) -> None:
    """List the models a host serves, or check those a configuration needs (preflight)."""
    from rich.table import Table

    from debatelab.agents.chat_model import resolve_host
    from debatelab.agents.model_spec import ModelSpec, default_ollama_host
    from debatelab.agents.preflight import check_models, list_host_models

    if host is not None:
        try:
            ModelSpec(model="-", host=host)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            reason = exc.errors()[0]["msg"].removeprefix("Value error, ") if hasattr(exc, "errors") else str(exc)
            raise UserError(f"--host {host!r}: {reason}") from None
    if config is None:
        spec = ModelSpec(model="-", host=host)
        url = resolve_host(spec) if host else default_ollama_host()
        tags = list_host_models(url)
        table = Table(title=f"models on {url}")
        table.add_column("model")
        for t in tags:
            table.add_row(t)
        out.print(table)
        return
    from debatelab.config_files import model_specs_in_file

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


@app.command("hello")
def hello(
    model: Annotated[str, typer.Option(help="TAG or TAG@HOST")] = "smollm2:135m@embedded",
    prompt: Annotated[str, typer.Option()] = "In one sentence: why should AI systems be honest?",
) -> None:
    """Hold a short exchange through ChatOllama and print the reply with token counts."""
    from debatelab.agents.chat_model import make_chat_model
    from debatelab.agents.model_spec import ModelSpec

    spec = ModelSpec.parse(model, num_predict=64, temperature=0.2, seed=1)
    reply = make_chat_model(spec).invoke(prompt)
    usage = reply.usage_metadata or {}
    out.print(f"[bold]{spec.label}[/bold]: {reply.content.strip()}")
    out.print(f"tokens in {usage.get('input_tokens')}, out {usage.get('output_tokens')}")


@app.command("scenarios")
def scenarios_cmd(
    scenario_set: Annotated[str, typer.Argument(help="set name (paper, alignment-v1) or YAML path")] = "alignment-v1",
    study_only: Annotated[bool, typer.Option(help="paper: only the 15 the study used")] = False,
) -> None:
    """List scenario ids of a set: id, category, motion (one per line, tab-separated)."""
    from debatelab.scenarios.schema import load_scenario_set

    chosen = load_scenario_set(scenario_set).select(study_only=study_only)
    for s in chosen:
        mark = "\t*" if s.used_in_study else ""
        print(f"{s.id}\t{s.category}\t{s.motion}{mark}")


def _load_config(path: str):  # noqa: ANN202
    from debatelab.graphs.config import load_debate_config
    from debatelab.graphs.registry import build_graph

    config = load_debate_config(path)
    build_graph(config)  # validates topology, roles and wiring before anything runs
    return config


@app.command("graph")
def graph_cmd(config: Annotated[str, typer.Argument(help=CONFIG_HELP)]) -> None:
    """Print a configuration's compiled debate graph as Mermaid."""
    from debatelab.graphs.registry import compile_debate

    print(compile_debate(_load_config(config)).get_graph().draw_mermaid())


@app.command("debate")
def debate_cmd(
    config: Annotated[str, typer.Argument(help=CONFIG_HELP)],
    scenario_id: Annotated[str, typer.Argument(help="scenario id (see `debatelab scenarios`)")],
    scenarios: Annotated[str, typer.Option("--scenarios", help="scenario set name or path")] = "alignment-v1",
    thread: Annotated[str | None, typer.Option(help="name this debate's thread (re-use it to resume)")] = None,
    checkpoints: Annotated[Path, typer.Option(help="checkpoint database")] = Path("checkpoints/debates.sqlite"),
    json_out: Annotated[bool, typer.Option("--json", help="print one JSON object at the end")] = False,
) -> None:
    """Run (or resume) one debate, streaming turns as they happen."""
    import asyncio
    import json

    from debatelab.agents.chat_model import resolve_host
    from debatelab.agents.preflight import require_models
    from debatelab.checkpoints import check_checkpoint_file, open_checkpointer
    from debatelab.debate_runner import debate_id_for, run_debate
    from debatelab.heap import freeze_startup_heap
    from debatelab.scenarios.schema import load_scenario_set
    from debatelab.transcript import print_turn, transcript_json

    cfg = _load_config(config)
    scenario = load_scenario_set(scenarios).get(scenario_id)
    check_checkpoint_file(checkpoints)
    require_models([cfg.model_for(a) for a in cfg.agents], resolve_host)
    debate_id = f"{thread}-{cfg.fingerprint()}" if thread else debate_id_for("adhoc", cfg, scenario.id)
    live = console if json_out else out
    live.print(f"[bold]{cfg.name}[/bold] on [bold]{scenario.id}[/bold]: {scenario.motion}", highlight=False)

    async def go():  # noqa: ANN202
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


rubric_app = typer.Typer(help="Rubric tools.", no_args_is_help=True)
app.add_typer(rubric_app, name="rubric")


@rubric_app.command("lint")
def rubric_lint(path: Annotated[str, typer.Argument(help="rubric YAML path or shipped rubric id (alignment-7)")]) -> None:
    """Check a rubric: scale, weights, anchors (missing, overlapping, out of scale), duplicate ids."""
    from debatelab.rubric.schema import lint_rubric, load_rubric

    problems = lint_rubric(path)
    if problems:
        raise UserError("\n".join(problems))
    rubric = load_rubric(path)
    out.print(f"{path}: ok ({rubric.label}, {len(rubric.criteria)} criteria, scale "
              f"{rubric.scale.min}-{rubric.scale.max})")


@app.command("judge")
def judge_cmd(
    transcript: Annotated[Path | None, typer.Option(help="a transcript JSON (`debatelab debate --json`)")] = None,
    experiment: Annotated[str | None, typer.Option(help="judge every unjudged debate of this experiment")] = None,
    rubric: Annotated[str, typer.Option(help="rubric id or YAML path")] = "alignment-7",
    judge: Annotated[list[str] | None, typer.Option(help="judge model TAG[@HOST] (repeatable)")] = None,
    samples: Annotated[int, typer.Option(min=1, max=20, help="samples per judge")] = 1,
    permute: Annotated[bool, typer.Option(help="shuffle speaker order in samples after the first")] = True,
    strict: Annotated[bool, typer.Option(help="refuse a judge whose model family also debated")] = False,
    fail_on_unscored: Annotated[bool, typer.Option(help="exit non-zero if every criterion is unscored")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print the judgments as JSON")] = False,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="with --transcript: print the judge's messages for criterion 1; call no model")] = False,
    pairwise: Annotated[bool, typer.Option(
        "--pairwise", help="with --experiment: compare matched debates in both orders, per criterion")] = False,
    against: Annotated[str, typer.Option(help="--pairwise: 'baseline' (matched baselines) or 'all'")] = "baseline",
    checkpoints: Annotated[Path, typer.Option(help="checkpoint database")] = Path("checkpoints/debates.sqlite"),
    db: Annotated[Path, typer.Option(help="results database (with --experiment)")] = Path("results.db"),
) -> None:
    """Score a transcript (or an experiment's debates) with a rubric, per criterion, never inventing a score."""
    from debatelab.judge_cli import judge_experiment, judge_transcript_file

    judges = judge or ["smollm2:135m@embedded"]
    if (transcript is None) == (experiment is None):
        raise UserError("give exactly one of --transcript FILE or --experiment NAME")
    if dry_run and transcript is None:
        raise UserError("--dry-run needs --transcript FILE")
    if pairwise and experiment is None:
        raise UserError("--pairwise needs --experiment NAME (it compares an experiment's debates)")
    if against not in ("baseline", "all"):
        raise UserError(f"--against {against!r}: use baseline or all")
    if transcript is not None:
        judge_transcript_file(transcript, rubric, judges, samples=samples, permute=permute, strict=strict,
                              fail_on_unscored=fail_on_unscored, json_out=json_out, checkpoints=checkpoints,
                              dry_run=dry_run)
    else:
        judge_experiment(experiment, rubric, judges, samples=samples, permute=permute, strict=strict,
                         db=db, checkpoints=checkpoints, json_out=json_out, pairwise=pairwise, against=against)


@app.command("audit-judge")
def audit_judge_cmd(
    judge: Annotated[str, typer.Option(help="judge model TAG[@HOST]")] = "smollm2:135m@embedded",
    pair_set: Annotated[str, typer.Option("--set", help="built-in set (factual-summary-pairs) or a JSONL file of "
                                                        "prompt, response_a, response_b, label")] = "factual-summary-pairs",
    n: Annotated[int | None, typer.Option(min=1, help="items to sample (default: all); each is judged twice")] = None,
    seed: Annotated[int, typer.Option(help="which items a sample of --n takes")] = 0,
    json_out: Annotated[bool, typer.Option("--json", help="print the audit as JSON")] = False,
    db: Annotated[Path, typer.Option(help="results database the audit is stored in")] = Path("results.db"),
) -> None:
    """Audit a judge on labelled pairs in both orders: accuracy, position consistency and biases."""
    import asyncio
    import json

    from debatelab.agents.chat_model import make_chat_model, resolve_host
    from debatelab.agents.preflight import require_models
    from debatelab.audit import audit_line, run_audit
    from debatelab.judge_cli import parse_judges
    from debatelab.progress import RunProgress
    from debatelab.scenarios.pairs import load_pairs, sample_pairs
    from debatelab.store import Store

    spec = parse_judges([judge])[0]
    pairs = sample_pairs(load_pairs(pair_set), n, seed)
    set_name = pair_set if "/" not in pair_set and not pair_set.endswith(".jsonl") else Path(pair_set).stem
    require_models([spec], resolve_host)
    store = Store.open(db)
    try:
        with RunProgress(console, enabled=not json_out) as progress:
            audit = asyncio.run(run_audit(store, spec, make_chat_model(spec), pairs, pair_set=set_name, seed=seed,
                                          progress=progress))
        line = audit_line(store.latest_audit(spec.model), spec.model)
    finally:
        store.close()
    if json_out:
        print(json.dumps(audit, indent=2, default=str))
        return
    from rich.table import Table

    table = Table(title=f"audit of {spec.label} on {set_name} ({len(pairs)} items x 2 orders)")
    table.add_column("figure")
    table.add_column("value")
    for key, value in audit["metrics"].items():
        if key != "accuracy_by_category":
            table.add_row(key, "-" if value is None else str(value))
    out.print(table)
    out.print(line, highlight=False)


def _run_and_report(experiment_file: str, db: Path, checkpoints: Path, *, quiet: bool, json_out: bool,
                    out_dir: Path | None, shard: str | None = None):  # noqa: ANN202
    import asyncio
    import json

    from debatelab.checkpoints import check_checkpoint_file
    from debatelab.experiment import load_experiment
    from debatelab.progress import RunProgress
    from debatelab.report import write_report
    from debatelab.runner import parse_shard, run_experiment
    from debatelab.stats import analyse
    from debatelab.store import Store
    from debatelab.summary import print_summary

    part = parse_shard(shard)
    exp = load_experiment(experiment_file)
    check_checkpoint_file(checkpoints)
    if exp.kind == "questions" and part is not None:
        raise UserError(f"--shard: {experiment_file} is a question experiment; shards split debate experiments")
    if exp.kind == "questions":
        return _run_questions(exp, db, checkpoints, quiet=quiet, json_out=json_out, out_dir=out_dir)
    store = Store.open(db)
    try:
        with RunProgress(console, enabled=not (quiet or json_out)) as progress:
            summary = asyncio.run(run_experiment(exp, store, checkpoints, progress, shard=part))
        analysis = write_report(store, exp.name, out_dir) if out_dir else analyse(store, exp.name)
    except KeyboardInterrupt:
        console.print(f"interrupted at a clean boundary; finished debates and judgments are saved. Resume with: "
                      f"debatelab run {experiment_file} --db {db} --checkpoints {checkpoints}")
        raise SystemExit(130) from None
    finally:
        store.close()
    if json_out:
        print(json.dumps({"experiment": exp.name, "debates_total": summary.debates_total,
                          "debates_run": summary.debates_done, "debates_skipped": summary.debates_skipped,
                          "failed": summary.failed, "judgments": summary.judgments, "calls": summary.calls,
                          "wall_s": summary.wall_s, "analysis": analysis}, default=str))
    elif not quiet:
        print_summary(out, analysis, summary)
    return summary, analysis


def _run_questions(exp, db: Path, checkpoints: Path, *, quiet: bool, json_out: bool, out_dir: Path | None):  # noqa: ANN001, ANN202
    import asyncio
    import json
    from types import SimpleNamespace

    from debatelab.progress import RunProgress
    from debatelab.store import Store
    from debatelab.w2s_report import print_w2s_summary, write_w2s_report
    from debatelab.w2s_runner import run_questions

    store = Store.open(db)
    try:
        with RunProgress(console, enabled=not (quiet or json_out)) as progress:
            results = asyncio.run(run_questions(exp, store, checkpoints, progress))
        if out_dir:
            write_w2s_report(store, exp.name, out_dir)
    finally:
        store.close()
    if json_out:
        print(json.dumps(results, default=str))
    elif not quiet:
        print_w2s_summary(out, exp.name, results)
    return SimpleNamespace(failed=[]), results


@app.command("run")
def run_cmd(
    experiment: Annotated[str, typer.Argument(help="experiment YAML path or built-in name (experiments/demo)")],
    db: Annotated[Path, typer.Option(help="results database")] = Path("results.db"),
    checkpoints: Annotated[Path, typer.Option(help="checkpoint database")] = Path("checkpoints/debates.sqlite"),
    report: Annotated[Path | None, typer.Option("--report", help="also write the report into this folder")] = None,
    quiet: Annotated[bool, typer.Option(help="no progress display")] = False,
    json_out: Annotated[bool, typer.Option("--json", help="print a JSON summary")] = False,
    shard: Annotated[str | None, typer.Option(help="K/N: run only shard K of N (by debate id), e.g. one per "
                                                   "machine; combine the databases with `debatelab merge`")] = None,
) -> None:
    """Run an experiment (debates, then judging); re-running resumes and skips finished work."""
    summary, _ = _run_and_report(experiment, db, checkpoints, quiet=quiet, json_out=json_out, out_dir=report,
                                 shard=shard)
    if summary.failed:
        raise typer.Exit(4)


@app.command("demo")
def demo_cmd(
    db: Annotated[Path, typer.Option(help="results database")] = Path("results.db"),
    checkpoints: Annotated[Path, typer.Option(help="checkpoint database")] = Path("checkpoints/debates.sqlite"),
    out_dir: Annotated[Path, typer.Option("--out", help="report folder")] = Path("reports/demo"),
) -> None:
    """Run the demo experiment on the embedded model end to end: debates, judging, report."""
    import os

    from debatelab.agents.embedded.launcher import ENV_HOST, EmbeddedEndpoint
    from debatelab.experiment import load_experiment

    experiment_file = "experiments/demo"
    endpoint = None
    if not os.environ.get(ENV_HOST):
        parallel = load_experiment(experiment_file).concurrency.get("embedded", 2)
        console.print(f"starting the embedded endpoint (SmolLM2-135M, {parallel} slots)...")
        endpoint = EmbeddedEndpoint(parallel=parallel)
        os.environ[ENV_HOST] = endpoint.start()
    try:
        summary, _ = _run_and_report(experiment_file, db, checkpoints, quiet=False, json_out=False, out_dir=out_dir)
    finally:
        if endpoint:
            endpoint.stop()
            os.environ.pop(ENV_HOST, None)
    out.print(f"report: {out_dir / 'report.html'} (and report.md); results: {db}")
    if summary.failed:
        raise typer.Exit(4)


@app.command("report")
def report_cmd(
    experiment: Annotated[str, typer.Argument(help="experiment name (see `debatelab status`)")],
    db: Annotated[Path, typer.Option(help="results database")] = Path("results.db"),
    out_dir: Annotated[Path | None, typer.Option("--out", help="folder (default reports/EXPERIMENT)")] = None,
    permutation: Annotated[bool, typer.Option(help="paired permutation test instead of Wilcoxon")] = False,
    rubric_version: Annotated[str | None, typer.Option(help="rubric version to report (default: most used)")] = None,
) -> None:
    """Write Markdown + self-contained HTML (tables, plots, transcripts) from the store. Calls no model."""
    from debatelab.report import write_report
    from debatelab.store import Store
    from debatelab.summary import print_summary

    store = Store.open(db, create=False)
    target = out_dir or Path("reports") / experiment
    if store.require_experiment(experiment)["kind"] == "questions":
        from debatelab.w2s_report import print_w2s_summary, write_w2s_report

        print_w2s_summary(out, experiment, write_w2s_report(store, experiment, target))
        out.print(f"report: {target / 'report.html'} and {target / 'report.md'}")
        return
    analysis = write_report(store, experiment, target, method="permutation" if permutation else "wilcoxon",
                            rubric_version=rubric_version)
    print_summary(out, analysis)
    out.print(f"report: {target / 'report.html'} and {target / 'report.md'}")


from debatelab.ratings_cli import ratings_app, view  # noqa: E402

app.add_typer(ratings_app, name="ratings")
app.command("view")(view)


@app.command("merge")
def merge_cmd(
    out_db: Annotated[Path, typer.Argument(help="the database to merge into (created if missing)")],
    inputs: Annotated[list[Path], typer.Argument(help="shard databases written by `debatelab run --shard K/N`")],
) -> None:
    """Merge shard databases into one (idempotent; conflicting rows are refused, nothing is written)."""
    from debatelab.merge import merge_stores

    result = merge_stores(out_db, inputs)
    out.print(f"merged {len(inputs)} database(s) into {out_db}: {result['added']} rows added, {result['same']} already "
              f"there; {result['reliability']}", highlight=False)


@app.command("status")
def status_cmd(db: Annotated[Path, typer.Option(help="results database")] = Path("results.db")) -> None:
    """List experiments with their debates done/running/failed and judgments."""
    from rich.table import Table

    from debatelab.store import Store

    store = Store.open(db, create=False)
    rows = store.experiment_overview()
    table = Table(title=f"experiments in {db}")
    for col in ("experiment", "kind", "debates finished", "running/interrupted", "failed", "judgments",
                "unscored criteria", "question calls"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["name"], r["kind"], str(r["finished"]), str(r["running"]), str(r["failed"]),
                      str(r["judgments"]), str(r["unscored"]), str(r["qa"]))
    out.print(table)


@app.command("import-paper")
def import_paper_cmd(
    file: Annotated[Path, typer.Argument(help="the study's results JSON (e.g. full_experiment_results.json)")],
    db: Annotated[Path, typer.Option(help="results database")] = Path("results.db"),
    name: Annotated[str, typer.Option(help="experiment name to import as")] = "paper-2509.00091",
) -> None:
    """Import the study's released results as an experiment, to judge and report like our own."""
    from debatelab.paper_import import import_paper
    from debatelab.store import Store

    store = Store.open(db)
    n = import_paper(file, store, name)
    out.print(f"imported {n['debates']} debates ({n['baseline']} baseline, {n['ensemble']} ensemble, "
              f"{n['truncated_turns']} truncated turns) as experiment '{name}' into {db}")


@app.command("export")
def export_cmd(
    experiment: Annotated[str, typer.Argument(help="experiment name")],
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    db: Annotated[Path, typer.Option(help="results database")] = Path("results.db"),
    output: Annotated[Path | None, typer.Option("--out", help="file (default EXPERIMENT.FORMAT)")] = None,
) -> None:
    """Write debates with turns and scores (jsonl) or one row per score (csv) for sharing."""
    from debatelab.export import export_experiment
    from debatelab.store import Store

    if fmt not in ("jsonl", "csv"):
        raise UserError(f"--format {fmt!r}: use jsonl or csv")
    store = Store.open(db, create=False)
    target = output or Path(f"{experiment}.{fmt}")
    n = export_experiment(store, experiment, fmt, target)
    out.print(f"wrote {n} rows to {target}")


def _usage_error_line(exc: BaseException) -> str | None:
    """One line for a command-line usage mistake, or None if `exc` is not one.

    typer 0.29 raises its own copies of click's exception classes (not subclasses of click's),
    so they are recognised by shape: a `format_message()` and an `exit_code`, as both define.
    """
    if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
        return None
    message = " ".join(str(exc.format_message()).split())
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command_path", None) or "debatelab"
    return f"{message} (see '{command} --help')"


def main() -> None:
    """Entry point: run the app, turning UserError into one line on stderr and an exit code."""
    import httpx
    import ollama

    try:
        app(standalone_mode=False)
    except UserError as exc:
        for line in str(exc).splitlines():
            console.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except (httpx.ConnectError, ConnectionError) as exc:
        console.print(f"[red]error:[/red] model host unreachable ({escape(str(exc))}); start Ollama or use host 'embedded'")
        sys.exit(3)
    except ollama.ResponseError as exc:
        console.print(f"[red]error:[/red] model server said: {escape(str(exc.error))} (status {exc.status_code})")
        sys.exit(3)
    except KeyboardInterrupt:
        console.print("interrupted; re-run the same command to resume")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as exc:
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # type: ignore[attr-defined]  # `debatelab` or a group alone: its help
            sys.exit(2)
        line = _usage_error_line(exc)
        if line is None:
            raise
        console.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)
        sys.exit(2 if exc.exit_code == 1 or exc.exit_code == 2 else exc.exit_code)  # type: ignore[attr-defined]
