"""Graphs: HOW agents are wired. Debate state, topology registry and builders, the YAML topology
compiler, the judging graphs (absolute and pairwise) with what a judge sees, the weighted
ensemble of answerers and its votes, and the transcript contract between a debate and a judge."""

# The built-in topologies register themselves (`@topology`) as they are imported, here, once.
from debatelab.graphs import custom, topologies  # noqa: E402, F401, I001
from debatelab.graphs.answer_debate import (
    PROBE_AGENT,
    AnswerDebateContext,
    answerers_of,
    build_answer_debate_graph,
    peers_context,
)
from debatelab.graphs.compile_cache import compiled, forget_compiled
from debatelab.graphs.resume import has_pending_work
from debatelab.graphs.config import AgentSpec, DebateConfig, load_debate_config
from debatelab.graphs.context import DebateContext
from debatelab.graphs.judge_input import debate_body, judge_view, mask_models, neutralise, normalise
from debatelab.graphs.judging import (
    JUDGE_AGENT,
    all_criteria_messages,
    JudgeContext,
    as_transcript,
    build_judging_graph,
    compile_judging,
    criterion_messages,
    criterion_schema,
)
from debatelab.graphs.oversight import (
    OversightContext,
    OversightState,
    build_oversight_graph,
    compile_oversight,
    judge_agent,
    sides_for,
)
from debatelab.graphs.oversight_view import judge_state, side_letters, verdict_on
from debatelab.graphs.pairwise import PairVerdict, build_pairwise_graph, compare, compile_pairwise, pair_messages
from debatelab.graphs.registry import available_topologies, build_graph, compile_debate, recursion_limit, topology
from debatelab.graphs.protocols import (
    Protocol,
    all_protocols,
    builtin_protocol_names,
    forget_protocol_plugins,
    protocol,
    protocol_named,
    protocol_names,
)
from debatelab.graphs.quotes import (
    QUOTE_RULES,
    mark_quotes,
    mark_released_quotes,
    normalise_for_match,
    quote_verified,
    revealed,
    revealed_spans,
    why_unverified,
)
from debatelab.graphs.retry import model_retry_policy
from debatelab.graphs.stance import (
    STANCE_PROMPT_VERSION,
    StanceReading,
    argued_turns,
    could_concede,
    read_stance,
    stance_messages,
)
from debatelab.graphs.state import AgentTask, DebateState, Turn
from debatelab.graphs.transcript import TURN_DEFAULTS, TURN_FIELDS, Transcript, TranscriptTurn, transcript_turn
from debatelab.graphs.voting import Answers, majority_vote, weighted_probability_vote, weighted_vote
from debatelab.graphs.weighted import QAContext, build_weighted_graph

__all__ = [
    "all_protocols", "builtin_protocol_names", "forget_protocol_plugins", "protocol", "Protocol", "protocol_named",
    "protocol_names", "OversightContext", "OversightState", "QUOTE_RULES", "build_oversight_graph", "compile_oversight",
    "judge_state", "verdict_on",
    "judge_agent", "mark_quotes", "mark_released_quotes", "normalise_for_match", "quote_verified", "revealed",
    "revealed_spans",
    "why_unverified", "side_letters", "sides_for",
    "JUDGE_AGENT", "PROBE_AGENT", "TURN_DEFAULTS", "TURN_FIELDS", "AgentSpec", "AgentTask", "all_criteria_messages",
    "AnswerDebateContext", "answerers_of", "Answers", "as_transcript", "available_topologies",
    "build_answer_debate_graph", "build_graph", "build_judging_graph", "build_pairwise_graph", "build_weighted_graph",
    "compare", "compile_debate", "compile_judging", "compile_pairwise", "compiled", "criterion_messages",
    "criterion_schema", "debate_body", "DebateConfig", "DebateContext", "DebateState", "forget_compiled", "judge_view",
    "has_pending_work",
    "JudgeContext", "load_debate_config", "majority_vote", "mask_models", "model_retry_policy", "neutralise",
    "normalise", "pair_messages", "PairVerdict", "peers_context", "QAContext", "recursion_limit", "topology",
    "Transcript", "transcript_turn", "TranscriptTurn", "Turn", "weighted_probability_vote", "weighted_vote",
    "STANCE_PROMPT_VERSION", "StanceReading", "argued_turns", "could_concede", "read_stance", "stance_messages",
]
