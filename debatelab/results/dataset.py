"""`debatelab export EXPERIMENT --format parquet --out DIR`: an experiment as a shareable data set.

One parquet file per non-empty table (written by pyarrow through pandas, so `pandas.read_parquet`
and the Hugging Face `datasets` loader read it) and a data-set card, `README.md` with YAML front
matter in the Hub's convention (`configs` name each table's file, so `load_dataset(DIR, "turns")`
works). The card says what a reviewer needs before trusting the data: the fields and their types,
the licence, where the questions or scenarios came from, the models with their digests, the rubric
versions and judge prompt layouts, and how many rows each table holds. It never says more than
the database does: a model without a recorded digest is listed as such.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import yaml

from debatelab import __version__
from debatelab.base import UserError
from debatelab.results.reader import Results

# The tables a data set holds, in the order the card lists them, with what one row is.
TABLES: dict[str, str] = {
    "experiments": "the experiment: its kind and its full specification (JSON)",
    "debates": "one debate: configuration, topology, scenario, repeat, status, verdict, tokens and time",
    "turns": "one turn of a debate, in order: round, role, agent, model, stance and the text",
    "judgments": "one judgment of a debate by a model or a person (`human:<rater>`), with the overall score",
    "scores": "one criterion of one judgment (long form); `score` is empty when unscored, with the reason",
    "model_calls": "calls, tokens and seconds per debate or judgment stage, agent and model (with digest)",
    "pair_judgments": "one pairwise comparison of two debates by one judge in one presentation order",
    "pair_verdicts": "one criterion of a pairwise comparison: the winner a, b or tie (empty when unscored)",
    "qa_calls": "one answer to a labelled question (weak-to-strong, debate on questions, baselines)",
    "reliability": "per criterion: the judges' ordinal alpha, flip rate and unscored rate",
    "oversight_trials": "one labelled question argued under one oversight protocol and matchup",
    "oversight_turns": "one argument, choice or judge's question in an oversight trial, with quote counts",
    "oversight_verdicts": "one judge's verdict on an oversight trial: letter, truth, correct, probability",
    "stance_readings": "one argued turn's position on the motion (for, against, mixed) and whether it conceded",
    "judge_audits": "an audit of a judge of this experiment on labelled pairs: accuracy, position consistency",
    "audit_calls": "one audited item and presentation order: the judge's choice against the label",
}
LICENSES = ("cc-by-4.0", "cc-by-sa-4.0", "cc0-1.0", "mit", "apache-2.0", "odc-by", "other")


def export_dataset(results: Results, experiment: str, out_dir: Path, *, license: str = "other") -> dict[str, int]:  # noqa: A002
    """Write `experiment` into `out_dir` (created; existing files of the same names are replaced).

    Returns the rows written per table. Refuses an unknown experiment or licence before writing.
    """
    if license not in LICENSES:
        raise UserError(f"--license {license!r}: use one of {', '.join(LICENSES)}")
    experiments = results.experiments()
    if experiment not in set(experiments["name"]):
        known = ", ".join(sorted(experiments["name"])) or "none yet"
        raise UserError(f"no experiment {experiment!r} in {results.path} (it has: {known})")
    frames = _frames(results, experiment)
    if out_dir.is_symlink() or (out_dir.exists() and not out_dir.is_dir()):
        raise UserError(f"--out {out_dir}: a file or a link is in the way; name a directory")
    out_dir.mkdir(parents=True, exist_ok=True)
    # Written into a fresh folder beside the target, then moved in file by file: a failure leaves
    # no partial files, and os.replace puts a file where a link was instead of writing through it.
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir))
    try:
        counts: dict[str, int] = {}
        for table, frame in frames.items():
            try:
                frame.to_parquet(staging / f"{table}.parquet", engine="pyarrow", index=False)
            except (pa.ArrowException, ValueError, TypeError) as exc:
                raise UserError(f"{results.path}: table {table}: a stored value does not fit its column "
                                f"({' '.join(str(exc).split())[:160]}); nothing was written") from None
            counts[table] = len(frame)
        (staging / "README.md").write_text(dataset_card(results, experiment, frames, license), encoding="utf-8")
        for stale in TABLES:  # another export's tables would read as this one's
            if stale not in counts and (out_dir / f"{stale}.parquet").is_file():
                (out_dir / f"{stale}.parquet").unlink()
        for written in staging.iterdir():
            os.replace(written, out_dir / written.name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return counts


def _frames(results: Results, experiment: str) -> dict[str, pd.DataFrame]:
    frames: dict[str, pd.DataFrame] = {}
    store = results._store  # noqa: SLF001  (the reader and the data set are one room)
    for table in TABLES:
        if table == "experiments":
            frame = results.experiments()
            frame = frame[frame["name"] == experiment]
        elif table in ("judge_audits", "audit_calls"):
            judges = set(results.judgments(experiment)["judge"]) | set(results.pairwise(experiment)["judge"])
            frame = store.table_frame(table, None)
            frame = frame[frame["judge"].isin(judges)]
        else:
            frame = store.table_frame(table, experiment)
        if len(frame):
            frames[table] = frame.reset_index(drop=True)
    return frames


def dataset_card(results: Results, experiment: str, frames: dict[str, pd.DataFrame], license: str) -> str:  # noqa: A002
    """The card: YAML front matter (licence, configs, tags) and a body a reader can check."""
    exp = frames["experiments"].iloc[0]
    front: dict[str, Any] = {
        "license": license,
        "pretty_name": f"debatelab: {experiment}",
        "tags": ["debate", "llm-as-a-judge", "multi-agent", "debatelab"],
        "configs": [{"config_name": t, "data_files": [{"split": "train", "path": f"{t}.parquet"}],
                     **({"default": True} if t == _main_table(frames) else {})} for t in frames],
    }
    lines = ["---", yaml.safe_dump(front, sort_keys=False).rstrip(), "---", "",
             f"# debatelab: {experiment}", ""]
    if exp.get("description"):
        lines += [str(exp["description"]), ""]
    lines += [f"Exported by debatelab {__version__} from a results database (experiment kind "
              f"`{exp['kind'] or 'debates'}`, created {exp['created_at']}, last updated {exp['updated_at']}).",
              "Read a table with `pandas.read_parquet(\"turns.parquet\")` or "
              "`datasets.load_dataset(\"<this folder>\", \"turns\")`.", ""]
    lines += ["## Licence", "", _licence_text(license), ""]
    lines += ["## Provenance", ""] + _provenance(results, experiment, exp) + [""]
    lines += ["## Models", ""] + _models(frames) + [""]
    lines += ["## Rubrics and judges", ""] + _rubrics(frames) + [""]
    lines += ["## Tables", "", "| table | rows | one row is |", "|---|---:|---|"]
    lines += [f"| `{t}` | {len(f):,} | {TABLES[t]} |" for t, f in frames.items()]
    lines += ["", "## Fields", ""]
    for table, frame in frames.items():
        fields = ", ".join(f"`{c}` ({_kind(frame[c])})" for c in frame.columns)
        lines += [f"- **{table}**: {fields}"]
    lines += ["", "## Caveats", "",
              "- Empty cells are honest: an unscored criterion or unanswered question has no score "
              "or letter and a reason column says why; nothing was defaulted.",
              "- Model outputs are reproduced as generated; they may be wrong, and small local models "
              "argue and judge near chance.", ""]
    return "\n".join(lines)


def _main_table(frames: dict[str, pd.DataFrame]) -> str:
    for table in ("turns", "oversight_turns", "qa_calls", "debates"):
        if table in frames:
            return table
    return next(iter(frames))


def _licence_text(license: str) -> str:  # noqa: A002
    if license == "other":
        return ("Not set (`other`): the exporter did not choose a licence. The transcripts are model "
                "outputs over the scenarios or questions named under Provenance, whose own licences "
                "apply; set one with `debatelab export ... --license`.")
    return f"`{license}`, chosen by the exporter; the sources named under Provenance keep their own licences."


def _provenance(results: Results, experiment: str, exp: pd.Series) -> list[str]:
    lines = []
    if exp.get("source_file"):
        lines.append(f"- Experiment file: `{Path(str(exp['source_file'])).name}`")
    debates = results.debates(experiment)
    if len(debates):
        sets = sorted(s for s in debates["scenario_set"].dropna().unique() if s)
        sources = sorted(s for s in debates["source"].dropna().unique() if s)
        lines.append(f"- Scenario sets: {', '.join(f'`{s}`' for s in sets) or 'not recorded'}")
        if sources:
            lines.append(f"- Debates from: {', '.join(f'`{s}`' for s in sources)}")
    for name in ("oversight", "dynamics", "w2s"):
        computed = results.computed(experiment, name)
        provenance = computed.get("provenance") if isinstance(computed, dict) else None
        if provenance:
            lines.append(f"- Questions ({name}): `{json.dumps(provenance, sort_keys=True)}`")
    return lines or ["- Not recorded in the database."]


def _models(frames: dict[str, pd.DataFrame]) -> list[str]:
    calls = frames.get("model_calls")
    seen: dict[str, set[str]] = {}
    if calls is not None:
        for model, digest in zip(calls["model"], calls["digest"], strict=True):
            if model:
                seen.setdefault(str(model), set()).update({str(digest)} if digest else set())
    for table, column in (("turns", "model"), ("oversight_turns", "model"), ("qa_calls", "model"),
                          ("judgments", "judge"), ("oversight_verdicts", "judge")):
        if table in frames:
            for model in frames[table][column].dropna().unique():
                if model and not str(model).startswith("human:"):
                    seen.setdefault(str(model), set())
    if not seen:
        return ["- None recorded."]
    return [f"- `{m}`: digest {', '.join(f'`{d}`' for d in sorted(ds)) if ds else 'not recorded'}"
            for m, ds in sorted(seen.items())]


def _rubrics(frames: dict[str, pd.DataFrame]) -> list[str]:
    lines = []
    for table in ("judgments", "pair_judgments"):
        if table in frames:
            frame = frames[table]
            by = frame.groupby(["rubric", "rubric_version", "judge"], dropna=False).size()
            for (rubric, version, judge), n in by.items():
                layout = ""
                if table == "judgments":
                    layouts = frame[(frame.judge == judge) & (frame.rubric_version == version)]["prompt_version"]
                    found = sorted(str(v) for v in layouts.dropna().unique())
                    layout = f", judge prompt layout {', '.join(found)}" if found else ""
                kind = "pairwise" if table == "pair_judgments" else "absolute"
                lines.append(f"- {kind}: rubric `{rubric}` version `{version}`, judge `{judge}`: {n:,} "
                             f"judgments{layout}")
    return lines or ["- No judgments in this experiment."]


def _kind(column: pd.Series) -> str:
    if pd.api.types.is_integer_dtype(column):
        return "integer"
    if pd.api.types.is_float_dtype(column):
        return "number"
    return "text"
