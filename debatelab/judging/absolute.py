"""Running (or resuming) one judgment on its checkpointed thread.

Thread id: judge:<debate_id>:<rubric@version>:<judge>:<sample>. Re-judging with another rubric
or judge makes new threads and new rows; it never touches the debate.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from pydantic import ValidationError

from debatelab.agents import ModelSpec, affinity, bind_run, model_call_failed
from debatelab.base import UserError, describe_validation_error
from debatelab.graphs import JUDGE_AGENT, JudgeContext, Transcript, compile_judging, has_pending_work
from debatelab.rubric import DEFAULT_PROMPT_VERSION, Rubric
from debatelab.runtime import tracing_guard


@dataclass
class JudgmentOutcome:
    judgment_id: str
    debate_id: str
    rubric: str
    rubric_version: str
    judge: str
    sample: int
    permuted: bool
    speaker_order: list[str]
    criteria: list[dict[str, Any]]
    overall: float | None
    status: str
    prompt_version: str = DEFAULT_PROMPT_VERSION

    def as_json(self) -> dict[str, Any]:
        keys = ("criterion", "score", "unscored_reason", "rationale", "attempts")
        return {
            "judge": self.judge, "sample": self.sample, "permuted": self.permuted,
            "prompt_version": self.prompt_version,
            "speaker_order": self.speaker_order, "overall": self.overall,
            "criteria": [{k: c.get(k) for k in keys} for c in self.criteria],
        }


def judgment_id_for(debate_id: str, rubric: Rubric, judge: str, sample: int,
                    prompt_version: str = DEFAULT_PROMPT_VERSION) -> str:
    """A judgment's id: the debate, the rubric and its version, the judge (by tag), the sample, and the
    prompt's layout when it is not the first (so judgments of another layout are added beside the
    existing ones, never over them, and version-1 ids stay what they were)."""
    base = f"{debate_id}:{rubric.label}:{judge}:{sample}"
    return base if prompt_version == "1" else f"{base}:prompt{prompt_version}"


def permutation_seed(debate_id: str, sample: int, permute: bool) -> int | None:
    """Sample 0 keeps the debate's order; later samples shuffle speakers (when asked)."""
    if not permute or sample == 0:
        return None
    return int(hashlib.sha256(f"{debate_id}|{sample}".encode()).hexdigest()[:8], 16)


def load_transcript(data: Any, source: str) -> Transcript:
    """A transcript read from a user's file, or one line saying what is wrong with it."""
    try:
        return Transcript.model_validate(data)
    except ValidationError as exc:
        raise UserError(
            f"{describe_validation_error(source, exc)}; this is not a debate transcript - "
            f"give the JSON that `debatelab debate --json` prints"
        ) from None


async def run_judgment(
    transcript: Transcript, rubric: Rubric, judge: ModelSpec, model: BaseChatModel, *,
    checkpointer: Any, sample: int = 0, permute: bool = True, anonymise: bool = True,
    max_attempts: int = 3, limiter: Any = None, trace: dict[str, Any] | None = None,
    criteria_at_once: int | str = 1, judge_name: str | None = None, prompt_version: str = DEFAULT_PROMPT_VERSION,
) -> JudgmentOutcome:
    """Run (or resume) one judgment.

    Criteria of one judgment share a long prefix (the transcript): scoring them one after another
    on one server slot reuses its prompt cache, where scoring them in parallel would re-read the
    transcript on every slot. Raise `criteria_at_once` for servers without prefix caching, or set it
    to 'all' for one call per judgment (see the bench's agreement figure first). `prompt_version`
    chooses the prompt's layout (`debatelab.rubric.judge_layout`).
    """
    graph = compile_judging(checkpointer)
    name = judge_name or judge.identity  # results name a judge by its tag (0.1 stores: TAG@HOST, kept)
    jid = judgment_id_for(transcript.debate_id, rubric, name, sample, prompt_version)
    cfg: dict[str, Any] = {
        "configurable": {"thread_id": f"judge:{jid}"}, "recursion_limit": 40,
        "max_concurrency": criteria_at_once if isinstance(criteria_at_once, int) else 1,
        "run_name": f"judge {transcript.debate_id} · {rubric.label} · {judge.label} · sample {sample}",
        "tags": ["debatelab", "judgment", f"rubric:{rubric.id}", f"judge:{judge.label}"],
        "metadata": {**(trace or {}), "debate_id": transcript.debate_id, "rubric": rubric.id,
                     "rubric_version": rubric.version, "judge": name, "sample": sample,
                     "prompt_version": prompt_version,
                     "judgment_id": jid},
    }
    snapshot = await graph.aget_state(cfg)
    seed = permutation_seed(transcript.debate_id, sample, permute)
    if has_pending_work(snapshot):
        status, graph_input = "resumed", None
    elif snapshot.values.get("scores"):
        status, graph_input = "already_finished", None
    else:
        status = "finished"
        graph_input = {
            "judgment_id": jid, "transcript": transcript.model_dump(), "rubric": rubric.model_dump(),
            "anonymise": anonymise, "permutation_seed": seed, "scores": [],
        }
    if status != "already_finished":
        try:
            context = JudgeContext(judge=judge.model_dump(exclude_none=True), max_attempts=max_attempts,
                                   prompt_version=prompt_version, criteria_at_once=criteria_at_once)
            with bind_run(models={JUDGE_AGENT: model}, limits={JUDGE_AGENT: limiter} if limiter else None), \
                    tracing_guard(), affinity(f"judge:{jid}"):
                await graph.ainvoke(graph_input, cfg, context=context, durability="sync")
        except Exception as exc:
            failed = model_call_failed(f"judgment {jid} by {judge.label}", exc)
            if failed is None:
                raise
            raise failed from None
    values = (await graph.aget_state(cfg)).values
    order = {c.id: i for i, c in enumerate(rubric.criteria)}
    criteria = sorted(values.get("scores", []), key=lambda s: order.get(s["criterion"], 99))
    return JudgmentOutcome(
        judgment_id=jid, debate_id=transcript.debate_id, rubric=rubric.id, rubric_version=rubric.version,
        judge=name, sample=sample, permuted=seed is not None,
        speaker_order=values.get("speaker_order", []), criteria=criteria, overall=values.get("overall"),
        status=status, prompt_version=prompt_version,
    )
