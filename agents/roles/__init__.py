"""Roles: who speaks in a debate. Each role is a registered factory building a graph node.

The role-plugin API: a factory takes a `RoleInstance` and returns a node; `speaker_node` builds
the usual "render a template, call the model, record the turn" node; register the factory with
`@role("name")` or the entry-point group `debatelab.roles`. Also here: prompt templates and the
answerer of labelled questions.
"""

# The built-in roles register themselves (`@role`) as they are imported, here, once.
from debatelab.agents.roles import aggregator, critic, debater, facilitator  # noqa: E402, F401, I001
from debatelab.agents.roles.answerer import (
    AnswerRecord,
    Explanation,
    advocate,
    answer_question,
    answer_schema,
    explain_without_letter,
    leaks_answer,
)
from debatelab.agents.roles.oversight import Verdict, argue, ask, best_candidate, decide, persuasiveness
from debatelab.agents.roles.prompting import (
    render_template,
    render_transcript,
    scenario_brief,
    shipped_templates,
    template_exists,
    visible_turns,
)
from debatelab.agents.roles.registry import NodeFn, RoleInstance, available_roles, build_node, get_role, role
from debatelab.agents.roles.speaker import agent_model, base_turn, speaker_node

__all__ = ["AnswerRecord", "Explanation", "Verdict", "argue", "ask", "best_candidate", "decide",
           "persuasiveness", "NodeFn", "RoleInstance", "advocate", "agent_model", "answer_question",
           "answer_schema", "available_roles", "base_turn", "build_node", "explain_without_letter", "get_role",
           "leaks_answer", "render_template", "render_transcript", "role", "scenario_brief", "shipped_templates",
           "speaker_node", "template_exists", "visible_turns"]
