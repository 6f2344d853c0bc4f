"""The NYU debates' room metadata (Michael et al. 2023), read line by line into validated rooms.

One room per line of `debates-metadata.jsonl`. A line that is not JSON, or a room without the
fields the paper's analysis needs, is named by its line and skipped, never guessed. A room that
has not finished (waiting, in progress) is valid but has no verdict.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from debatelab.base import UserError
from debatelab.scenarios.questions import Question

SHIPPED = Path(__file__).parent / "data" / "michael2023" / "debates-metadata.jsonl"
PROVENANCE = {"repository": "https://github.com/julianmichael/debate", "branch": "2023-nyu-experiments",
              "commit": "dafd201de160da7e3a1e2257270752e33c82a845", "file": "pub/debates-metadata.jsonl",
              "sha256": "29c96624ad698ee4b6bbcbe8ac305becf7f714aa6f3fc1039e9c04198a6d7571",
              "licence": "CC-BY 4.0", "citation": "Michael et al. 2023, Debate Helps Supervise Unreliable Experts, "
                                                  "arXiv:2311.08702"}


@dataclass(frozen=True)
class Room:
    """One debate room: its setting, story, question, people and (when finished) the live judge's
    final probabilities."""

    name: str
    human: bool  # human debaters (else GPT-4)
    debate: bool  # two debaters (else consultancy)
    story_id: str
    story_title: str
    question: str
    debaters: dict[str, str]  # "A" / "B" -> the anonymised name (or GPT-4)
    judge: str | None
    finished: bool  # ended; `final_judgement` is None when no live judge decided it
    correct_index: int | None
    final_judgement: tuple[float, ...] | None
    included_in_paper: bool
    line: int
    offline: tuple[tuple[str, str, tuple[float, ...]], ...] = ()  # (judge, mode, final distribution)

    @property
    def protocol(self) -> str:
        return "debate" if self.debate else "consultancy"

    @property
    def setting(self) -> str:
        return "human" if self.human else "ai"


def _room(data: Any, line: int) -> Room:
    if not isinstance(data, dict):
        raise ValueError("a room is a JSON object")
    setting, roles = data.get("setting"), data.get("roleAssignments")
    story = (data.get("sourceMaterialId") or {}).get("QuALITYStory") if isinstance(data.get("sourceMaterialId"),
                                                                                  dict) else None
    status = data.get("status")
    for field, value, kind in (("setting", setting, dict), ("roleAssignments", roles, dict), ("status", status, dict),
                               ("name", data.get("name"), str), ("question", data.get("question"), str)):
        if not isinstance(value, kind):
            raise ValueError(f"field '{field}' is missing or not a {kind.__name__}")
    if not isinstance(story, dict) or not isinstance(story.get("id"), str):
        raise ValueError("field 'sourceMaterialId.QuALITYStory.id' is missing")
    if not isinstance(setting.get("isHuman"), bool) or not isinstance(setting.get("isDebate"), bool):
        raise ValueError("field 'setting' lacks isHuman/isDebate")
    finished = "Complete" in status
    info = ((status.get("Complete") or {}).get("result") or {}).get("judgingInfo") if finished else None
    index = final = None
    if finished and info is not None:  # a room can end without a live judge (mutual agreement, time up)
        if not isinstance(info, dict):
            raise ValueError("'status.Complete.result.judgingInfo' is not an object")
        index, final = info.get("correctAnswerIndex"), info.get("finalJudgement")
        if not isinstance(index, int) or not isinstance(final, list) or not final or index >= len(final) or not all(
                isinstance(p, int | float) and 0 <= p <= 1 for p in final):
            raise ValueError("judgingInfo's correctAnswerIndex or finalJudgement is malformed")
    debaters = {k.removeprefix("Debater "): str(v) for k, v in roles.items() if k.startswith("Debater ")}
    offline = _offline(status.get("Complete") or {}) if finished else ()
    return Room(name=data["name"], human=setting["isHuman"], debate=setting["isDebate"], story_id=story["id"],
                story_title=str(story.get("title") or data.get("storyTitle") or ""), question=data["question"],
                debaters=debaters, judge=str(roles["Judge"]) if roles.get("Judge") else None, finished=finished,
                correct_index=index, final_judgement=tuple(float(p) for p in final) if final else None,
                included_in_paper=bool(data.get("includedInPaper")), line=line, offline=offline)


def _offline(complete: dict[str, Any]) -> tuple[tuple[str, str, tuple[float, ...]], ...]:
    """Offline judges' final distributions (`status.Complete.offlineJudgingResults`): people who
    read the finished transcript afterwards, all at once (`timed`) or round by round (`stepped`).
    A judge who gave no judgment is left out; a malformed entry makes the room malformed."""
    results = complete.get("offlineJudgingResults") or {}
    if not isinstance(results, dict):
        raise ValueError("'status.Complete.offlineJudgingResults' is not an object")
    out = []
    for name, entry in sorted(results.items()):
        judgments = entry.get("judgments") if isinstance(entry, dict) else None
        if not isinstance(judgments, list):
            raise ValueError(f"offline judge {name!r} has no list of judgments")
        if not judgments:
            continue
        final = judgments[-1].get("distribution") if isinstance(judgments[-1], dict) else None
        if not isinstance(final, list) or not final or not all(isinstance(p, int | float) and 0 <= p <= 1
                                                               for p in final):
            raise ValueError(f"offline judge {name!r}: the last judgment's distribution is malformed")
        out.append((str(name), str(entry.get("mode") or ""), tuple(float(p) for p in final)))
    return tuple(out)


def metadata_file(location: Path | None) -> Path:
    """The metadata file of a downloaded `pub/` folder or repository (or the file itself); the
    shipped copy without a location."""
    if location is None:
        return SHIPPED
    for candidate in (location, location / "debates-metadata.jsonl", location / "pub" / "debates-metadata.jsonl"):
        if candidate.is_file():
            return candidate
    raise UserError(f"{location}: no debates-metadata.jsonl there (pass the released pub/ folder, the repository, "
                    f"or the file)")


def read_rooms(path: Path) -> tuple[list[Room], list[str]]:
    """The valid rooms, and one line per skipped line naming it and why."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path} ({getattr(exc, 'strerror', None) or exc}); pass the metadata file") from None
    rooms, skipped = [], []
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            room = _room(json.loads(raw), number)
        except json.JSONDecodeError:
            skipped.append(f"{path}:{number}: line {number} is not JSON; skipped")
            continue
        except ValueError as exc:
            skipped.append(f"{path}:{number}: line {number}: {exc}; skipped")
            continue
        if room.name in seen:
            skipped.append(f"{path}:{number}: line {number}: room {room.name!r} appears twice; the second is skipped")
            continue
        seen.add(room.name)
        rooms.append(room)
    return rooms, skipped


