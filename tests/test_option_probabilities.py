"""Option probabilities from logprobs (EnsemW2S's probability-weighted vote), and their fallbacks."""

from __future__ import annotations

import asyncio
import json
import math

import pytest
from ollama._types import Logprob, TokenLogprob

from debatelab.agents.option_probs import option_probabilities
from debatelab.agents.roles import answer_question
from debatelab.agents.scripted import ScriptedChatModel, WithLogprobs, letter_logprobs
from debatelab.graphs import weighted_probability_vote, weighted_vote
from debatelab.scenarios import Question

TEXT = json.dumps({"reason": "apples grow on trees", "letter": "B"})


def test_reads_the_letter_distribution_and_renormalises_over_the_letters():
    logprobs = letter_logprobs(TEXT, {"B": 0.5, "C": 0.3, "A": 0.1})
    result = option_probabilities(TEXT, logprobs, list("ABCD"))
    assert result is not None
    assert result.probs == pytest.approx({"A": 1 / 9, "B": 5 / 9, "C": 3 / 9, "D": 0.0})
    assert result.mass == pytest.approx(0.9)


def test_token_that_joins_quote_and_letter_and_ollama_client_objects():
    """Real tokenisers write ` "B` or `B"` as one token; the client may hand back pydantic objects."""
    head, tail = TEXT[: TEXT.rindex('"B"')], TEXT[TEXT.rindex('"B"') + 2:]
    alts = [TokenLogprob(token='"' + x, logprob=math.log(p)) for x, p in (("B", 0.6), ("D", 0.2))]
    alts.append(TokenLogprob(token='"fruit', logprob=math.log(0.2)))  # not a letter: ignored
    logprobs = [Logprob(token=head, logprob=0.0), Logprob(token='"B', logprob=math.log(0.6), top_logprobs=alts),
                Logprob(token=tail, logprob=0.0)]
    result = option_probabilities(TEXT, logprobs, list("ABCD"))
    assert result is not None and result.probs == pytest.approx({"A": 0, "B": 0.75, "C": 0, "D": 0.25})


@pytest.mark.parametrize("logprobs", [
    None,
    [],
    [{"token": "something else entirely", "logprob": 0.0}],  # tokens do not spell the reply
    letter_logprobs(TEXT, {"B": 0.0, "fruit": 1.0}),  # no letter among the alternatives
])
def test_no_distribution_when_it_cannot_be_read(logprobs):
    assert option_probabilities(TEXT, logprobs, list("ABCD")) is None


def test_probability_vote_breaks_what_letters_cannot_and_falls_back_to_letters():
    answers = {"unsure": ["B"], "sure": ["C"]}
    probs = {"unsure": [{"A": 0.0, "B": 0.4, "C": 0.38, "D": 0.22}], "sure": [{"A": 0.0, "B": 0.05, "C": 0.95, "D": 0.0}]}
    weights = {"unsure": 1.2, "sure": 1.0}
    assert weighted_vote(answers, weights, list("ABCD")) == ["B"]  # letters: the heavier agent wins
    assert weighted_probability_vote(answers, probs, weights, list("ABCD")) == ["C"]  # 1.2*.38 + .95 > 1.2*.4 + .05
    # no probabilities: exactly the letter vote; an unanswered question stays unanswered
    assert weighted_probability_vote({"a": ["B", None]}, {"a": [None, None]}, {"a": 1.0}, list("AB")) == ["B", None]


def test_answerer_asks_for_logprobs_only_when_told():
    q = Question(id="q1", question="Which grows on trees?", options=["cars", "apples", "stones"],
                 answer="B")
    model = ScriptedChatModel(script=lambda prompt, kw: WithLogprobs({"reason": "fruit", "letter": "B"},
                                                                      {"B": 0.7, "A": 0.3}))
    plain = asyncio.run(answer_question(model, q))
    assert plain.letter == "B" and plain.option_probs is None and "logprobs" not in model.calls[-1]["kwargs"]
    rich = asyncio.run(answer_question(model, q, top_logprobs=5))
    assert model.calls[-1]["kwargs"]["top_logprobs"] == 5
    assert rich.option_probs == pytest.approx({"A": 0.3, "B": 0.7, "C": 0.0})
