"""`debatelab ARGS` in a fresh process without paying the interpreter's start and imports each time.

A test that runs the CLI as a user would needs a process of its own: its exit status, what it
prints on stdout and stderr, and no state shared with the test. Starting `python -m debatelab`
costs 1.5-4 s here, nearly all of it importing langchain, langgraph, pandas and scipy, and the
suite runs the CLI a few hundred times. So a fork server (multiprocessing's `forkserver`, a
single-threaded process started once) imports those modules once, and every command runs in a
fresh fork of it: a process of its own, with its own environment and directory, file descriptors
1 and 2 written to files, its exit handlers run, and the exit status `main()` gives. What differs
from `python -m debatelab`: the program name in usage messages is `debatelab` (as the installed
command prints it), and threads still running when `main()` returns are not waited for.
"""

from __future__ import annotations

import atexit
import functools
import multiprocessing
import os
import sys
import tempfile
from pathlib import Path

# Imported once in the fork server, so every command's fork starts with them loaded.
PRELOAD = ["tests.cli_process", "debatelab.cli.app", "debatelab.cli.debate", "debatelab.cli.judge",
           "debatelab.cli.models", "debatelab.cli.ratings", "debatelab.cli.results", "debatelab.cli.run",
           "debatelab.agents", "debatelab.graphs", "debatelab.experiments", "debatelab.judging",
           "debatelab.report", "debatelab.store", "debatelab.analysis", "langchain_ollama", "langchain_openai"]

@functools.cache
def _forkserver() -> multiprocessing.context.ForkServerContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(PRELOAD)
    return ctx


def _command(args: list[str], env: dict[str, str], cwd: str, out: str, err: str) -> None:
    """The forked child: the caller's directory and environment, fds 1 and 2 onto files, then the
    CLI's entry point."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, out), (2, err)):
        handle = os.open(path, os.O_WRONLY | os.O_TRUNC)
        os.dup2(handle, fd)
        os.close(handle)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115 - the process's own stdout
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
    sys.argv = ["debatelab", *args]
    from debatelab.cli import common, main

    # The two consoles were made in the fork server: they look at their (now redirected) streams
    # again, as a fresh process's would (no colour, 80 columns, no live progress on a file).
    common.console.__init__(stderr=True)
    common.out.__init__()

    try:
        main()
    finally:
        # What an interpreter does on its way out and a forked child (which leaves by os._exit)
        # would skip: the exit handlers, such as the one that stops an on-demand endpoint.
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()


def start_forked(args: list[str], env: dict[str, str], out: Path, err: Path) -> multiprocessing.process.BaseProcess:
    """Start the CLI with `args` in a fork of the preloaded server, writing its stdout and stderr to
    `out` and `err`; the process (its `pid`, `exitcode`, `kill()`, `join()`) is the caller's."""
    out.touch()
    err.touch()
    proc = _forkserver().Process(target=_command, args=(args, env, os.getcwd(), str(out), str(err)))
    proc.start()
    return proc


def run_forked(args: list[str], env: dict[str, str], timeout: float) -> tuple[int, str, str]:
    """Run the CLI with `args` in a fork of the preloaded server; (exit status, stdout, stderr)."""
    with tempfile.TemporaryDirectory(prefix="cli-") as tmp:
        out, err = Path(tmp, "stdout"), Path(tmp, "stderr")
        proc = start_forked(args, env, out, err)
        proc.join(timeout)
        if proc.exitcode is None:
            proc.kill()
            proc.join()
            raise TimeoutError(f"debatelab {' '.join(args)} ran past {timeout} s")
        return proc.exitcode, out.read_text(errors="replace"), err.read_text(errors="replace")
