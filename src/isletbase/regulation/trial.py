"""A trial's facts for the rules: read from its ``isletbase.model.Trial`` record.

Registry records rarely say everything a rule needs; a fact that the record does not show is
left missing (``None``) rather than guessed, and rules decide what "not shown" means.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from isletbase.model import Institution, Trial
from isletbase.regulation.charges import NOT_CHARGED, charge_words
from isletbase.regulation.facts import Evidence, Fact
from isletbase.regulation.negation import Negation
from isletbase.regulation.phrases import Matcher
from isletbase.regulation.rules import RuleBook
from isletbase.store.institutions import InstitutionIndex
from isletbase.store.trials import stale_flags

_TEXT_FIELDS = ("design", "summary", "notes", "title_en", "official_title_en", "title_zh")
#: regions of ``Trial.region`` outside mainland China, as country codes: China's rules are
#: mainland law, so a Hong Kong, Macau or Taiwan trial is not "CN"
_REGIONS = {"mainland China": "CN", "Hong Kong": "HK", "Macau": "MO", "Taiwan": "TW"}


def _db(field: str, value: object) -> Evidence:
    return Evidence("database", f"{field}: {value}")


def _later(a: str, b: str) -> bool:
    """Whether partial date ``a`` is after ``b`` at the precision both show."""
    n = min(len(a), len(b))
    return a[:n] > b[:n]


class TrialReader:
    """Builds trial facts with one rule book's phrase lists and the institution directory."""

    def __init__(self, book: RuleBook, institutions: Iterable[Institution] = ()) -> None:
        self.book = book
        self.phrases = Matcher(
            {
                k: (*book.phrases[k].en, *book.phrases[k].zh)
                for k in ("ethics", "trial_charges", *NOT_CHARGED)
                if k in book.phrases
            },
            Negation.of(book),
        )
        self.company = Matcher(
            {"company": (*book.phrases["company"].en, *book.phrases["company"].zh)}
        )
        self.institutions: Mapping[str, Institution] = {i.id: i for i in institutions}
        self.index = InstitutionIndex.from_institutions(self.institutions.values())

    def facts(self, trial: Trial, today: date) -> dict[str, Fact]:
        """The facts rules read about one trial, each with the record field it came from."""
        facts: dict[str, Fact] = {}

        def put(name: str, value: object, *evidence: Evidence) -> None:
            facts[name] = Fact(name, value, list(evidence))

        if trial.region in _REGIONS:
            put("country", _REGIONS[trial.region], _db("region", trial.region))
        elif trial.country:
            code = self.book.country_code(trial.country) or trial.country
            if code == "CN" and trial.region is not None:
                code = trial.country  # the region says it is not mainland China
            put("country", code, _db("country", trial.country))
        if trial.cell_source:
            put("is_stem_cell_research", True, _db("cell_source", trial.cell_source))
        put(
            "registered_in",
            [r.registry for r in trial.registry_ids],
            *(_db("registry id", r.id) for r in trial.registry_ids),
        )
        # a registered trial presents itself as a clinical study, whatever else it says
        put("claims_to_be_trial", True, *(_db("registry id", r.id) for r in trial.registry_ids))
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
        said: list[Evidence] = []
        said_not: list[Evidence] = []
        for name in _TEXT_FIELDS:
            text = getattr(trial, name)
            if not text:
                continue
            ethics = [m for m in self.phrases.find(text) if m.key == "ethics"]
            if ethics:
                put("ethics_info", True, Evidence("database", f"{name}: …{ethics[0].quote}…"))
            pays, not_pays = charge_words(self.phrases, text)
            said += [Evidence("database", f"{name}: …{m.quote}…") for m in pays[:1]]
            said_not += [Evidence("database", f"{name}: …{m.quote}…") for m in not_pays[:1]]
        # words both ways leave it unknown ("研究药物免费，常规检查自费")
        if said and not said_not:
            put("charges_patient", True, *said)
        elif said_not and not said:
            put("charges_patient", False, *said_not)
        sponsor = trial.sponsor or trial.sponsor_zh
        if sponsor:
            inst = self.institutions.get(self.index.match(sponsor) or "")
            is_company = (inst is not None and inst.type == "company") or bool(
                self.company.find(sponsor)
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
            Evidence.said(
                "database",
                "institution_filed" if i.filed_stem_cell_institution else "institution_not_filed",
                zh={"id": i.name_for_chinese},
                id=i.id,
                source=i.filing_source_url,
            )
            for i in known
        ]
        put("institution_filed", True if filed else None, *evidence)
