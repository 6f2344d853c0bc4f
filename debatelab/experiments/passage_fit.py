"""Long passages against a model's context: refuse before any call, or cut visibly.

Ollama and llama.cpp do not refuse a prompt longer than their context: they drop its start (the
passage) and answer anyway, so a judge would be scored on a debate about text nobody saw. Each
question's largest passage-bearing prompt is estimated (the passage, the question, the
instructions, every argument the last speaker reads, the reply) and set against the context of
every model that reads the passage. Too long is one line naming the question, the tokens needed,
the context and the fix. `passage: {max_tokens: N}` cuts passages at a paragraph or sentence
boundary with a visible note, and the report states how much was kept."""

from __future__ import annotations

from typing import Any

from debatelab.agents import EMBEDDED, ModelSpec, context_tokens, estimate_tokens, resolve_host
from debatelab.base import UserError
from debatelab.graphs import protocol_named
from debatelab.scenarios import Question

INSTRUCTION_TOKENS = 300  # the role's instructions, options and delimiters
VERDICT_TOKENS = 400  # a judge's reasons, answer and probability
QUESTION_TOKENS = 60  # a judge's question between rounds (interactive protocols)


def truncate(passage: str, max_tokens: int) -> tuple[str, float]:
    """The passage cut to about `max_tokens` at the last paragraph (else sentence) boundary, with a
    note the reader sees, and the share of the passage kept (1.0: untouched)."""
    if estimate_tokens(passage) <= max_tokens:
        return passage, 1.0
    lo, hi = 0, len(passage)
    while lo < hi:  # the longest prefix within the budget
        mid = (lo + hi + 1) // 2
        if estimate_tokens(passage[:mid]) <= max_tokens - 30:
            lo = mid
        else:
            hi = mid - 1
    head = passage[:lo]
    cut = head.rfind("\n\n")
    if cut < len(head) // 2:
        sentence = max(head.rfind(". "), head.rfind("? "), head.rfind("! "))
        cut = sentence + 1 if sentence >= len(head) // 2 else len(head)
    kept = head[:cut].rstrip()
    share = len(kept) / len(passage)
    return f"{kept}\n\n[The passage is cut here: {share:.0%} of it is shown, the rest is not.]", share


def cut_passages(questions: list[Question], max_tokens: int) -> tuple[list[Question], dict[str, Any]]:
    out, shares = [], []
    for q in questions:
        text, share = truncate(q.passage, max_tokens) if q.passage.strip() else (q.passage, 1.0)
        shares.append(share)
        out.append(q if share == 1.0 else q.model_copy(update={"passage": text}))
    cut = [s for s in shares if s < 1.0]
    return out, {"max_tokens": max_tokens, "questions": len(questions), "truncated": len(cut),
                 "mean_share_kept": round(sum(shares) / len(shares), 4) if shares else 1.0,
                 "min_share_kept": round(min(shares), 4) if shares else 1.0}


def prompt_needs(q: Question, protocols: list[str], rounds: int, words: int) -> tuple[int, int]:
    """Tokens of the largest prompt (with its reply) of a speaker and of an expert judge on `q`."""
    base = estimate_tokens(q.passage) + estimate_tokens(q.render()) + INSTRUCTION_TOKENS
    ps = [protocol_named(p) for p in protocols]
    speakers = max((p.speakers for p in ps), default=0)
    asks = any(p.interactive for p in ps)
    argument = int(words * 1.35) + 10
    speaker = base + rounds * speakers * argument + (rounds * QUESTION_TOKENS if asks else 0) + argument \
        if speakers else 0
    judge = base + VERDICT_TOKENS if any(p.shows_passage for p in ps) else 0
    return speaker, judge


def check_fit(source: str, questions: list[Question], protocols: list[str], rounds: int, words: int,
              speakers: list[ModelSpec], judges: list[ModelSpec]) -> None:
    """Refuse, in one line, the first question whose passage-bearing prompt exceeds a context."""
    if not any(q.passage.strip() for q in questions):
        return
    contexts: dict[str, tuple[int | None, str]] = {}

    def context(spec: ModelSpec) -> tuple[int | None, str]:
        if spec.label not in contexts:
            contexts[spec.label] = context_tokens(spec, resolve_host(spec), embedded=spec.host == EMBEDDED)
        return contexts[spec.label]

    worst = max(questions, key=lambda q: len(q.passage))
    speaker_need, judge_need = prompt_needs(worst, protocols, rounds, words)
    for need, specs, role in ((speaker_need, speakers, "a debater"), (judge_need, judges, "an expert judge")):
        for spec in specs if need else []:
            ctx, fix = context(spec)
            if ctx is not None and need > ctx:
                raise UserError(
                    f"{source}: question {worst.id!r}: {role}'s prompt needs about {need} tokens (passage "
                    f"{estimate_tokens(worst.passage)}), more than the {ctx}-token context of {spec.label}; raise "
                    f"the context ({fix}), ask for fewer words or rounds, or add `passage: {{max_tokens: N}}` to "
                    "the experiment to cut passages visibly")


