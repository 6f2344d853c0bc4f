"""Reports: Markdown, a self-contained HTML page and `report.json` from the store (never a model
call), the terminal summaries, and the table and plot building blocks they share."""

from debatelab.report.dynamics import load_dynamics, print_dynamics_summary, write_dynamics_report
from debatelab.report.oversight import agreement_table as oversight_agreement_table
from debatelab.report.oversight import load_oversight, oversight_tables, print_oversight_summary, write_oversight_report
from debatelab.report.plots import (
    plot_beliefs,
    plot_cost,
    plot_distributions,
    plot_groups,
    plot_heatmap,
    plot_oversight_accuracy,
    plot_rating_accuracy,
    plot_reliability,
    plot_rounds,
)
from debatelab.report.rubric import (
    build_tables,
    criterion_table,
    pairwise_rating_tables,
    pairwise_tables,
    stance_tables,
    turn_label,
    write_report,
)
from debatelab.report.summary import print_summary
from debatelab.report.tables import CSS, Table, ci, fmt, mark
from debatelab.report.weak_to_strong import load_results, print_w2s_summary, write_w2s_report

__all__ = [
    "load_oversight", "oversight_agreement_table",
    "oversight_tables", "plot_beliefs", "plot_oversight_accuracy", "plot_rating_accuracy", "plot_reliability",
    "print_oversight_summary", "write_oversight_report",
    "CSS", "build_tables", "ci", "criterion_table", "fmt", "load_dynamics", "load_results", "mark",
    "pairwise_rating_tables", "pairwise_tables", "plot_cost", "plot_distributions", "plot_groups", "plot_heatmap",
    "plot_rounds", "print_dynamics_summary", "print_summary", "print_w2s_summary",
    "stance_tables", "Table",
    "turn_label", "write_dynamics_report", "write_report", "write_w2s_report",
]