# -- the debate files (a downloaded pub/debates/official/) -------------------------------------------
_PTB = {"-LSB-": "[", "-RSB-": "]", "-LRB-": "(", "-RRB-": ")", "-LCB-": "{", "-RCB-": "}", "``": '"', "''": '"'}
_NO_SPACE_BEFORE = {",", ".", ";", ":", "!", "?", "%", ")", "]", "}", "'s", "n't", "'re", "'ve", "'ll", "'d", "'m", '"'}


def detokenize(tokens: list[str]) -> str:
    """The story's text from its tokens (QuALITY's, Penn Treebank style): spaces between words,
    none before punctuation; the same rendering for the story and its quoted spans, so a quote
    is found verbatim in the passage."""
    out: list[str] = []
    glue = True  # no space before the next token (start, a new line, after an opening mark)
    for raw in tokens:
        token = _PTB.get(raw, raw)
        if token == "\n":
            out.append("\n")
            glue = True
            continue
        out.append(token if glue or (token in _NO_SPACE_BEFORE and raw != "``") else " " + token)
        glue = raw in ("``", "-LRB-", "-LSB-", "-LCB-")
    return "".join(out)


@dataclass(frozen=True)
class Speech:
    round: int  # 1-based speech round
    debater: str  # "A" or "B"
    speaker: str
    text: str  # with <quote>...</quote> around the story's spans
    quotes: int


@dataclass(frozen=True)
class DebateFile:
    """A released debate: the story, the answers, the speeches and the live judge's beliefs."""

    passage: str
    question: str
    answers: tuple[str, ...]
    correct_index: int
    speeches: tuple[Speech, ...]
    beliefs: tuple[tuple[int, tuple[float, ...]], ...]  # (after how many speech rounds, distribution)


