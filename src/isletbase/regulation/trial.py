"""A trial's facts for the rules: read from its ``isletbase.model.Trial`` record.

Registry records rarely say everything a rule needs; a fact that the record does not show is
left missing (``None``) rather than guessed, and rules decide what "not shown" means.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from isletbase.model import Institution, Trial
from isletbase.regulation.facts import Evidence, Fact
from isletbase.regulation.phrases import Matcher
from isletbase.regulation.rules import RuleBook
from isletbase.store.institutions import InstitutionIndex
from isletbase.store.trials import stale_flags

_TEXT_FIELDS = ("design", "summary", "notes", "title_en", "official_title_en", "title_zh")


def _db(field: str, value: object) -> Evidence:
    return Evidence("database", f"{field}: {value}")


def _later(a: str, b: str) -> bool:
    """Whether partial date ``a`` is after ``b`` at the precision both show."""
    n = min(len(a), len(b))
    return a[:n] > b[:n]


class TrialReader:
    """Builds trial facts with one rule book's phrase lists and the institution directory."""

    def __init__(self, book: RuleBook, institutions: Iterable[Institution] = ()) -> None:
        self.phrases = Matcher(
            {
                k: (*book.phrases[k].en, *book.phrases[k].zh)
                for k in ("ethics", "trial_charges", "company")
            }
        )
        self.institutions: Mapping[str, Institution] = {i.id: i for i in institutions}
        self.index = InstitutionIndex.from_institutions(self.institutions.values())

    def facts(self, trial: Trial, today: date) -> dict[str, Fact]:
        """The facts rules read about one trial, each with the record field it came from."""
        facts: dict[str, Fact] = {}

        def put(name: str, value: object, *evidence: Evidence) -> None:
            facts[name] = Fact(name, value, list(evidence))

        if trial.region == "mainland China":
            put("country", "CN", _db("region", trial.region))
        elif trial.country:
            put("country", trial.country, _db("country", trial.country))
        if trial.cell_source:
            put("is_stem_cell_research", True, _db("cell_source", trial.cell_source))
        put(
            "registered_in",
            [r.registry for r in trial.registry_ids],
            *(_db("registry id", r.id) for r in trial.registry_ids),
        )
        if trial.status_code:
            put("status_code", trial.status_code, _db("status", trial.status))
            put("status_unknown", trial.status_code == "UNKNOWN", _db("status", trial.status))
            stale = stale_flags(trial.status_code, trial.last_update, today)
            put(
                "status_stale",
                bool(stale),
                _db("last_update", trial.last_update),
                *(Evidence("derived", flag) for flag in stale),
            )
        if trial.start_date:
            put("start_date", trial.start_date, _db("start_date", trial.start_date))
        if trial.start_date and trial.first_posted:
            put(
                "registered_after_start",
                _later(trial.first_posted, trial.start_date),
                _db("first_posted", trial.first_posted),
                _db("start_date", trial.start_date),
            )
        self._text_facts(trial, put)
        self._institution_facts(trial, put)
        return facts

    def _text_facts(self, trial: Trial, put) -> None:  # noqa: ANN001 - local callback
        for name in _TEXT_FIELDS:
            text = getattr(trial, name)
            if not text:
                continue
            for m in self.phrases.find(text):
                ev = Evidence("database", f"{name}: …{m.quote}…")
                if m.key == "ethics":
                    put("ethics_info", True, ev)
                elif m.key == "trial_charges":
                    put("charges_patient", True, ev)
        sponsor = trial.sponsor or trial.sponsor_zh
        if sponsor:
            inst = self.institutions.get(self.index.match(sponsor) or "")
            is_company = (inst is not None and inst.type == "company") or any(
                m.key == "company" for m in self.phrases.find(sponsor)
            )
            put("commercial_sponsor", is_company, _db("sponsor", sponsor))

    def institutions_of(self, trial: Trial) -> list[Institution]:
        """Directory entries of the trial's sites and sponsor, in that order, without repeats."""
        ids = [s.institution_id for s in trial.sites if s.institution_id]
        sponsor_id = self.index.match(trial.sponsor or trial.sponsor_zh)
        ids += [sponsor_id] if sponsor_id else []
        return [self.institutions[i] for i in dict.fromkeys(ids) if i in self.institutions]

    def _institution_facts(self, trial: Trial, put) -> None:  # noqa: ANN001 - local callback
        known = self.institutions_of(trial)
        if not known:
            return
        filed = [i for i in known if i.filed_stem_cell_institution]
        evidence = [
            Evidence(
                "database",
                f"{i.id} seen on filing list {i.filing_source_url}"
                if i.filed_stem_cell_institution
                else f"{i.id} not seen on a filing list",
            )
            for i in known
        ]
        put("institution_filed", True if filed else None, *evidence)
