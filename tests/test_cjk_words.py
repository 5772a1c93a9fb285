"""Chinese typed without spaces, cut into the words a search looks for."""

from __future__ import annotations

import pytest

from isletbase.cjk_words import words


@pytest.mark.parametrize(
    ("typed", "cut"),
    [
        ("干细胞治疗糖尿病", ["干细胞", "糖尿病"]),  # 治疗 says how the question is phrased
        ("脐带1型糖尿病", ["脐带", "1型糖尿病"]),
        ("脐带间充质干细胞治疗1型糖尿病", ["脐带间充质干细胞", "1型糖尿病"]),
        ("骨髓间充质干细胞糖尿病足", ["骨髓间充质干细胞", "糖尿病足"]),
        ("臍帶一型糖尿病", ["脐带", "1型糖尿病"]),  # traditional characters, the type in words
        ("脐带血和胰岛", ["脐带血", "胰岛"]),  # 和 between two words joins them
        ("糖尿病足溃疡", ["糖尿病足", "溃疡"]),  # text no list knows is kept as typed
        ("胰岛β细胞", ["胰岛", "β细胞"]),  # a character alone stays with the next word
    ],
)
def test_a_run_is_cut_into_the_words_the_lists_know(typed, cut):
    assert words(typed) == cut


@pytest.mark.parametrize("typed", ["脐带间充质干细胞", "糖尿病足", "治疗", "协和", "溃疡"])
def test_one_word_stopwords_only_or_unknown_text_is_looked_for_as_typed(typed):
    assert words(typed) == [typed]


def test_a_connector_inside_a_name_no_list_knows_stays_in_it():
    """北京协和医院's 和 follows 协, which no list holds: it is part of the name, not a join."""
    assert words("北京协和医院干细胞") == ["北京", "协和医院", "干细胞"]


@pytest.mark.parametrize("typed", ["北京医院", "香港大学", "脐带胰岛", "人民医院"])
def test_a_run_of_words_under_three_characters_is_looked_for_whole(typed):
    """Each 2-character word is a scan of every trial (北京医院: ~0.4 s on 200,000 where the
    whole run is one trigram lookup, 0.6 ms), and a name is found as written (香港大学 was 香港
    and 大学, which 香港中文大学 holds too)."""
    assert words(typed) == [typed]


@pytest.mark.parametrize(
    ("typed", "cut"),
    [("用干细胞治疗糖尿病", ["干细胞", "糖尿病"]), ("干细胞能根治糖尿病吗", ["干细胞", "糖尿病"]),
     ("北京哪家医院做干细胞治疗糖尿病", ["北京", "干细胞", "糖尿病"]),
     ("干细胞治疗糖尿病的临床试验有哪些", ["干细胞", "糖尿病"]),
     ("人脐带间充质干细胞注射液", ["脐带间充质干细胞", "注射液"]),
     ("肾移植干细胞", ["肾", "移植", "干细胞"]), ("胰岛功能", ["胰岛功能"])],
)  # fmt: skip
def test_a_question_s_words_and_particles_are_dropped_and_a_lone_character_kept(typed, cut):
    """用 went with 干细胞 (用干细胞: no trial), 吗 stayed a term; a character no list knows
    (肾) is a word of its own, and a particle inside a word (功能's 能) stays in it."""
    assert words(typed) == cut


@pytest.mark.parametrize(
    ("typed", "cut"),
    [("第一型糖尿病", ["1型糖尿病"]), ("第一型糖尿病幹細胞", ["1型糖尿病", "干细胞"]),
     ("间充质干细胞静脉注射", ["间充质干细胞", "静脉输注"])],
)  # fmt: skip
def test_a_vocabulary_s_chinese_alias_is_looked_for_as_its_label(typed, cut):
    """第一型糖尿病 (as Taiwan and Hong Kong write it) and 静脉注射 found nothing: every trial
    classified so carries the label (1型糖尿病, 静脉输注), not the alias."""
    assert words(typed) == cut
