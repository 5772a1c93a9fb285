"""Word matching for Latin-script terms and facet tags in the word index, on both backends.

The oracle is written here in plain Python from each trial's stored search text, or is the
same filter answered by the other path (facet filters alone use the trials table's indexes).
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import delete, select

from isletbase.errors import InputError
from isletbase.ingest import load_bundled
from isletbase.store import search
from isletbase.store.check import check
from isletbase.store.curation import curate
from isletbase.store.db import Database, cjk_segments
from isletbase.store.query import TrialQuery
from isletbase.store.schema import SiteRow, TrialRow
from isletbase.store.search import search_trials

_WORD = re.compile(r"[^\W_]+")


def _ids(db: Database, **kw) -> set[str]:
    result = search_trials(db, TrialQuery(per_page=500, **kw))
    assert result.total == len(result.items)
    return {t.display_id for t in result.items}


def _oracle(db: Database, term: str, prefix: bool | None = None) -> set[str]:
    """Trials whose text has the term's words in sequence, the last a prefix if ``prefix``
    (by default: if 3+ long, as for a query's last term)."""
    words = _WORD.findall(term.lower())
    prefix = len(words[-1]) >= 3 if prefix is None else prefix
    found = set()
    with db.session() as session:
        for display_id, text in session.execute(select(TrialRow.display_id, TrialRow.search_text)):
            tokens = _WORD.findall(text)
            for i in range(len(tokens) - len(words) + 1):
                window = tokens[i : i + len(words)]
                head_ok = window[:-1] == words[:-1]
                last = window[-1]
                if head_ok and (last.startswith(words[-1]) if prefix else last == words[-1]):
                    found.add(display_id)
                    break
    return found


@pytest.mark.parametrize(
    "term", ["diabet", "umbilical", "t1d", "stem-cell", "type 1", "msc", "islet", "2"]
)
def test_a_latin_term_finds_exactly_the_trials_with_those_words(loaded_db, term):
    q = f'"{term}"' if " " in term else term
    expected = _oracle(loaded_db, term)
    assert _ids(loaded_db, q=q) == expected


def test_only_the_last_term_is_a_prefix_unless_a_star_says_so(loaded_db):
    umbilic, cord = _oracle(loaded_db, "umbilic"), _oracle(loaded_db, "cord")
    assert umbilic and cord and not _oracle(loaded_db, "umbilic", prefix=False)
    assert _ids(loaded_db, q="umbilic") == umbilic
    assert _ids(loaded_db, q="umbilic cord") == set()  # "umbilic" is no whole word
    assert _ids(loaded_db, q="umbilic* cord") == umbilic & cord
    assert _ids(loaded_db, q="cord umbilic") == _oracle(loaded_db, "cord", prefix=False) & umbilic
    assert _ids(loaded_db, q="cord* umbilic") == cord & umbilic


def test_a_prefix_of_fewer_than_three_letters_is_refused(loaded_db):
    with pytest.raises(InputError, match="at least 3 letters"):
        search_trials(loaded_db, TrialQuery(q="stem ce*"))


def test_a_word_prefix_matches_but_the_inside_of_a_word_does_not(loaded_db):
    assert _ids(loaded_db, q="diabet")
    assert not _ids(loaded_db, q="iabetes")
    assert _ids(loaded_db, q="umbilic") == _ids(loaded_db, q="umbilical")


@pytest.mark.parametrize(
    "filters",
    [
        {"cell_source": "uc-msc"},
        {"condition": "T1D"},
        {"condition": "complication"},
        {"status": "completed"},
        {"phase": "phase1_phase2"},
        {"region": "Mainland China"},
        {"country": "china"},
        {"route": "intravenous"},
        {"condition": "T2D", "status": "recruiting", "country": "China"},
    ],
)
@pytest.mark.parametrize("q", ["stem cells", "diabetes", "cord 干细胞"])
def test_text_with_facet_tags_finds_what_text_and_facets_find_apart(loaded_db, q, filters):
    together = _ids(loaded_db, q=q, **filters)
    assert together == _ids(loaded_db, q=q) & _ids(loaded_db, **filters)


def test_a_filter_the_tags_hold_narrows_a_text_search(loaded_db):
    everything = _ids(loaded_db, q="stem cells")
    assert _ids(loaded_db, q="stem cells", cell_source="UC-MSC") < everything


@pytest.fixture
def bundled(db: Database) -> Database:
    report = load_bundled(db)
    assert report.quarantined == 0
    return db


def test_compacting_the_text_indexes_keeps_every_answer(bundled):
    queries = [{"q": "stem cells", "status": "completed"}, {"q": "脐带 间充质"}, {"q": "t1d"}]
    before = [_ids(bundled, **q) for q in queries]
    pages = "SELECT count(*) FROM trial_words_data"  # SQLite's FTS5 pages
    with bundled.engine.connect() as conn:
        stored = conn.exec_driver_sql(pages).scalar() if bundled.is_sqlite else 0
    bundled.analyze()
    assert [_ids(bundled, **q) for q in queries] == before
    if bundled.is_sqlite:
        with bundled.engine.connect() as conn:
            assert conn.exec_driver_sql(pages).scalar() <= stored
    assert check(bundled).problems == []


def test_the_word_index_follows_a_curation_and_a_deleted_trial(bundled):
    db = bundled
    before = _ids(db, q="stem cells", cell_source="BM-MNC")
    target = sorted(_ids(db, q="stem cells", cell_source="UC-MSC"))[0]
    curate(db, target, "cell_source", "BM-MNC", "Test Curator", "word index follows updates")
    assert _ids(db, q="stem cells", cell_source="BM-MNC") == before | {target}
    assert target not in _ids(db, q="stem cells", cell_source="UC-MSC")
    with db.session() as session:
        session.execute(delete(TrialRow).where(TrialRow.display_id == target))
    assert target not in _ids(db, q="stem cells")
    assert _ids(db, q="stem cells", cell_source="BM-MNC") == before
    assert check(db).problems == []


def test_pinyin_from_inside_a_chinese_name_finds_the_institutions_trials(loaded_db):
    # 南京军区福州总医院: "junqu" (军区) starts at its third syllable, and no English text
    # of these trials has a word that starts so
    with loaded_db.session() as session:
        linked = set(
            session.scalars(
                select(TrialRow.display_id)
                .join(SiteRow, SiteRow.trial_uid == TrialRow.uid)
                .where(SiteRow.institution_id == "fuzhou-general-hospital")
            )
        )
    assert linked
    assert linked <= _ids(loaded_db, q="junqu")
    assert linked <= _ids(loaded_db, q="zongyiyuan")


def test_the_trigram_index_holds_only_the_parts_with_chinese():
    text = "nct01219465 | umbilical cord msc | 脐带间充质干细胞 | t1d 1型糖尿病 | beijing"
    assert cjk_segments(text) == "脐带间充质干细胞 | t1d 1型糖尿病"
    assert cjk_segments("type 1 diabetes") == ""
    assert cjk_segments(None) == ""
    # non-ASCII without CJK (an accent, a Greek letter) is no CJK part either
    assert cjk_segments("café | β-cell | 胰岛") == "胰岛"


#: How databases made by older versions held their text indexes: none of the word index, or a
#: trigram index over the whole text read from the trials table.
_OLDER_INDEXES = {
    "no word index": ("trial_words", "trials_words", None),
    "whole-text trigram index": (
        "trial_fts",
        "trials_fts",
        "CREATE VIRTUAL TABLE trial_fts USING fts5(search_text, content='trials', "
        "content_rowid='uid', tokenize='trigram')",
    ),
}


@pytest.mark.parametrize("older", sorted(_OLDER_INDEXES))
def test_a_database_with_older_text_indexes_gets_the_current_ones_on_init(tmp_path, older):
    table, triggers, create = _OLDER_INDEXES[older]
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    load_bundled(db)
    queries = [{"q": "umbilical cord", "condition": "T1D"}, {"q": "脐带间充质干细胞"}]
    expected = [_ids(db, **q) for q in queries]
    assert all(expected)
    with db.engine.begin() as conn:
        for suffix in ("ai", "ad", "au"):
            conn.exec_driver_sql(f"DROP TRIGGER {triggers}_{suffix}")
        conn.exec_driver_sql(f"DROP TABLE {table}")
        if create:
            conn.exec_driver_sql(create)
            conn.exec_driver_sql(f"INSERT INTO {table}({table}) VALUES ('rebuild')")
    db.init()
    with db.engine.connect() as conn:
        sql = conn.exec_driver_sql(f"SELECT sql FROM sqlite_master WHERE name = '{table}'")
        assert "content=''" in sql.scalar()
    assert [_ids(db, **q) for q in queries] == expected
    assert check(db).problems == []
    db.dispose()


RANKED_WITH_TAGS = [
    {"q": "diabetes", "status": "recruiting"},
    {"q": "stem cells", "condition": "T1D"},
    {"q": "umbilical cord", "country": "China", "phase": "PHASE1"},
]


@pytest.mark.parametrize("kw", RANKED_WITH_TAGS)
def test_ranking_by_the_text_alone_gives_the_order_of_ranking_with_the_tags(
    loaded_db, monkeypatch, kw
):
    """The tags weigh nothing in BM25, so ranking the listed matches by their text alone must
    give the same order (ties by uid), on every page."""
    taken = []
    by_text = search._rank_by_text

    def spy(*args):
        taken.append(by_text(*args))
        return taken[-1]

    monkeypatch.setattr(search, "_rank_by_text", spy)

    def ranked(per_page: int, page: int = 1) -> list[str]:
        query = TrialQuery(per_page=per_page, page=page, **kw)
        return [t.display_id for t in search_trials(loaded_db, query).items]

    monkeypatch.setattr(search, "TEXT_RANK_SCAN", 0)  # never by the text alone
    with_tags = ranked(500)
    assert not any(taken)
    monkeypatch.setattr(search, "TEXT_RANK_SCAN", 10**9)  # always, where tags are set
    monkeypatch.setattr(search, "TAG_POSTINGS", 0)
    assert ranked(500) == with_tags and len(with_tags) > 2
    assert ranked(2, page=2) == with_tags[2:4]
    assert any(taken) == loaded_db.is_sqlite  # PostgreSQL has no tags


def test_a_tagged_text_past_the_rank_limit_is_listed_newest_first(loaded_db, monkeypatch):
    kw = {"q": "diabetes", "status": "completed"}
    matched = _ids(loaded_db, **kw)
    with loaded_db.session() as session:
        newest = list(
            session.scalars(
                select(TrialRow.display_id)
                .where(TrialRow.display_id.in_(matched))
                .order_by(TrialRow.uid.desc())
            )
        )
    monkeypatch.setattr(search, "RANK_LIMIT", 3)
    assert len(newest) > 3
    listed = search_trials(loaded_db, TrialQuery(per_page=500, **kw))
    assert [t.display_id for t in listed.items] == newest and listed.total == len(newest)
    page = search_trials(loaded_db, TrialQuery(per_page=2, page=2, **kw))
    assert [t.display_id for t in page.items] == newest[2:4]


def _sited(db: Database, city: str) -> set[str]:
    with db.session() as session:
        return set(
            session.scalars(
                select(TrialRow.display_id)
                .join(SiteRow, SiteRow.trial_uid == TrialRow.uid)
                .where(SiteRow.city == city)
            )
        )


@pytest.mark.parametrize(
    ("city", "chinese"), [("Beijing", "北京"), ("Beijing", "北京市"), ("Guangzhou", "广州")]
)
def test_a_city_in_china_written_in_english_is_found_by_its_chinese_name(loaded_db, city, chinese):
    """北京 found one trial where ``beijing`` found eight: the sites are stored in English."""
    sited = _sited(loaded_db, city)
    assert sited  # stored in English only
    assert sited <= _ids(loaded_db, q=chinese)
    assert sited & _ids(loaded_db, q="diabetes") <= _ids(loaded_db, q=f"{chinese} diabetes")


@pytest.mark.parametrize(
    ("chinese", "english"), [("美国", "united states"), ("西班牙", "spain"), ("中国", "china")]
)
def test_a_country_named_in_chinese_finds_what_its_english_name_finds(loaded_db, chinese, english):
    """A trial's country is stored in English: 美国 found nothing. Its English spellings other
    than the stored one are not matched inside words (USA is a substring of "causal")."""
    found = _ids(loaded_db, q=chinese)
    assert found and found == _ids(loaded_db, q=english)
    assert _ids(loaded_db, q=f"{chinese} stem") == _ids(loaded_db, q=f"{english} stem")


def _containing(db: Database, text: str) -> set[str]:
    with db.session() as session:
        rows = session.execute(select(TrialRow.display_id, TrialRow.search_text))
        return {display_id for display_id, found in rows if text in found}


@pytest.mark.parametrize(
    "terms",
    [
        {"胰岛素": "insulin"},
        {"胰島素": "insulin"},  # traditional characters
        {"胰腺": "pancreas"},  # under three characters: a scan, not the trigram index
        {"胰岛素": "insulin", "葡萄糖": "glucose"},  # two such terms in one search
        {"胰岛移植": "islet transplantation"},  # found none: a phrase of two English words
    ],
)
def test_a_chinese_medical_word_finds_the_trials_that_say_it_in_english(loaded_db, terms):
    """胰岛素 found no trial where ``insulin`` found seven: their records are in English."""
    expected = None
    for chinese, english in terms.items():
        either = _containing(loaded_db, chinese.replace("島", "岛")) | _oracle(
            loaded_db, english, prefix=False
        )
        expected = either if expected is None else expected & either
    assert _ids(loaded_db, q=" ".join(terms)) == expected
    assert _oracle(loaded_db, "insulin", prefix=False)  # the bundled data says it in English
