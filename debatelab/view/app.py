"""`debatelab view`: a local web app over the results database (Starlette + Jinja2).

Starlette because it is small, well kept and already in the dependency tree (LangGraph's server
uses it); its TestClient lets the unit tests drive every page without a browser. Jinja2
autoescapes every value, so model and user text is always shown as text. The viewer reads the
store through its typed methods only and never calls a model; the one thing it writes is human
ratings, as judgments of judge `human:<rater>`.

Page handlers are plain functions, which Starlette runs in its thread pool: SQLite reads and the
bootstrap behind the tables never block the event loop, and each worker thread keeps its own
connection (SQLite connections stay in the thread that made them). The one handler that must
await (a form post) hands its blocking work to the pool too.
"""

from __future__ import annotations

import importlib
import math
import threading
import urllib.parse
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from debatelab.base import UserError
from debatelab.judging import HumanRating, check_rater, save_rating
from debatelab.rubric import SCORE_ONLY_VERSIONS, Rubric, load_rubric, shipped_rubric_ids
from debatelab.store import HUMAN_PREFIX, Store
from debatelab.studies import Study, study_of_experiment
from debatelab.view.oversight_pages import OversightPages
from debatelab.view.rating_queue import blind_view, queue_for
from debatelab.view.security import CSRF_FIELD, CsrfTokens, SecurityHeaders, csrf_problem
from debatelab.view.summaries import SummaryCache

PAGE_SIZE = 50
MAX_QUERY_CHARS = 200
LOCAL_HOSTS = ["127.0.0.1", "localhost", "::1", "[::1]"]
PACKAGE = "debatelab.view"


