"""Judgments and their per-criterion scores (models' and people's), and the reliability figures."""

from __future__ import annotations

from typing import Any

import pandas as pd

from debatelab.store.database import StoreCore
from debatelab.store.schema import with_iso_times


class JudgmentRecords(StoreCore):
    def judgments_of_debate(self, debate_id: str, *, with_scores: bool = False) -> list[dict[str, Any]]:
        judgments = self._rows("select * from judgments where debate_id = :d", {"d": debate_id})
        if with_scores:
            for j in judgments:
                j["scores"] = self._rows("select criterion, score, unscored_reason, rationale, attempts from scores "
                                         "where judgment_id = :j", {"j": j["judgment_id"]})
        return judgments

    def experiment_judges(self, experiment: str) -> list[str]:
        """The judges (TAG@HOST) that scored this experiment's debates."""
        return [r["judge"] for r in self._rows("select distinct judge from judgments where experiment = :e "
                                               "order by judge", {"e": experiment})]

    def finished_judgments(self, experiment: str) -> set[str]:
        return {r["judgment_id"] for r in self._rows(
            "select judgment_id from judgments where experiment = :e", {"e": experiment})}

    def scores(self, experiment: str, rubric_version: str, prompt_version: str | None = None) -> list[dict[str, Any]]:
        """Score rows of one rubric version (and, given one, of one prompt layout; people's too)."""
        layout = " and (coalesce(prompt_version, '1') = :p or judge like 'human:%')" if prompt_version else ""
        return self._rows(f"select * from scores where experiment = :e and rubric_version = :v{layout}",
                          {"e": experiment, "v": rubric_version, "p": prompt_version})

    def score_export_rows(self, experiment: str) -> list[dict[str, Any]]:
        """One row per criterion score with its debate's metadata (the CSV export)."""
        return self._rows(
            "select d.debate_id, d.config, d.kind, d.topology, d.scenario_id, d.category, d.repeat, "
            "s.rubric, s.rubric_version, s.judge, s.sample, s.permuted, s.criterion, s.score, s.unscored_reason "
            "from scores s join debates d on d.debate_id = s.debate_id where d.experiment = :e "
            "order by d.config, d.scenario_id, d.repeat, s.judge, s.sample, s.criterion", {"e": experiment})

    def reliability(self, experiment: str, rubric_version: str | None,
                    prompt_version: str | None = None) -> list[dict[str, Any]]:
        layout = " and coalesce(prompt_version, '1') = :p" if prompt_version else ""
        return self._rows(f"select * from reliability where experiment = :e and rubric_version = :v{layout} "
                          "order by criterion = '__all__', key",
                          {"e": experiment, "v": rubric_version or "", "p": prompt_version})

    def analysis_frames(self, experiment: str) -> dict[str, pd.DataFrame]:
        """Debates, judgments and model calls of an experiment as DataFrames (statistics)."""
        return {
            "debates": self._frame(
                "select debate_id, config, kind, topology, scenario_id, category, repeat, status, models, "
                "coalesce(input_tokens, 0) + coalesce(output_tokens, 0) as tokens, "
                "(select sum(length(t.text)) from turns t where t.debate_id = debates.debate_id) as transcript_chars "
                "from debates where experiment = :e", {"e": experiment}),
            "judgments": self._frame(
                "select judgment_id, debate_id, rubric, rubric_version, judge, sample, permuted, overall, "
                "prompt_version from judgments where experiment = :e", {"e": experiment}),
            "calls": self._frame(
                "select debate_id, judgment_id, stage, model, calls, input_tokens, output_tokens, duration_s "
                "from model_calls where experiment = :e", {"e": experiment}),
        }

    def scores_frame(self, experiment: str, rubric_version: str | None, judges: str = "all",
                     prompt_version: str | None = None) -> pd.DataFrame:
        """Per-criterion scores in insertion order (= the rubric's order); judges: all, llm or human;
        `prompt_version`: only LLM judgments of that prompt layout (people's ratings have none)."""
        who = {"all": "", "human": " and judge like 'human:%'", "llm": " and judge not like 'human:%'"}[judges]
        layout = " and (coalesce(prompt_version, '1') = :p or judge like 'human:%')" if prompt_version else ""
        return self._frame(
            "select debate_id, judge, sample, permuted, criterion, score from scores "
            f"where experiment = :e and rubric_version = :v{who}{layout} order by rowid",
            {"e": experiment, "v": rubric_version or "", "p": prompt_version})

    def human_rated_scores(self, experiment: str, rubric_version: str) -> list[dict[str, Any]]:
        """Every judge's scores of the debates that people rated (what agreement compares)."""
        return self._rows(
            "select debate_id, judge, sample, permuted, criterion, score from scores where experiment = :e "
            "and rubric_version = :v and debate_id in (select debate_id from judgments where experiment = :e "
            "and rubric_version = :v and judge like 'human:%')", {"e": experiment, "v": rubric_version})

    def human_rated_judgments(self, experiment: str, rubric_version: str) -> list[dict[str, Any]]:
        return self._rows(
            "select debate_id, judge, sample, permuted, overall from judgments where experiment = :e "
            "and rubric_version = :v and debate_id in (select debate_id from judgments where experiment = :e "
            "and rubric_version = :v and judge like 'human:%')", {"e": experiment, "v": rubric_version})

    def write_judgment(self, judgment: dict[str, Any], scores: list[dict[str, Any]],
                       calls: list[dict[str, Any]]) -> None:
        with self._transaction() as db:
            db.table("judgments").upsert(with_iso_times(judgment), pk="judgment_id")
            db.table("scores").upsert_all(scores, pk="score_id")
            if calls:
                db.table("model_calls").upsert_all(calls, pk="call_id")

    def write_judgments(self, items: list[tuple[dict[str, Any], list[dict[str, Any]]]]) -> None:
        """Many judgments (with their scores, no model calls) in one transaction: all or nothing."""
        with self._transaction() as db:
            for judgment, scores in items:
                db.table("judgments").upsert(with_iso_times(judgment), pk="judgment_id")
                db.table("scores").upsert_all(scores, pk="score_id")

    def judgment_scores_by_id(self, judgment_id: str) -> list[dict[str, Any]]:
        return self._rows("select score_id, criterion, score, rationale, unscored_reason from scores "
                          "where judgment_id = :j", {"j": judgment_id})

    def judged_rubric_versions(self, experiment: str | None = None) -> list[tuple[str, str, str, str]]:
        """(experiment, rubric id, rubric version, prompt version) of every LLM judging done (of one
        experiment, when given)."""
        scope = " and experiment = :e" if experiment else ""
        return [(r["experiment"], r["rubric"], r["rubric_version"], r["prompt_version"] or "1") for r in self._rows(
            "select distinct experiment, rubric, rubric_version, prompt_version from judgments where judge not like "
            f"'human:%'{scope} order by experiment, prompt_version", {"e": experiment})]

    def write_reliability(self, rows: list[dict[str, Any]]) -> None:
        with self._transaction() as db:
            db.table("reliability").upsert_all([with_iso_times(r) for r in rows], pk="key")

    def judgment_scores(self, debate_id: str) -> list[dict[str, Any]]:
        """Every judgment of a debate with its per-criterion scores, reasons and unscored reasons."""
        judgments = self._rows("select * from judgments where debate_id = :d order by judge like 'human:%', judge, "
                               "rubric_version, sample", {"d": debate_id})
        scores = self._rows("select judgment_id, criterion, score, unscored_reason, rationale, attempts from scores "
                            "where debate_id = :d order by rowid", {"d": debate_id})
        by_judgment: dict[str, list[dict[str, Any]]] = {}
        for s in scores:
            by_judgment.setdefault(s["judgment_id"], []).append(s)
        for j in judgments:
            j["scores"] = by_judgment.get(j["judgment_id"], [])
        return judgments

    def rated_debate_ids(self, experiment: str, judge: str, rubric_version: str) -> set[str]:
        return {r["debate_id"] for r in self._rows(
            "select debate_id from judgments where experiment = :e and judge = :j and rubric_version = :v",
            {"e": experiment, "j": judge, "v": rubric_version})}

    def has_human_judgments(self, experiment: str, rubric_version: str) -> bool:
        return bool(self._rows("select 1 from judgments where experiment = :e and rubric_version = :v "
                               "and judge like 'human:%' limit 1", {"e": experiment, "v": rubric_version}))

    def human_score_rows(self, experiment: str | None = None) -> list[dict[str, Any]]:
        """Every human rating as one row per criterion (what `ratings export` writes)."""
        scope = " and s.experiment = :e" if experiment else ""
        return self._rows(
            "select s.debate_id, substr(s.judge, 7) as rater, s.criterion, s.score, s.rationale as reason, "
            f"s.rubric, s.rubric_version from scores s where s.judge like 'human:%'{scope} "
            "order by s.experiment, s.debate_id, s.judge, s.rowid", {"e": experiment})
