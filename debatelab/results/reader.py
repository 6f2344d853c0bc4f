"""`debatelab.results.open(path)`: a results database as pandas DataFrames, for notebooks.

Every method returns a fresh DataFrame with the columns of its table (see the data dictionary in
the documentation, generated from the store's schema), optionally narrowed to one experiment. The
database is opened read-only: nothing here writes to it, and an older database is refused with a
line saying how to upgrade it (`debatelab report` on a copy). The report's own tables are here too
(`summary`, `comparisons`, `oversight`), computed by the same code as the report, so a notebook can
reproduce any number in it.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import pandas as pd

from debatelab.analysis import analyse, oversight_results
from debatelab.store import HUMAN_PREFIX, Store


class Results:
    """A results database, read-only. Use `debatelab.results.open(path)`, preferably in a `with`.

    Example:
        ```python
        import debatelab.results as R
        with R.open("results.db") as r:
            scores = r.scores("demo")
            scores.groupby(["criterion"]).score.mean()
        ```
    """

    def __init__(self, store: Store) -> None:
        self._store = store

    @property
    def path(self) -> Path:
        return self._store.path

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _table(self, name: str, experiment: str | None) -> pd.DataFrame:
        return self._store.table_frame(name, experiment)

    # -- the stored tables --------------------------------------------------------------------------
    def experiments(self) -> pd.DataFrame:
        """One row per experiment: name, description, kind, spec (JSON), source_file, created_at, updated_at."""
        return self._table("experiments", None)

    def debates(self, experiment: str | None = None) -> pd.DataFrame:
        """One row per debate: its configuration, scenario, repeat, status, verdict, tokens and time."""
        return self._table("debates", experiment)

    def turns(self, experiment: str | None = None) -> pd.DataFrame:
        """One row per turn of every debate, in order (`debate_id`, `idx`): round, role, agent, model,
        stance, kind, text, thinking, tokens, duration, done_reason."""
        return self._table("turns", experiment)

    def judgments(self, experiment: str | None = None) -> pd.DataFrame:
        """One row per judgment of a debate (LLM judges and people): judge, rubric and its version,
        sample, permuted, overall, n_scored, n_unscored, prompt_version."""
        return self._table("judgments", experiment)

    def scores(self, experiment: str | None = None) -> pd.DataFrame:
        """Long form: one row per judgment and criterion, `score` empty when unscored (with the reason)."""
        return self._table("scores", experiment)

    def human_ratings(self, experiment: str | None = None) -> pd.DataFrame:
        """The scores people gave (judges named `human:<rater>`), with a `rater` column."""
        scores = self.scores(experiment)
        people = scores[scores.judge.str.startswith(HUMAN_PREFIX)].copy()
        people.insert(0, "rater", people.judge.str.removeprefix(HUMAN_PREFIX))
        return people.reset_index(drop=True)

    def model_calls(self, experiment: str | None = None) -> pd.DataFrame:
        """Per debate and judgment stage: agent, host, model, digest, calls, tokens, seconds."""
        return self._table("model_calls", experiment)

    def pairwise(self, experiment: str | None = None) -> pd.DataFrame:
        """One row per pairwise verdict (pair, judge, presentation order, criterion): the winner
        'a', 'b' or 'tie' (empty when unscored), with both debates and configurations."""
        pairs = self._table("pair_judgments", experiment)
        verdicts = self._table("pair_verdicts", experiment).drop(columns=["experiment"])
        return pairs.merge(verdicts, on="pair_judgment_id", how="inner")

    def audits(self) -> pd.DataFrame:
        """One row per judge audit on labelled pairs: accuracy, position consistency, metrics (JSON)."""
        return self._table("judge_audits", None)

    def audit_items(self) -> pd.DataFrame:
        """One row per audited item and presentation order: the judge's choice against the label."""
        return self._table("audit_calls", None)

    def questions(self, experiment: str | None = None) -> pd.DataFrame:
        """Question experiments (weak-to-strong, debate on questions): one row per answer, with the
        letter, the truth, correct (empty for explanations), tokens and option probabilities (JSON)."""
        return self._table("qa_calls", experiment)

    def oversight_trials(self, experiment: str | None = None) -> pd.DataFrame:
        """Debate as oversight: one row per question argued under one protocol and matchup."""
        return self._table("oversight_trials", experiment)

    def oversight_turns(self, experiment: str | None = None) -> pd.DataFrame:
        """Arguments, choices and judges' questions of every trial, with quote counts and the side."""
        return self._table("oversight_turns", experiment)

    def oversight_verdicts(self, experiment: str | None = None) -> pd.DataFrame:
        """One row per trial and judge (model or person): letter, truth, correct, probability, reasons."""
        return self._table("oversight_verdicts", experiment)

    def stance_readings(self, experiment: str | None = None) -> pd.DataFrame:
        """Stance over a debate: one row per argued turn and reader, its position on the motion (for,
        against, mixed; empty when unread) and whether it conceded (empty where it could not or unread)."""
        return self._table("stance_readings", experiment)

    def reliability(self, experiment: str | None = None) -> pd.DataFrame:
        """Per criterion: the judges' ordinal alpha, flip rate and unscored rate, as last computed."""
        return self._table("reliability", experiment)

    # -- the report's tables --------------------------------------------------------------------------
    def summary(self, experiment: str, *, rubric_version: str | None = None) -> pd.DataFrame:
        """The report's per-configuration table in long form: one row per configuration and metric
        (overall and each criterion) with mean, n, unscored and the 95% interval (overall only)."""
        analysis = analyse(self._store, experiment, rubric_version=rubric_version)
        rows = [{"config": e["config"], "kind": e["kind"], "topology": e["topology"], "metric": m, **e[m]}
                for e in analysis["per_config"] for m in analysis["metrics"]]
        return pd.DataFrame(rows, columns=["config", "kind", "topology", "metric", "mean", "n", "unscored",
                                           "ci_low", "ci_high"])

    def comparisons(self, experiment: str, *, rubric_version: str | None = None) -> pd.DataFrame:
        """The report's paired comparisons, baseline against ensemble, per metric (Holm-corrected)."""
        return pd.DataFrame(analyse(self._store, experiment, rubric_version=rubric_version)["paper_table"])

    def length_controlled(self, experiment: str, *, rubric_version: str | None = None) -> pd.DataFrame:
        """The report's length-controlled differences (ensemble - baseline, per metric)."""
        return pd.DataFrame(analyse(self._store, experiment, rubric_version=rubric_version)["length_controlled"])

    def oversight(self, experiment: str) -> pd.DataFrame:
        """The oversight report's accuracy rows: protocol, judge, side, n, correct, accuracy, interval, unanswered."""
        return pd.DataFrame(oversight_results(self._store, experiment)["oversight"])

    def computed(self, experiment: str, name: str) -> Any:
        """A result the runners stored (`dynamics`, `w2s`, `oversight`), as the plain data they wrote."""
        value = self._store.result(f"{experiment}:{name}")
        return json.loads(json.dumps(value)) if value is not None else None


def open_results(path: str | Path) -> Results:
    """Open a results database read-only (a missing, foreign or older file is one clear error)."""
    return Results(Store.open(path, create=False, read_only=True))
