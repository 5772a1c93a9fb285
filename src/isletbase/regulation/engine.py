"""The rule engine: facts in, findings out — for a clinic's offer or for a registered trial.

A finding names the rule, its severity, the evidence (the fields that made the rule fire and
the words or record values they came from) and the rule's source. ``CheckResult`` is the one
producer of a check's outcome: the CLI table, ``--json``, the API and the web form all read it.
Exit codes of ``check`` are part of the contract: 0 nothing, 1 red flags, 3 violations.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, TypeVar

from isletbase import taxonomy
from isletbase.errors import InputError
from isletbase.model import Institution, Trial
from isletbase.regulation.extract import Extractor
from isletbase.regulation.facts import Evidence, Fact
from isletbase.regulation.offer import Offer
from isletbase.regulation.rules import SEVERITY_RANK, AppliesTo, Rule, RuleBook, load_rulebook
from isletbase.regulation.trial import TrialReader
from isletbase.store.db import Database
from isletbase.store.institutions import directory, list_institutions, match_institution
from isletbase.store.trial_reads import get_trial, iter_trials
from isletbase.store.trials import ACTIVE_STATUSES

T = TypeVar("T")

Worst = Literal["none", "red_flag", "violation"]
EXIT_CODES: dict[str, int] = {"none": 0, "red_flag": 1, "violation": 3}
#: The evidence of a fact that fired a rule by having none ("not stated").
NOT_STATED = Evidence.said("derived", "not_stated")


@dataclass(frozen=True)
class Finding:
    """One rule that fired, with the evidence that made it fire."""

    rule: Rule
    evidence: tuple[tuple[str, Fact], ...]

    @property
    def severity(self) -> str:
        return self.rule.severity

    def to_dict(self) -> dict[str, Any]:
        """The contract shape: ``{"rule", "severity", "evidence", "source"}``."""
        return {
            "rule": self.rule.id,
            "severity": self.rule.severity,
            "evidence": [
                {"field": name, "value": fact.value, **ev.to_dict()}
                for name, fact in self.evidence
                for ev in (fact.evidence or [NOT_STATED])
            ],
            "source": self.rule.source_url,
        }


def worst_of(findings: Iterable[Finding]) -> Worst:
    """The most serious severity among findings; info alone counts as ``none``."""
    rank = max((SEVERITY_RANK[f.severity] for f in findings), default=0)
    return "violation" if rank == 2 else "red_flag" if rank == 1 else "none"


@dataclass
class CheckResult:
    """The outcome of checking one offer: findings (worst first) and the facts read from it."""

    findings: list[Finding]
    facts: dict[str, Fact]

    @property
    def worst(self) -> Worst:
        return worst_of(self.findings)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.worst]

    def to_dict(self) -> dict[str, Any]:
        """``{"worst", "findings", "facts"}`` — a stable machine contract."""
        return {
            "worst": self.worst,
            "findings": [f.to_dict() for f in self.findings],
            "facts": {name: fact.value for name, fact in sorted(self.facts.items())},
        }


def evaluate(book: RuleBook, target: AppliesTo, facts: Mapping[str, Fact]) -> list[Finding]:
    """Every rule for ``target`` whose condition holds on ``facts``, most serious first; a rule
    not yet in force on the day checked (``as_of``: its ``effective`` date is later) is not
    applied — an offer checked as of 2010 broke no rule of 2015."""
    values = {name: fact.value for name, fact in facts.items()}
    as_of = values.get("as_of")
    found = []
    for rule in book.for_target(target):
        if as_of and rule.effective and str(as_of) < rule.effective:
            continue
        held, fields = book.parsed[rule.id].evaluate(values)
        if held:
            items = book.parsed[rule.id].items()
            evidence = tuple(
                (f, _relevant(facts.get(f) or Fact(f, None), items.get(f))) for f in fields
            )
            found.append(Finding(rule, evidence))
    return sorted(found, key=lambda f: (-SEVERITY_RANK[f.severity], f.rule.id))


def _relevant(fact: Fact, items: set[Any] | None) -> Fact:
    """For a list fact tested with ``contains_any``, keep only the evidence of matching items."""
    if items is None or not isinstance(fact.value, list) or len(fact.evidence) != len(fact.value):
        return fact
    pairs = [(v, e) for v, e in zip(fact.value, fact.evidence, strict=True) if v in items]
    return Fact(fact.field, [v for v, _ in pairs], [e for _, e in pairs])


def check_offer(
    offer: Offer | Mapping[str, Any] | str,
    db: Database | None = None,
    *,
    book: RuleBook | None = None,
    today: date | None = None,
) -> CheckResult:
    """Check a clinic's offer (text, JSON fields, or both) against the rules.

    With ``db``, the offer's institution is matched against the directory (bilingual names,
    aliases, pinyin) for its filing status, and a registry id it cites is looked up: is the trial
    there, is it recruiting, is it run by the same institution?
    """
    book = book or load_rulebook()
    if isinstance(offer, str):
        offer = Offer.from_text(offer)
    elif not isinstance(offer, Offer):
        offer = Offer.parse(dict(offer) if isinstance(offer, Mapping) else offer)
    if not (offer.text or "").strip() and not offer.model_dump(
        exclude_defaults=True, exclude={"text"}
    ):
        raise InputError("offer: nothing to check (give text or at least one field)")
    today = today or date.today()
    # the directory as served pages read it (reread every ``DIRECTORY_TTL`` seconds): reading
    # it afresh was half of a check's time (0.35 of ~0.8 ms on the bundled data)
    institutions = directory(db) if db is not None else []
    named = (
        match_institution(db, offer.institution) if db is not None and offer.institution else None
    )
    facts = _kept(_EXTRACTOR, (book,), lambda: Extractor(book)).extract(
        offer, institutions, today, named=named
    )
    if db is not None and "registered_trial_id" in facts:
        _trial_lookup(db, book, institutions, facts)
    return CheckResult(evaluate(book, "clinic_offer", facts) + _products(book, facts), facts)


def _products(book: RuleBook, facts: Mapping[str, Fact]) -> list[Finding]:
    """Product rules not already found as offer rules (a rule may apply to both)."""
    return [f for f in evaluate(book, "product", facts) if "clinic_offer" not in f.rule.applies_to]


def _trial_lookup(
    db: Database, book: RuleBook, institutions: list[Institution], facts: dict[str, Fact]
) -> None:
    trial_id = str(facts["registered_trial_id"].value)
    trial = get_trial(db, trial_id)
    where = Evidence.said("database", "trial_lookup", id=trial_id)
    facts["trial_found"] = Fact("trial_found", trial is not None, [where])
    if trial is None:
        return
    status = trial.status_code or trial.status
    # a status no page gave is unknown, not "not recruiting" (a red flag was built on None)
    facts["trial_recruiting"] = Fact(
        "trial_recruiting",
        trial.status_code in ACTIVE_STATUSES if status else None,
        [
            Evidence.said(
                "database",
                "trial_status",
                zh={"status": taxonomy.load().label("status", trial.status_code, "zh") or status},
                id=trial.display_id,
                status=status,
            )
            if status
            else Evidence.said("database", "trial_status_unknown", id=trial.display_id)
        ],
    )
    offer_inst = facts.get("institution_id")
    if offer_inst is not None:
        runs = {i.id: i for i in _reader(book, institutions).institutions_of(trial)}
        ids = set(runs)
        if ids:
            facts["trial_same_institution"] = Fact(
                "trial_same_institution",
                offer_inst.value in ids,
                [
                    Evidence.said(
                        "database",
                        "trial_institutions",
                        zh={"ids": "、".join(runs[i].name_for_chinese for i in sorted(ids))},
                        id=trial.display_id,
                        ids=", ".join(sorted(ids)),
                    )
                ],
            )


def findings_for_trial(
    trial: Trial,
    db: Database | None = None,
    *,
    book: RuleBook | None = None,
    today: date | None = None,
    institutions: Iterable[Institution] | None = None,
) -> list[Finding]:
    """The rule findings for one trial, for its page (filing status needs ``db`` or
    ``institutions``; without them it is reported as not seen)."""
    book = book or load_rulebook()
    if institutions is None:
        institutions = directory(db) if db is not None else []
    return evaluate(book, "trial", _reader(book, institutions).facts(trial, today or date.today()))


#: The last object each of these was made for, and the object (``_kept``).
_READER: list[tuple[tuple, TrialReader]] = []
_EXTRACTOR: list[tuple[tuple, Extractor]] = []


def _kept(slot: list[tuple[tuple, T]], key: tuple, make: Callable[[], T]) -> T:
    """What ``make`` made for the objects ``key`` last time, while they are the same objects
    (a rule book and a directory are read once and kept): a ``TrialReader``'s institution index
    costs more than reading one trial, an ``Extractor``'s compiled phrases and negation cues
    three times what reading one offer does."""
    if slot and all(a is b for a, b in zip(slot[0][0], key, strict=True)):
        return slot[0][1]
    made = make()
    slot[:] = [(key, made)]
    return made


def _reader(book: RuleBook, institutions: Iterable[Institution]) -> TrialReader:
    """The ``TrialReader`` of this rule book and directory (the one
    ``store.institutions.directory`` keeps for 30 s, where a check or a trial's page reads it)."""
    return _kept(_READER, (book, institutions), lambda: TrialReader(book, institutions))


@dataclass
class TrialFindings:
    """Findings for one trial, as listed by ``isletbase findings``."""

    trial_id: str
    title: str | None
    findings: list[Finding]

    def to_dict(self) -> dict[str, Any]:
        return {
            "trial": self.trial_id,
            "title": self.title,
            "worst": worst_of(self.findings),
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass
class FindingsReport:
    """Findings across all trials in the database, with counts by rule and severity."""

    trials: list[TrialFindings] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        out = {"violation": 0, "red_flag": 0, "info": 0}
        for t in self.trials:
            for f in t.findings:
                out[f.severity] += 1
        return out

    @property
    def by_rule(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for t in self.trials:
            for f in t.findings:
                out[f.rule.id] = out.get(f.rule.id, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "by_rule": self.by_rule,
            "trials": [t.to_dict() for t in self.trials],
        }


def severity_floor(severity: str | None) -> str | None:
    """``severity`` as a key of ``SEVERITY_RANK``, as written anywhere (VIOLATION, Red-Flag);
    ``InputError`` for another word (asked before a report takes the server's one slot)."""
    if severity is None:
        return None
    key = severity.strip().lower().replace("-", "_")
    if key not in SEVERITY_RANK:
        known = ", ".join(sorted(SEVERITY_RANK))
        raise InputError(f"severity: expected one of {known} (in any case), got {severity!r}")
    return key


def findings_for_all_trials(
    db: Database,
    *,
    severity: str | None = None,
    book: RuleBook | None = None,
    today: date | None = None,
) -> FindingsReport:
    """Evaluate every trial in the database; keep findings at or above ``severity``."""
    severity = severity_floor(severity)
    book = book or load_rulebook()
    floor = SEVERITY_RANK[severity] if severity else 0
    institutions = list_institutions(db)
    report = FindingsReport()
    for trial in iter_trials(db):
        found = [
            f
            for f in findings_for_trial(trial, book=book, today=today, institutions=institutions)
            if SEVERITY_RANK[f.severity] >= floor
        ]
        if found:
            report.trials.append(
                TrialFindings(trial.display_id, trial.title_en or trial.title_zh, found)
            )
    return report
