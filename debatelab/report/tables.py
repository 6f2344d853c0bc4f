"""The report's building blocks: number formats and a table that renders as Markdown, HTML and
a rich table for the terminal, so every view of a figure comes from one definition."""

from __future__ import annotations

import html
from typing import Any

from rich.table import Table as RichTable

from debatelab.base import UserError
from debatelab.store import Store


def fmt(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def ci(g: dict[str, Any]) -> str:
    if g.get("mean") is None:
        return "—"
    if g.get("ci_low") is None:
        return fmt(g["mean"])
    return f"{fmt(g['mean'])} [{fmt(g['ci_low'])}, {fmt(g['ci_high'])}]"


def mark(p: float | None) -> str:
    if p is None:
        return ""
    return "**" if p < 0.01 else "*" if p < 0.05 else ""


class Table:
    def __init__(self, title: str, headers: list[str], note: str = "") -> None:
        self.title, self.headers, self.note, self.rows = title, headers, note, []

    def add(self, *cells: Any) -> None:
        self.rows.append([str(c) for c in cells])

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.headers) + " |",
                 "|" + "|".join("---" for _ in self.headers) + "|"]
        lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in self.rows]
        if not self.rows:
            lines.append("| " + " | ".join(["(none)"] + [""] * (len(self.headers) - 1)) + " |")
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines) + "\n"

    def rich(self) -> RichTable:
        """The same table for the terminal (`rich`), its note as the caption."""
        table = RichTable(title=self.title, caption=self.note or None)
        for h in self.headers:
            table.add_column(h)
        for row in self.rows:
            table.add_row(*row)
        return table

    def html(self) -> str:
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.headers)
        body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in self.rows)
        if not self.rows:
            body = f"<tr><td colspan='{len(self.headers)}'>(none)</td></tr>"
        note = f"<p class='note'>{html.escape(self.note)}</p>" if self.note else ""
        return f"<h3>{html.escape(self.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{note}"


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#1d2430}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:.9em}th,td{border:1px solid #d6dbe1;padding:.3em .6em;
text-align:left}th{background:#eef1f5}.note{color:#5b6673;font-size:.85em}.turn{margin:.6em 0 .6em 1em}
.who{font-weight:600;font-size:.85em;color:#3b4a5c}.text{white-space:pre-wrap}.flag{color:#b3261e;font-size:.8em}
details{margin:.4em 0}pre{white-space:pre-wrap;background:#f6f7f9;padding:.5em}
.two{display:grid;grid-template-columns:3fr 2fr;gap:1em}.judgment{font-size:.85em;margin:.4em 0}"""


def stored_result(store: Store, experiment: str, name: str, what: str) -> dict[str, Any]:
    """A study's stored results (`EXPERIMENT:name`), or the one line that says to run it first."""
    value = store.result(f"{experiment}:{name}")
    if value is None:
        raise UserError(f"no {what} results for {experiment!r}; run the experiment first")
    return value
