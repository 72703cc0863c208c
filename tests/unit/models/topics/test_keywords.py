from __future__ import annotations

from models.topics.keywords import MAX_TERMS, add_terms, label_text, labels, merge_terms, remove_terms, words


def test_words_are_folded_and_leave_out_people_links_numbers_and_stop_words() -> None:
    text = "@ana.pop Zborul #ÎNTÂRZIAT again!! 3 hours at OTP http://t.co/x ana@firma.ro — don't și pentru"
    assert words(text) == ["zborul", "intarziat", "hours", "otp"]


def test_a_mention_counts_each_word_once_and_terms_keep_the_most_frequent() -> None:
    terms = add_terms({}, "delay delay delay gate")
    assert terms == {"delay": 1, "gate": 1}
    many = {f"w{i:03d}": i for i in range(MAX_TERMS + 20)}
    kept = merge_terms(many, {"w000": 1000})
    assert len(kept) == MAX_TERMS and "w000" in kept and "w001" not in kept


def test_labels_favour_the_words_that_set_a_topic_apart() -> None:
    topics = {
        "delays": {"flight": 30, "delayed": 25, "gate": 10, "app": 1},
        "app": {"flight": 28, "app": 25, "crash": 20},
    }
    named = labels(topics, top=2)
    assert named["delays"][0] == "delayed"  # "flight" is as frequent in both: it sinks below
    assert named["app"] == ["app", "crash"]
    assert label_text(named["app"]) == "app · crash"
    assert labels({}) == {}


def test_removing_a_mention_takes_back_exactly_the_words_it_added() -> None:
    before = add_terms({}, "delayed flight again")
    terms = add_terms(before, "Ioana Vasilescu: flight delayed, flight cancelled")
    assert remove_terms(terms, ["Ioana Vasilescu: flight delayed, flight cancelled"]) == before
    assert remove_terms(before, ["delayed flight again", "unrelated words"]) == {}
