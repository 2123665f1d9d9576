from wit.core.records import CANDIDATE_FIELDS, make_uid, new_candidate


def test_uid_is_stable_and_distinguishes_fields():
    assert make_uid("http://a/x.jpg", "a cat") == make_uid(" http://a/x.jpg ", "a cat ")
    assert make_uid("http://a/x.jpg", "a cat") != make_uid("http://a/x.jpg", "a dog")
    # the separator keeps (url, text) boundaries apart
    assert make_uid("http://a/x", "y z") != make_uid("http://a/xy", " z")
    assert len(make_uid("u", "t")) == 16


def test_uid_survives_lone_surrogates():
    assert len(make_uid("http://a/\udcff", "bad \ud800 text")) == 16


def test_new_candidate_has_every_field():
    cand = new_candidate("http://a/x.jpg", "a cat", page_url="http://a/")
    assert tuple(cand) == CANDIDATE_FIELDS
