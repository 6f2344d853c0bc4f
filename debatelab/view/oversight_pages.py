"""The viewer's pages for studies whose trials people judge (debate as oversight): the results
page, a trial's transcript, and a person's judging queue and verdict form, blind to the protocol."""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.parse
from typing import Any

from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from debatelab.analysis import oversight_results, planned_trials
from debatelab.base import UserError
from debatelab.graphs import QUOTE_RULES, protocol_named
from debatelab.judging import check_rater
from debatelab.report import oversight_tables, plot_beliefs
from debatelab.store import HUMAN_PREFIX, Store
from debatelab.studies import Study
from debatelab.view.security import CSRF_FIELD, CsrfTokens, csrf_problem


class OversightPages:
    """Mixed into the viewer: these pages use its store, page renderer and CSRF tokens."""

    store: Store
    csrf: CsrfTokens
    write_lock: threading.Lock

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        raise NotImplementedError

    def experiment_or_404(self, name: str) -> dict[str, Any]:
        raise NotImplementedError

    def study_or_400(self, exp: dict[str, Any]) -> Study:
        raise NotImplementedError

    def oversight(self, request: Request) -> Response:
        name = request.path_params["name"]
        exp = self.experiment_or_404(name)
        # Fresh (a person's verdict shows at once), except the Bradley-Terry ratings: their 1,000
        # resamples take seconds per judge, so the page shows those of the last run's results.
        results = oversight_results(self.store, name, with_ratings=False)
        stored = self.store.result(f"{name}:oversight") or {}
        fitted = {(r.get("protocol"), r.get("judge")): r for r in stored.get("ratings", []) if r.get("overall")}
        results["ratings"] = [fitted.get((r.get("protocol"), r.get("judge")), r) for r in results["ratings"]]
        tables = [Markup(t.html()) for t in oversight_tables(results)]
        return self.page(request, "oversight.html", exp=exp, tables=tables, belief_plot=plot_beliefs(results),
                         trials=planned_trials(self.store, name),
                         verdicts=_by_trial(self.store.oversight_verdicts(name)),
                         rater=request.cookies.get("debatelab_rater", ""))

    def oversight_trial(self, request: Request) -> Response:
        name, trial_id = request.path_params["name"], request.path_params["trial_id"]
        exp = self.experiment_or_404(name)
        trial = self.store.oversight_trial(trial_id)
        if trial is None or trial["experiment"] != name:
            raise HTTPException(404, f"no trial {trial_id[:60]!r} in experiment {name!r}")
        return self.page(request, "oversight_trial.html", exp=exp, trial=trial, question=json.loads(trial["question"]),
                         sides=json.loads(trial["sides"]), turns=self.store.oversight_turns(name, trial_id),
                         verdicts=_by_trial(self.store.oversight_verdicts(name)).get(trial_id, []), rules=QUOTE_RULES)

    def _judging_session(self, request: Request, source: Any) -> tuple[str, str]:
        exp = self.experiment_or_404(request.path_params["name"])
        if not self.study_or_400(exp).judged_by_people:
            raise HTTPException(400, f"experiment {exp['name']!r} is not one whose trials people judge (an oversight "
                                     "experiment)")
        try:
            return exp["name"], check_rater(str(source.get("rater") or ""), "rater")
        except UserError as exc:
            raise HTTPException(400, str(exc)) from None

    def judge(self, request: Request) -> Response:
        experiment, rater = self._judging_session(request, request.query_params)
        queue = judging_queue(self.store, experiment, HUMAN_PREFIX + rater)
        trial = next((t for t in queue if not t["judged"]), None)
        done = sum(1 for t in queue if t["judged"])
        if trial is None:
            response = self.page(request, "oversight_judge_done.html", experiment=experiment, rater=rater,
                                 total=len(queue))
        else:
            question = json.loads(trial["question"])
            turns = [t for t in self.store.oversight_turns(experiment, trial["trial_id"]) if t["kind"] != "choice"]
            response = self.page(request, "oversight_judge.html", experiment=experiment, rater=rater, trial=trial,
                                 key=trial_key(trial["trial_id"]), question=question,
                                 letters=[chr(65 + i) for i in range(len(question["options"]))],
                                 turns=turns, sides={s["position"]: s for s in json.loads(trial["sides"])},
                                 show_passage=_shows_passage(trial["protocol"]), rules=QUOTE_RULES, done=done,
                                 total=len(queue))
        response.set_cookie("debatelab_rater", rater, samesite="strict", httponly=True)
        return response

    async def judge_submit(self, request: Request) -> Response:
        form = await request.form()
        problem = csrf_problem(request, form.get(CSRF_FIELD), self.csrf)
        if problem:
            raise HTTPException(403, problem)
        return await run_in_threadpool(self._save_verdict, request, form)

    def _save_verdict(self, request: Request, form: Any) -> Response:
        experiment, rater = self._judging_session(request, form)
        key = str(form.get("trial") or "")
        trial = next((t for t in planned_trials(self.store, experiment) if trial_key(t["trial_id"]) == key), None)
        if trial is None:
            raise HTTPException(400, f"trial: {key[:40]!r} is not a trial of experiment {experiment!r}")
        trial_id = trial["trial_id"]
        letters = [chr(65 + i) for i in range(len(json.loads(trial["question"])["options"]))]
        answer = str(form.get("answer") or "")
        if answer not in letters:
            raise HTTPException(400, f"answer: choose one of {', '.join(letters)}")
        raw = str(form.get("probability") or "")
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 3 and 0 <= int(raw) <= 100):
            raise HTTPException(400, "probability: a whole number from 0 to 100 (how likely your answer is correct)")
        judge = HUMAN_PREFIX + rater
        with self.write_lock:
            self.store.write_oversight_verdict({
                "verdict_id": f"{trial_id}:{judge}", "trial_id": trial_id, "experiment": experiment,
                "protocol": trial["protocol"], "question_id": trial["question_id"], "judge": judge, "letter": answer,
                "truth": trial["truth"], "correct": int(answer == trial["truth"]), "probability": int(raw) / 100,
                "reasons": str(form.get("reasons") or "")[:4000], "unanswered_reason": None, "input_tokens": 0,
                "output_tokens": 0, "duration_s": 0.0, "calls": 0})
        query = urllib.parse.urlencode({"rater": rater})
        return RedirectResponse(f"/judge/{urllib.parse.quote(experiment, safe='')}?{query}", status_code=303)


def _by_trial(verdicts: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for v in verdicts:
        out.setdefault(v["trial_id"], []).append(v)
    return out


def trial_key(trial_id: str) -> str:
    """What the judging form carries instead of the trial id, which names the protocol: the person
    judging stays blind to it even in the page's source."""
    return hashlib.sha256(trial_id.encode()).hexdigest()[:20]


def judging_queue(store: Store, experiment: str, judge: str) -> list[dict[str, Any]]:
    """An oversight experiment's trials in the order a person judges them: shuffled by a hash of
    the person's name and the trial (protocols interleaved, the same order on every visit), each
    marked whether this person has judged it."""
    judged = {v["trial_id"] for v in store.oversight_verdicts(experiment) if v["judge"] == judge}
    trials = planned_trials(store, experiment)
    trials.sort(key=lambda t: hashlib.sha256(f"{judge}|{t['trial_id']}".encode()).hexdigest())
    return [{**t, "judged": t["trial_id"] in judged} for t in trials]


def _shows_passage(protocol: str) -> bool:
    """Whether a person judging under `protocol` reads the passage (the expert protocol)."""
    try:
        return protocol_named(protocol).shows_passage
    except ValueError:  # a plugin protocol not installed here: never show the passage
        return False
