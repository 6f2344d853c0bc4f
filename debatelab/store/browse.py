"""The viewer's filtered, paged reads over debates."""

from __future__ import annotations

from typing import Any

from debatelab.store.database import StoreCore


class BrowseQueries(StoreCore):
    def browse_debates(self, *, experiment: str | None = None, config: str | None = None,
                       scenario: str | None = None, category: str | None = None, judge: str | None = None,
                       unscored_only: bool = False, text: str | None = None, limit: int = 50, offset: int = 0,
                       ) -> tuple[list[dict[str, Any]], int]:
        """One page of debates matching every given filter, and how many match in all.

        Every value is a bound parameter; the text filter is a substring search in the turns
        (LIKE with its wildcards escaped, so `%` and `_` in a search mean themselves)."""
        where, params = self._browse_filters(experiment, config, scenario, category, judge, unscored_only, text)
        clause = f" where {' and '.join(where)}" if where else ""
        total = self._rows(f"select count(*) as n from debates d{clause}", params)[0]["n"]
        rows = self._rows(
            "select d.debate_id, d.experiment, d.config, d.kind, d.topology, d.scenario_id, d.category, d.repeat, "
            "d.status, d.verdict_winner, d.turns, d.models, "
            "(select round(avg(j.overall), 2) from judgments j where j.debate_id = d.debate_id "
            " and j.judge not like 'human:%') as llm_overall, "
            "(select count(*) from judgments j where j.debate_id = d.debate_id) as n_judgments "
            f"from debates d{clause} order by d.experiment, d.scenario_id, d.repeat, d.config "
            "limit :limit offset :offset", {**params, "limit": int(limit), "offset": int(offset)})
        return rows, total

    @staticmethod
    def _browse_filters(experiment: str | None, config: str | None, scenario: str | None, category: str | None,
                        judge: str | None, unscored_only: bool, text: str | None) -> tuple[list[str], dict[str, Any]]:
        where: list[str] = []
        params: dict[str, Any] = {}
        for column, value in (("experiment", experiment), ("config", config), ("scenario_id", scenario),
                              ("category", category)):
            if value:
                where.append(f"d.{column} = :{column}")
                params[column] = value
        if judge:
            where.append("exists (select 1 from judgments j where j.debate_id = d.debate_id and j.judge = :judge)")
            params["judge"] = judge
        if unscored_only:
            where.append("exists (select 1 from judgments j where j.debate_id = d.debate_id and j.n_unscored > 0)")
        if text:
            escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("exists (select 1 from turns t where t.debate_id = d.debate_id "
                         "and t.text like :text escape '\\')")
            params["text"] = f"%{escaped}%"
        return where, params

    def facet_values(self, experiment: str | None) -> dict[str, list[str]]:
        """Distinct configurations, scenarios, categories and judges (the viewer's filter menus)."""
        params = {"e": experiment}
        scope = " where experiment = :e" if experiment else ""
        out = {}
        for name, column, table in (("config", "config", "debates"), ("scenario", "scenario_id", "debates"),
                                    ("category", "category", "debates"), ("judge", "judge", "judgments")):
            out[name] = [r["v"] for r in self._rows(
                f"select distinct {column} as v from {table}{scope} order by v", params) if r["v"] is not None]
        return out
