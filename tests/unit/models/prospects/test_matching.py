from models.prospects.matching import Candidate, Person, company_key, match, name_key, profile_key


def test_profile_urls_are_one_key_however_written() -> None:
    key = "in/ana-pop"
    for url in ("https://www.linkedin.com/in/Ana-Pop/", "ro.linkedin.com/in/ana-pop?trk=x", "ana-pop", "@ana-pop"):
        assert profile_key(url) == key, url
    assert profile_key("https://example.com/in/ana-pop") is None
    assert profile_key("https://www.linkedin.com/company/dedeman") is None


def test_names_and_companies_fold_and_drop_what_varies() -> None:
    assert name_key("POPESCU Ion") == name_key("Ion M. Popescu") == name_key("ion popescu")
    assert name_key("Ştefan Rădulescu") == name_key("Stefan Radulescu")
    assert name_key("Cher") is None  # one word is not a name to match on
    assert company_key("S.C. Ștefănești Agro S.R.L.") == company_key("STEFANESTI AGRO SRL") == "stefanesti agro"


CONTACT = Candidate("contact", "c1", profile_url="linkedin.com/in/ana-pop", email="ana@agro.ro", name="Ana Pop",
                    company="Agro Nova SRL", account_id="a1")  # fmt: skip


def test_each_kind_of_evidence_links_with_its_confidence() -> None:
    by_url = match(Person(profile_url="https://ro.linkedin.com/in/ana-pop/"), [CONTACT])
    assert (by_url.status, by_url.basis, by_url.confidence, by_url.contact_id, by_url.account_id) == (
        "matched", "profile_url", 1.0, "c1", "a1")  # fmt: skip
    assert match(Person(email="ANA@agro.ro"), [CONTACT]).basis == "email"
    assert match(Person(name="POP Ana", company="SC Agro Nova S.R.L."), [CONTACT]).basis == "name_company"
    assert match(Person(name="Ana Pop", company="Agro Nova Cluj"), [CONTACT]).basis == "name_similar_company"


def test_a_name_alone_or_at_another_company_never_links() -> None:
    alone = match(Person(name="Ana Pop"), [CONTACT])
    assert alone.status == "unmatched" and alone.contact_id is None
    assert [e.basis for e in alone.candidates] == ["name"]  # shown as a hint, not linked
    assert match(Person(name="Ana Pop", company="Nova Agro"), [CONTACT]).status == "unmatched"


def test_two_people_with_the_same_name_at_the_same_company_are_a_conflict() -> None:
    twin = Candidate("contact", "c2", name="Ana Pop", company="Agro Nova", account_id="a1")
    found = match(Person(name="Ana Pop", company="Agro Nova"), [CONTACT, twin])
    assert found.status == "conflict" and found.contact_id is None
    assert {e.candidate.id for e in found.candidates} == {"c1", "c2"}
    # an identifier settles it: the profile URL is c1's
    assert match(Person(profile_url="ana-pop", name="Ana Pop", company="Agro Nova"), [CONTACT, twin]).contact_id == "c1"


def test_a_url_on_one_person_and_the_email_on_another_is_a_conflict() -> None:
    other = Candidate("contact", "c3", email="ana.pop@gmail.com", name="Ana Popa")
    found = match(Person(profile_url="ana-pop", email="ana.pop@gmail.com"), [CONTACT, other])
    assert found.status == "conflict"


def test_a_converted_lead_and_its_contact_are_the_same_person() -> None:
    lead = Candidate("lead", "l1", email="ana@agro.ro", name="Ana Pop", company="Agro Nova", contact_id="c1")
    found = match(Person(profile_url="ana-pop", email="ana@agro.ro"), [CONTACT, lead])
    assert (found.status, found.contact_id, found.lead_id) == ("matched", "c1", "l1")
    open_lead = Candidate("lead", "l2", email="dan@x.ro", name="Dan Ilie", company="X", account_id=None)
    found = match(Person(email="dan@x.ro"), [open_lead])
    assert (found.status, found.lead_id, found.contact_id) == ("matched", "l2", None)


def test_person_keys_prefer_identifiers() -> None:
    assert Person(profile_url="ana-pop", email="a@b.ro").key() == "profile:in/ana-pop"
    assert Person(email="A@b.ro").key() == "email:a@b.ro"
    assert Person(name="Ana Pop", company="Agro SRL").key() == "name:ana pop@agro"
    assert Person(name="Ana Pop").key() is None  # nothing to recognise them by again