def _templates() -> Environment:
    folder = Path(str(resources.files(PACKAGE) / "templates"))
    env = Environment(loader=FileSystemLoader(folder), autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["num"] = lambda x, d=2: "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{d}f}"
    env.filters["pct"] = lambda x: "—" if x is None else f"{100 * x:.0f}%"
    # A value inside a URL path is one segment, whatever it holds: '/' and every reserved character
    # are escaped (Jinja's `urlencode` keeps '/', which splits a question id like "q/1" in two).
    env.filters["segment"] = lambda x: urllib.parse.quote(str(x), safe="")
    env.filters["quotes"] = marked_quotes
    env.globals["score_only_versions"] = SCORE_ONLY_VERSIONS  # judge prompt versions that record no reasons
    env.globals["urlencode"] = lambda **kw: urllib.parse.urlencode({k: v for k, v in kw.items() if v not in (None, "")})
    return env


def marked_quotes(text: str | None) -> Markup:
    """A turn with its quote marks shown: the text escaped first, then the (escaped) verified and
    unverified marks, and only those, become styled spans."""
    out = str(escape(text or ""))
    for tag, css, title in (("v_quote", "vq", "verified: found in the passage"),
                            ("u_quote", "uq", "unverified: not found in the passage")):
        out = out.replace(f"&lt;{tag}&gt;", f"<span class='{css}' title='{title}'>").replace(f"&lt;/{tag}&gt;",
                                                                                             "</span>")
    return Markup(out)


def shipped_rubrics() -> list[str]:
    return shipped_rubric_ids()


def _int_param(request: Request, name: str, default: int, lo: int = 1, hi: int = 10**9) -> int:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HTTPException(400, f"query parameter {name}: {raw[:20]!r} is not a whole number") from None
    if not lo <= value <= hi:
        raise HTTPException(400, f"query parameter {name}: {value} is outside {lo}-{hi}")
    return value


def _text_param(request: Request, name: str) -> str | None:
    value = request.query_params.get(name, "").strip()
    if len(value) > MAX_QUERY_CHARS:
        raise HTTPException(400, f"query parameter {name}: longer than {MAX_QUERY_CHARS} characters")
    return value or None


class Viewer(OversightPages):
    """The app's state: the store, the templates, the rubrics a rater may choose, the summary cache."""

    def __init__(self, db: Path, extra_rubrics: list[str] | None = None) -> None:
        self.db = db
        with Store.open(db, create=False):  # a missing, foreign or corrupt file is refused before serving
            pass
        self._local = threading.local()
        # Writes from the server's threads take turns: each thread has its own SQLite connection, and
        # many posts at once otherwise met "database is locked" and lost verdicts.
        self.write_lock = threading.Lock()
        self.csrf = CsrfTokens()
        self.env = _templates()
        self.summaries = SummaryCache()
        self.rubrics: dict[str, Rubric] = {r: load_rubric(r) for r in shipped_rubrics()}
        for path in extra_rubrics or []:
            rubric = load_rubric(path)
            self.rubrics[rubric.id] = rubric

    @property
    def store(self) -> Store:
        """The thread's own connection (SQLite connections stay in the thread that made them)."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store.open(self.db, create=False)
        return store

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = self.env.get_template(template).render(request=request, csrf=request.state.csrf,
                                                      csrf_field=CSRF_FIELD, db=str(self.db), **context)
        return HTMLResponse(html, status_code=status)

    def experiment_or_404(self, name: str) -> dict[str, Any]:
        row = self.store.experiment(name)
        if row is None:
            raise HTTPException(404, f"no experiment {name!r} in this database")
        return row

    def study_or_400(self, exp: dict[str, Any]) -> Study:
        try:
            return study_of_experiment(exp)
        except UserError as exc:  # a plugin's experiment in a store opened without the plugin
            raise HTTPException(400, str(exc)) from None

    def rubric_or_400(self, rubric_id: str | None) -> Rubric:
        if not rubric_id or rubric_id not in self.rubrics:
            raise HTTPException(400, f"rubric: choose one of {', '.join(self.rubrics)}")
        return self.rubrics[rubric_id]

    # -- pages ----------------------------------------------------------------------------------
    def index(self, request: Request) -> Response:
        return self.page(request, "index.html", experiments=self.store.experiment_overview())

    def experiment(self, request: Request) -> Response:
        name = request.path_params["name"]
        exp = self.experiment_or_404(name)
        page = self.study_or_400(exp).view_page
        if page is not None:
            return RedirectResponse(f"/experiments/{urllib.parse.quote(name, safe='')}/{page}", status_code=303)
        version = _text_param(request, "rubric_version")
        summary = self.summaries.get(self.store, name, version)
        overview = next((e for e in self.store.experiment_overview() if e["name"] == name), {})
        return self.page(request, "experiment.html", exp=exp, overview=overview, s=summary,
                         a=summary["analysis"], facets=self.store.facet_values(name))

    def debates(self, request: Request) -> Response:
        filters = {k: _text_param(request, k) for k in ("experiment", "config", "scenario", "category", "judge", "q")}
        unscored = request.query_params.get("unscored") in ("1", "on", "true")
        page = _int_param(request, "page", 1)
        rows, total = self.store.browse_debates(
            experiment=filters["experiment"], config=filters["config"], scenario=filters["scenario"],
            category=filters["category"], judge=filters["judge"], unscored_only=unscored, text=filters["q"],
            limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        pages = max(1, math.ceil(total / PAGE_SIZE))
        return self.page(request, "debates.html", rows=rows, total=total, page=page, pages=pages, f=filters,
                         unscored=unscored, facets=self.store.facet_values(filters["experiment"]),
                         experiments=self.store.experiment_names())

    def debate(self, request: Request) -> Response:
        debate = self._debate_or_404(request.path_params["debate_id"])
        return self.page(request, "debate.html", d=debate, turns=self.store.turns(debate["debate_id"]),
                         stances=self.store.debate_stance_readings(debate["debate_id"]),
                         judgments=self.store.judgment_scores(debate["debate_id"]),
                         matched=self.store.matched_debates(debate))

    def compare(self, request: Request) -> Response:
        a_id, b_id = _text_param(request, "a"), _text_param(request, "b")
        if not a_id:
            raise HTTPException(400, "query parameter a: give the first debate's id (?a=ID&b=ID)")
        a = self._debate_or_404(a_id)
        matched = self.store.matched_debates(a)
        if not b_id:
            return self.page(request, "compare_pick.html", a=a, matched=matched)
        b = self._debate_or_404(b_id)
        sides = [{"d": d, "turns": self.store.turns(d["debate_id"]),
                  "judgments": self.store.judgment_scores(d["debate_id"])} for d in (a, b)]
        return self.page(request, "compare.html", sides=sides)

    def questions(self, request: Request) -> Response:
        name = request.path_params["name"]
        exp = self.experiment_or_404(name)
        page = _int_param(request, "page", 1)
        rows, total = self.store.question_ids(name, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
        return self.page(request, "questions.html", exp=exp, rows=rows, total=total, page=page,
                         pages=max(1, math.ceil(total / PAGE_SIZE)), result=self.store.result(f"{name}:w2s"))

    def study_page(self, request: Request) -> Response:
        """Any study's tables (a plugin's study shows here without a template of its own)."""
        exp = self.experiment_or_404(request.path_params["name"])
        study = self.study_or_400(exp)
        tables = [Markup(t.html()) for t in study.view_tables(self.store, exp["name"])]
        return self.page(request, "study.html", exp=exp, study=study, tables=tables)

    def question(self, request: Request) -> Response:
        name, qid = request.path_params["name"], request.path_params["qid"]
        exp = self.experiment_or_404(name)
        calls = self.store.qa_calls(name, question_id=qid)
        if not calls:
            raise HTTPException(404, f"no question {qid!r} in experiment {name!r}")
        return self.page(request, "question.html", exp=exp, qid=qid, calls=calls)

    # -- blind rating -----------------------------------------------------------------------------
    def rate_start(self, request: Request) -> Response:
        experiments = [e for e in self.store.experiment_overview() if e["finished"]]
        return self.page(request, "rate_start.html", experiments=experiments, rubrics=list(self.rubrics),
                         chosen=request.query_params.get("experiment", ""),
                         rater=request.cookies.get("debatelab_rater", ""))

    def _rating_session(self, request: Request, source: Any) -> tuple[str, str, Rubric]:
        experiment = self.experiment_or_404(request.path_params["name"])["name"]
        try:
            rater = check_rater(str(source.get("rater") or ""), "rater")
        except UserError as exc:
            raise HTTPException(400, str(exc)) from None
        return experiment, rater, self.rubric_or_400(source.get("rubric"))

    def rate(self, request: Request) -> Response:
        experiment, rater, rubric = self._rating_session(request, request.query_params)
        queue = queue_for(self.store, experiment, HUMAN_PREFIX + rater, rubric.version)
        wanted = request.query_params.get("debate")
        debate_id = wanted if wanted in queue.order else queue.next_unrated()
        if debate_id is None:
            response = self.page(request, "rate_done.html", experiment=experiment, rater=rater, rubric=rubric,
                                 queue=queue)
        else:
            debate = self._debate_or_404(debate_id)
            previous = {s["criterion"]: s for j in self.store.judgment_scores(debate_id)
                        if j["judge"] == HUMAN_PREFIX + rater and j["rubric_version"] == rubric.version
                        for s in j["scores"]}
            response = self.page(request, "rate.html", experiment=experiment, rater=rater, rubric=rubric,
                                 queue=queue, debate_id=debate_id, position=queue.position(debate_id),
                                 view=blind_view(self.store, debate), previous=previous)
        response.set_cookie("debatelab_rater", rater, samesite="strict", httponly=True)
        return response

    async def rate_submit(self, request: Request) -> Response:
        form = await request.form()
        problem = csrf_problem(request, form.get(CSRF_FIELD), self.csrf)
        if problem:
            raise HTTPException(403, problem)
        return await run_in_threadpool(self._save_rating, request, form)

    def _save_rating(self, request: Request, form: Any) -> Response:
        experiment, rater, rubric = self._rating_session(request, form)
        debate_id = str(form.get("debate_id") or "")
        debate = self.store.debate(debate_id)
        if debate is None or debate["experiment"] != experiment:
            raise HTTPException(400, f"debate_id: {debate_id[:40]!r} is not a debate of experiment {experiment!r}")
        scores: dict[str, int | None] = {}
        for c in rubric.criteria:
            raw = str(form.get(f"score_{c.id}", ""))
            if raw == "none":
                scores[c.id] = None
                continue
            try:
                scores[c.id] = int(raw)
            except ValueError:
                raise HTTPException(400, f"score_{c.id}: choose a score {rubric.scale.min}-{rubric.scale.max} "
                                         f"or 'no opinion' for {c.name}") from None
        reason = str(form.get("reason") or "")[:4000]
        try:
            with self.write_lock:
                save_rating(self.store, HumanRating(debate_id, rater, scores,
                                                    {c.id: reason for c in rubric.criteria} if reason else {}), rubric)
        except UserError as exc:
            raise HTTPException(400, str(exc)) from None
        query = urllib.parse.urlencode({"rater": rater, "rubric": rubric.id})
        return RedirectResponse(f"/rate/{urllib.parse.quote(experiment, safe='')}?{query}", status_code=303)

    def _debate_or_404(self, debate_id: str) -> dict[str, Any]:
        debate = self.store.debate(debate_id)
        if debate is None:
            raise HTTPException(404, f"no debate {debate_id[:40]!r} in this database")
        return debate

    async def error(self, request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        detail = exc.detail if isinstance(exc, HTTPException) else "internal error; see the viewer's output"
        if not hasattr(request.state, "csrf"):
            request.state.csrf = ""
        return self.page(request, "error.html", status=status, status_code=status, detail=detail)


def create_app(db: Path, *, host: str = "127.0.0.1", extra_rubrics: list[str] | None = None) -> Starlette:
    # The experiment pages' intervals and tests need scipy, which the analysis loads on first use
    # (~1.5 s here): a server loads it at start, not inside its first visitor's request.
    importlib.import_module("scipy.stats")
    viewer = Viewer(db, extra_rubrics)
    route: Callable[..., Route] = Route
    routes = [
        route("/", viewer.index),
        route("/experiments/{name}", viewer.experiment),
        route("/experiments/{name}/questions", viewer.questions),
        route("/experiments/{name}/study", viewer.study_page),
        route("/experiments/{name}/questions/{qid:path}", viewer.question),
        route("/debates", viewer.debates),
        route("/debates/{debate_id}", viewer.debate),
        route("/compare", viewer.compare),
        route("/experiments/{name}/oversight", viewer.oversight),
        route("/experiments/{name}/oversight/trials/{trial_id:path}", viewer.oversight_trial),
        route("/judge/{name}", viewer.judge, methods=["GET"]),
        route("/judge/{name}", viewer.judge_submit, methods=["POST"]),
        route("/rate", viewer.rate_start),
        route("/rate/{name}", viewer.rate, methods=["GET"]),
        route("/rate/{name}", viewer.rate_submit, methods=["POST"]),
        Mount("/static", StaticFiles(packages=[(PACKAGE, "static")]), name="static"),
    ]
    allowed = sorted({*LOCAL_HOSTS, host})
    app = Starlette(routes=routes, middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=allowed),
                                               Middleware(SecurityHeaders, tokens=viewer.csrf)],
                    exception_handlers={HTTPException: viewer.error, Exception: viewer.error})
    app.state.viewer = viewer
    return app
