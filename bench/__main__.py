"""`python -m bench [--quick] [--json FILE] [--only NAME ...]`: every figure with its target."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

from rich.console import Console
from rich.table import Table

from bench import embedded_e2e, engine_limit, injection, overhead, resume, scaling, simulate, store_scale, swaps, viewer

SUITES = {"overhead": overhead, "scaling": scaling, "resume": resume, "report": store_scale,
          "embedded": embedded_e2e, "injection": injection,
          "viewer": viewer, "swaps": swaps, "engine": engine_limit, "simulate": simulate}


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (under 5 minutes here)")
    parser.add_argument("--json", dest="json_path", help="also write the figures as JSON to this file")
    parser.add_argument("--only", nargs="*", choices=sorted(SUITES), help="run only these suites")
    args = parser.parse_args(argv)
    console = Console()
    started = time.perf_counter()
    figures = []
    for name, module in SUITES.items():
        if args.only and name not in args.only:
            continue
        console.print(f"[dim]running {name}...[/dim]")
        t0 = time.perf_counter()
        for f in module.run(args.quick):
            f.detail["suite_seconds"] = round(time.perf_counter() - t0, 1)
            figures.append((name, f))
    table = Table(title=f"debatelab benchmarks ({'quick' if args.quick else 'full'}) on {machine()}")
    for col in ("suite", "figure", "value", "target", "result"):
        table.add_column(col)
    for name, f in figures:
        result = "[green]pass[/green]" if f.passed else "[red]miss[/red]" if f.passed is False else "-"
        table.add_row(name, f.name, f"{f.value} {f.unit}", f.target, result)
    console.print(table)
    for name, f in figures:
        console.print(f"[dim]{name}: {f.name}: {json.dumps(f.detail, default=str)}{' - ' + f.note if f.note else ''}[/dim]")
    passed = sum(1 for _, f in figures if f.passed)
    summary = f"{passed}/{len(figures)} figures met their targets in {time.perf_counter() - started:.0f}s"
    if args.json_path:
        with open(args.json_path, "w") as fh:
            json.dump({"machine": machine(), "quick": args.quick, "when": time.strftime("%Y-%m-%d %H:%M:%S"),
                       "figures": [{"suite": n, **f.as_dict()} for n, f in figures]}, fh, indent=2, default=str)
    console.print(summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