def read_debate(path: Path) -> DebateFile:
    """One debate file; a malformed file raises ValueError naming what is missing."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        setup = data["setup"]
        tokens = setup["sourceMaterial"]["QuALITYSourceMaterial"]["contents"]
        answers = tuple(str(a) for a in setup["answers"])
        correct = int(setup["correctAnswerIndex"])
        rounds = data["rounds"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"not a debate file ({type(exc).__name__}: {exc})") from None
    speeches: list[Speech] = []
    beliefs: list[tuple[int, tuple[float, ...]]] = []
    speech_round = 0
    for entry in rounds:
        kind, body = next(iter(entry.items())) if isinstance(entry, dict) and entry else ("", None)
        if kind in ("SequentialSpeeches", "SimultaneousSpeeches") and isinstance(body, dict):
            speech_round += 1
            for index, speech in sorted((body.get("speeches") or {}).items()):
                parts, quotes = [], 0
                for piece in speech.get("content") or []:
                    if "Text" in piece:
                        parts.append(str(piece["Text"].get("text", "")))
                    elif "Quote" in piece:
                        a, b = piece["Quote"]["span"]
                        parts.append(f"<quote>{detokenize(tokens[a:b])}</quote>")
                        quotes += 1
                speeches.append(Speech(speech_round, "AB"[int(index)] if str(index).isdigit() and int(index) < 2
                                       else str(index), str(speech.get("speaker", "")), "".join(parts), quotes))
        elif kind == "JudgeFeedback" and isinstance(body, dict) and isinstance(body.get("distribution"), list):
            beliefs.append((speech_round, tuple(float(p) for p in body["distribution"])))
    return DebateFile(detokenize(tokens), str(setup.get("question", "")), answers, correct, tuple(speeches),
                      tuple(beliefs))


def debate_files(location: Path | None) -> Path | None:
    """The folder of debate files under a downloaded pub/ folder or repository, if any."""
    if location is None or location.is_file():
        return None
    for candidate in (location / "debates" / "official", location / "pub" / "debates" / "official", location):
        if candidate.is_dir() and any(candidate.glob("*.json")):
            return candidate
    return None


# -- fetching the release ----------------------------------------------------------------------------
RELEASE_URL = f"https://codeload.github.com/julianmichael/debate/tar.gz/{PROVENANCE['commit']}"


def fetch_release(dest: Path, url: str = RELEASE_URL) -> Path:
    """Download the repository at the pinned commit and keep its `pub/` folder under `dest`
    (`dest/pub/`); the metadata file's sha256 must be the pinned one, else nothing is kept. `url`
    may be a local .tar.gz (a mirror, or a test). Returns the pub/ folder."""
    import shutil
    import tarfile
    import tempfile

    from debatelab.scenarios.download import download

    target = dest / "pub"
    if target.exists():
        raise UserError(f"{target} exists already; import it (`debatelab import michael2023 {target}`) or pass "
                        f"another --to")
    with tempfile.TemporaryDirectory(prefix="debatelab-fetch-") as tmp:
        archive = Path(tmp) / "release.tar.gz"
        download(url, archive, "download the repository yourself and pass its pub/ folder to `debatelab import`")
        staging = Path(tmp) / "staging"
        try:
            with tarfile.open(archive, "r:gz") as tar:
                members = [m for m in tar.getmembers() if "/pub/" in f"/{m.name}" and (m.isfile() or m.isdir())]
                if not members:
                    raise UserError(f"{url}: the archive has no pub/ folder; is it the julianmichael/debate "
                                    f"repository?")
                if hasattr(tarfile, "data_filter"):  # no links, no paths outside (Python >= 3.11.4)
                    tar.extractall(staging, members=members, filter="data")
                else:
                    safe = [m for m in members if not m.name.startswith("/") and ".." not in Path(m.name).parts]
                    tar.extractall(staging, members=safe)  # noqa: S202 - members checked above
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise UserError(f"{url}: not a readable .tar.gz ({exc})") from None
        pub = next((p for p in staging.rglob("pub") if p.is_dir() and (p / "debates-metadata.jsonl").is_file()), None)
        if pub is None:
            raise UserError(f"{url}: the archive's pub/ folder has no debates-metadata.jsonl")
        digest = hashlib.sha256((pub / "debates-metadata.jsonl").read_bytes()).hexdigest()
        if digest != PROVENANCE["sha256"]:
            raise UserError(f"{url}: debates-metadata.jsonl has sha256 {digest[:12]}…, not the pinned "
                            f"{PROVENANCE['sha256'][:12]}… of commit {PROVENANCE['commit'][:7]}; nothing was kept")
        dest.mkdir(parents=True, exist_ok=True)
        shutil.move(str(pub), str(target))
    return target


def release_questions(location: Path) -> list[Question]:
    """The paper's questions as a question set for new oversight runs: each (story, question) of a
    released debate file once, with its two answers as debated and the story as the passage (so
    questions of one story share a cluster). Needs the downloaded release (the metadata holds no
    story text); unreadable files are left out, never guessed."""
    folder = debate_files(location)
    if folder is None:
        raise UserError(f"{location}: no released debate files there (pub/debates/official/*.json); download them "
                        "with `debatelab data fetch michael2023` and pass the pub/ folder as 'path'")
    seen: dict[str, Question] = {}
    for file in sorted(folder.glob("*.json")):
        try:
            d = read_debate(file)
        except ValueError:
            continue
        if len(d.answers) != 2 or not d.passage.strip() or not d.question.strip():
            continue
        key = hashlib.sha256(f"{d.passage[:2000]}|{d.question}".encode()).hexdigest()[:12]
        if key not in seen:
            seen[key] = Question(id=f"{file.stem.rsplit('-', 1)[0]}:{key}", question=d.question, options=list(d.answers),
                                 answer="AB"[d.correct_index], passage=d.passage,
                                 source=f"Michael et al. 2023 ({PROVENANCE['licence']})")
    if not seen:
        raise UserError(f"{folder}: no readable two-answer debate file; pass the released pub/ folder")
    return list(seen.values())
