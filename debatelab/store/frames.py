"""Whole tables as pandas DataFrames, for `debatelab.results` (notebooks) and exports.

Only tables the schema declares can be read, each optionally narrowed to one experiment (through
its debate or trial where the table has no experiment column), in a stable order.
"""

from __future__ import annotations

import pandas as pd

from debatelab.base import UserError
from debatelab.store.database import StoreCore
from debatelab.store.schema import TABLES

# How a table without an `experiment` column belongs to one (column -> the parent that has it).
_VIA = {"turns": ("debate_id", "debates"), "judge_audits": None, "audit_calls": None}
_ORDER = {"turns": "debate_id, idx", "oversight_turns": "trial_id, idx", "stance_readings": "debate_id, idx, reader",
          "scores": "judgment_id, criterion"}


class FrameReads(StoreCore):
    def table_frame(self, table: str, experiment: str | None = None) -> pd.DataFrame:
        """Every row of `table` (of one experiment, when given) as a DataFrame with the schema's columns."""
        if table not in TABLES:
            raise UserError(f"no table {table!r} in a results database; one of {', '.join(sorted(TABLES))}")
        spec = TABLES[table]
        columns = ", ".join(f"t.[{c}]" for c in spec["columns"])
        order = _ORDER.get(table, ", ".join(f"t.[{c}]" for c in ([spec["pk"]] if isinstance(spec["pk"], str)
                                                                  else spec["pk"])))
        order = ", ".join(f"t.{c.strip()}" if not c.strip().startswith("t.") else c for c in order.split(","))
        if experiment is None:
            return self._frame(f"select {columns} from [{table}] t order by {order}", {})
        if "experiment" in spec["columns"]:
            return self._frame(f"select {columns} from [{table}] t where t.experiment = :e order by {order}",
                               {"e": experiment})
        via = _VIA.get(table)
        if via is None:  # judge audits belong to judges, not to experiments
            return self._frame(f"select {columns} from [{table}] t order by {order}", {})
        column, parent = via
        return self._frame(f"select {columns} from [{table}] t join [{parent}] p on p.[{column}] = t.[{column}] "
                           f"where p.experiment = :e order by {order}", {"e": experiment})
