"""The interface speaks French: every page rendered for a French browser shows no English, every
translatable string of the code has a French translation, the compiled catalogues match their
sources, and the language switcher is remembered per user.

How the page check decides what is English (`english_in`), so that a new untranslated string fails:
- any text shown to people (text nodes, and the title, alt, aria-label and placeholder attributes)
  equal to a msgid of the catalogue whose French differs, or holding one of its literal runs of
  two or more words (the parts of a msgid between its placeholders);
- any text holding two or more words of ENGLISH_ONLY, common English words that are not French
  words: this catches a string that was never marked for translation at all.
Left out: <script>, <style>, elements in another language (lang="en" on the switcher's
"English"), the fixture's own data (document labels, names) listed in `data_values`, and URLs and
paths (a word with a slash: "https://…/manifest.json" is no English).
"""

from __future__ import annotations

import ast
import re
import subprocess
from gettext import GNUTranslations
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import translation

from annotations.models import Corpus, CorpusRole, Document, Export, Face, Gender, Page, Person, ReviewStatus
from annotations.services import corpus_member_set, corpus_owner_set, corpus_update
from detection.inference.registry import ATTRIBUTE_MODELS, DETECTORS
from detection.models import DetectionRun, PageDetection
from frontend.language import SESSION_KEY
from frontend.models import UserPreference
from webapp.jobs import JobStatus

ROOT = Path(settings.BASE_DIR)
LOCALE = ROOT / "locale" / "fr" / "LC_MESSAGES"

# Common English words that are not French words: two of them in one text is an English phrase.
ENGLISH_ONLY = set(
    """
    the and of to with from for this that these those your you yet all any no not is are was were be been
    by on at or it its has have had will can could should would new more only show hide edit save saved
    saving delete search found done failed pending running page's who what which when where why how
    into than then them they their there here our we us my me he she his her him one two three some each
    every other after before about over under again once just also still none nothing something
    anyone everyone find finds keep mark marked reviewed unreviewed review accept accepted reject rejected
    draw move resize zoom close open reopen undo redo retry export exports download upload choose
    select selected shown faces' women men children child woman man unknown female male age gender
    year years per share whole period average numbers metrics precision recall threshold suggested best
    reachable compare fresh stored nothing evaluate detect detector detection tiling slower small medium
    large boxes box face curated curator curators matched matching most least at least clear filters
    words titles front only such order newest first document's log out in up
    """.split()
)
# Words identical in both languages, or names: allowed anywhere (documented in docs/architecture.md).
SAME_IN_BOTH = {"Visages", "IIIF", "API", "CSV", "JSON", "JSON-LD", "LabelMe", "COCO", "W3C", "ARK", "Gallica", "JPEG"}
SHOWN_ATTRIBUTES = {"title", "alt", "aria-label", "placeholder"}


class VisibleText(HTMLParser):
    """The texts a person reads or hears: text nodes and shown attributes, outside scripts, styles
    and elements in another language than the page's."""

    def __init__(self, language: str):
        super().__init__(convert_charrefs=True)
        self.language = language
        self.texts: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, hidden from the check)

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        lang = attributes.get("lang")
        skip = (
            self.hidden()
            or tag in {"script", "style", "template"}
            or (lang is not None and not lang.startswith(self.language) and tag != "html")
        )
        if not skip:
            self.texts += [value for name, value in attrs if name in SHOWN_ATTRIBUTES and value]
        if tag not in self.VOID:
            self.stack.append((tag, skip))

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not self.hidden() and data.strip():
            self.texts.append(data)


def visible_texts(html: str, language: str = "fr") -> list[str]:
    parser = VisibleText(language)
    parser.feed(html)
    return [" ".join(text.split()) for text in parser.texts]


def po_entries(path: Path) -> list[dict]:
    """msgctxt, msgid, msgid_plural and msgstr(s) of each entry of a .po file (enough of the format for ours)."""
    entries, entry, field = [], {}, None
    for line in path.read_text(encoding="utf-8").splitlines() + [""]:
        if not line.strip():
            if entry:
                entries.append(entry)
            entry, field = {}, None
            continue
        if line.startswith("#"):
            if line.startswith("#,"):
                entry["flags"] = line
            continue
        match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+"(.*)"$', line)
        if match:
            field = match.group(1)
            entry[field] = unescape(match.group(2))
        elif line.startswith('"') and field:
            entry[field] += unescape(line[1:-1])
    return [e for e in entries if e.get("msgid")]


def unescape(text: str) -> str:
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(0)), text)


def translations(entry: dict) -> list[str]:
    return [value for key, value in entry.items() if key.startswith("msgstr")]


def english_phrases() -> dict[str, str]:
    """English text that must not show on a French page -> the msgid it comes from."""
    entries = [entry for domain in ("django", "djangojs") for entry in po_entries(LOCALE / f"{domain}.po")]
    french = {text for entry in entries for text in translations(entry)}
    phrases = {}
    for entry in entries:
        for msgid in filter(None, [entry["msgid"], entry.get("msgid_plural")]):
            if msgid in french:
                continue  # also French ("Document", "Pages", "Import" the noun)
            plain = re.sub(r"<[^>]+>", "", msgid).replace("%%", "%").replace("&lt;", "<")
            if "%(" not in plain and len(plain.split()) == 1:
                phrases[plain] = msgid
            for part in re.split(r"%\(\w+\)[sd]", plain):
                if len(part.split()) >= 2:
                    phrases[" ".join(part.split())] = msgid
    return phrases


def english_in(texts: list[str], data_values: set[str]) -> list[str]:
    phrases = english_phrases()
    found = []
    for text in texts:
        for value in sorted(data_values, key=len, reverse=True):
            text = text.replace(value, " ")
        # URLs and paths (an example manifest address, an ARK) are no prose in either language.
        text = re.sub(r"\S*/\S*", " ", text)
        words = re.findall(r"[A-Za-z][A-Za-z']*", text)
        english = [w for w in words if w.lower() in ENGLISH_ONLY and w not in SAME_IN_BOTH]
        hits = [
            msgid
            for phrase, msgid in phrases.items()
            if phrase in text and re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", text)
        ]
        if len(english) >= 2 or hits:
            found.append(f"{text!r} (English words {english}, msgids {hits})")
    return found


# ---------------------------------------------------------------------------------------------
# Every page, in French.


@pytest.fixture
def site(db, tmp_path):
    """A public corpus with a document (two pages, faces of every status), a detection run and an export."""
    admin = get_user_model().objects.create_superuser("marianne", password="marianne-password-123")
    corpus = Corpus.objects.create(name="Excelsior", is_public=True)
    document = Document.objects.create(
        corpus=corpus,
        source="https://example.org/excelsior/manifest.json",
        label="Excelsior 1914-08-02",
        date_text="1914-08-02",
        date_start="1914-08-02",
        date_end="1914-08-02",
        import_status=JobStatus.DONE,
        import_report={"pages": 2, "skipped": [{"canvas_id": "c9", "label": "c9", "reason": "x"}]},
        metadata=[{"label": "Titre", "value": "Excelsior"}],
        attribution="BnF",
    )
    pages = [
        Page.objects.create(
            document=document,
            order=order,
            label=f"p{order}",
            canvas_id=f"https://example.org/excelsior/c{order}",
            width=800,
            height=1000,
            image_url=f"https://example.org/excelsior/c{order}.jpg",
            review_status=status,
        )
        for order, status in [(1, ReviewStatus.REVIEWED), (2, ReviewStatus.UNREVIEWED)]
    ]
    person = Person.objects.create(corpus=corpus, name="Colette")
    for n, gender in enumerate([Gender.FEMALE, Gender.MALE, Gender.UNKNOWN]):
        Face.objects.create(
            page=pages[0],
            x=10 + 100 * n,
            y=10,
            w=50,
            h=60,
            confidence=0.9,
            source="res10@test",
            gender=gender,
            person=person if gender == Gender.FEMALE else None,
        )
    run = DetectionRun.objects.create(
        corpus=corpus,
        document=document,
        detector="res10",
        status=JobStatus.DONE,
        pages_total=2,
        pages_done=2,
        params={"threshold": 0.5, "tiling": True},
        model_versions={"detector": "res10@test"},
    )
    for page in pages:
        PageDetection.objects.create(run=run, page=page, status=JobStatus.DONE, finished_at="2020-01-01T00:00Z")
    Export.objects.create(
        kind="csv", scope={"corpus": corpus.pk}, requested_by=admin, status=JobStatus.FAILED, error="x"
    )
    # The corpus settings page with a member and every kind of recorded change in its history.
    member = get_user_model().objects.create_user("gabrielle")
    corpus = corpus_update(corpus=corpus, user=admin, access_version=1, changes={"is_public": False})
    corpus = corpus_update(corpus=corpus, user=admin, access_version=2, changes={"is_public": True})
    corpus_member_set(corpus=corpus, user=admin, access_version=3, member=member, role=CorpusRole.VIEWER)
    corpus_member_set(corpus=corpus, user=admin, access_version=4, member=member, role=CorpusRole.CURATOR)
    # Handed over to one admin; another is left to hand it over to (the form shows).
    heir, other_admin = (get_user_model().objects.create_user(name) for name in ("hortense", "isaure"))
    corpus_member_set(corpus=corpus, user=admin, access_version=5, member=heir, role=CorpusRole.ADMIN)
    corpus_member_set(corpus=corpus, user=admin, access_version=6, member=other_admin, role=CorpusRole.ADMIN)
    corpus = corpus_owner_set(corpus=corpus, user=admin, access_version=7, new_owner_id=heir.pk)
    return {
        "admin": admin,
        "objects": {
            "document_id": document.pk,
            "page_id": pages[0].pk,
            "run_id": run.pk,
            "person_id": person.pk,
            "corpus_id": corpus.pk,
        },
        "data": {
            "marianne",
            "gabrielle",
            "hortense",
            "isaure",
            person.name,
            corpus.name,
            document.label,
            document.source,
            document.attribution,
            "res10",
            "res10@test",
            "opencv_res10",
            "p1",
            "p2",
            # Licence names are proper names: they stay as their authors wrote them; registry
            # names (onnx-age-gender) are identifiers, as API values are.
            *(spec.license for spec in (*DETECTORS.values(), *ATTRIBUTE_MODELS.values())),
            *ATTRIBUTE_MODELS,
        },
    }


def html_routes() -> list[tuple[str, str]]:
    """(url name, path pattern) of every web page route: the frontend app's and the login page."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                module = getattr(pattern.callback, "__module__", "")
                if module.startswith("frontend.views") or pattern.name == "login":
                    yield pattern.name, prefix + str(pattern.pattern)

    return list(walk(get_resolver().url_patterns))


def page_paths(objects: dict) -> dict[str, str]:
    paths = {}
    for name, pattern in html_routes():
        kwargs = re.findall(r"<(?:\w+:)?(\w+)>", pattern)
        unknown = [k for k in kwargs if k not in objects]
        assert not unknown, f"route {name} takes {unknown}: give the French page test an object for it"
        paths[name] = "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(objects[m.group(1)]), pattern)
    return paths


# Routes that are not pages: form posts that redirect.
NOT_PAGES = {"document-import", "document-remove"}


@pytest.mark.parametrize("persona", ["superuser", "anonymous"])
def test_every_page_shows_no_english_to_a_french_browser(site, persona):
    client = Client(HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    if persona == "superuser":
        client.force_login(site["admin"])
    checked, problems = [], {}
    paths = page_paths(site["objects"])
    # The page that refuses an address's query parameters (frontend.query), with a bad value and an unknown one.
    paths["bad request"] = paths["page"] + "?face=one&zz_unknown=1"
    for name, path in paths.items():
        if name in NOT_PAGES:
            continue
        response = client.get(path)
        if persona == "anonymous" and response.status_code in (302, 403):
            continue  # a page behind login, or for a corpus's admins: the superuser pass checks it
        assert response.status_code == (400 if name == "bad request" else 200), (name, path, response.status_code)
        html = response.content.decode()
        assert '<html lang="fr">' in html, name
        checked.append(name)
        if found := english_in(visible_texts(html), site["data"]):
            problems[path] = found
    assert problems == {}, f"English on French pages: {problems}"
    assert {"home", "document", "page", "search", "stats", "run", "login", "bad request"} <= set(checked)
    if persona == "superuser":
        assert {"exports", "corpus"} <= set(checked)


def test_the_page_check_finds_an_untranslated_string():
    """The detector itself: an unmarked English phrase, a known msgid, and data or names are told apart."""
    html = (
        "<p>Exporter les visages</p><p>Download all the faces</p><button>Mark reviewed</button>"
        "<span title='Keyboard shortcuts'>?</span><p>Excelsior 1914</p><p>COCO, IIIF, CSV</p>"
        "<button lang='en'>English</button><script>var x = 'All changes saved';</script>"
    )
    found = english_in(visible_texts(html), {"Excelsior 1914"})
    assert len(found) == 3, found
    assert "Download all the faces" in found[0]
    assert "Mark reviewed" in found[1] and "Keyboard shortcuts" in found[2]


def test_dates_and_numbers_follow_the_language(site):
    client = Client()
    client.force_login(site["admin"])
    document = f"/documents/{site['objects']['document_id']}/"
    assert "2 août 1914" in client.get(document, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Aug. 2, 1914" in client.get(document, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    page = f"/pages/{site['objects']['page_id']}/"
    assert "Accepter ≥\u00a00,00" in client.get(page, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Accept ≥ 0.00" in client.get(page, HTTP_ACCEPT_LANGUAGE="en").content.decode()


# ---------------------------------------------------------------------------------------------
# The catalogues: every string marked in the code has a French translation.

TEMPLATE_STRING = re.compile(r"""\{%\s*(?:translate|trans)\s+(["'])(.+?)\1(?:\s+context\s+(["'])(.+?)\3)?""")
BLOCK_STRING = re.compile(r"\{%\s*blocktranslate\b([^%]*)%\}(.*?)\{%\s*(?:plural|endblocktranslate)", re.S)
PYTHON_GETTEXT = {"_", "gettext", "gettext_lazy", "gettext_noop", "ngettext", "ngettext_lazy"}
JS_STRING = re.compile(r"""(?<![\w.])(?:gettext|ngettext)\(\s*(["'])(.+?)(?<!\\)\1""")
JS_CONTEXT_STRING = re.compile(r"""(?<![\w.])pgettext\(\s*(["'])(.+?)\1,\s*(["'])(.+?)(?<!\\)\3""")
CODE_DIRS = ["annotations", "detection", "frontend", "webapp"]


def code_files(*suffixes: str) -> list[Path]:
    return sorted(
        path
        for folder in CODE_DIRS
        for path in (ROOT / folder).rglob("*")
        if path.suffix in suffixes and "tests" not in path.parts and "vendor" not in path.parts
    )


def block_msgid(options: str, body: str) -> str:
    """The msgid of a {% blocktranslate %}: its variables as %(name)s, `trimmed` joining the lines."""
    text = re.sub(r"\{\{\s*(\w+)\s*\}\}", r"%(\1)s", body.replace("%", "%%"))
    return " ".join(text.split()) if "trimmed" in options else text


def python_msgids(source: str) -> set[str]:
    """The first string argument of every gettext call, read as Python reads it (adjacent literals joined)."""
    return {
        node.args[0].value
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in PYTHON_GETTEXT
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def marked_strings() -> dict[str, set[tuple[str | None, str]]]:
    """(context, msgid) of every string marked for translation, per catalogue domain."""
    django, js = set(), set()
    for path in code_files(".html"):
        source = path.read_text(encoding="utf-8")
        # makemessages doubles a % of a {% translate %} string (the catalogue is python-format).
        django |= {(m.group(4), m.group(2).replace("%", "%%")) for m in TEMPLATE_STRING.finditer(source)}
        django |= {(None, block_msgid(m.group(1), m.group(2))) for m in BLOCK_STRING.finditer(source)}
    for path in code_files(".py"):
        django |= {(None, msgid) for msgid in python_msgids(path.read_text(encoding="utf-8"))}
    for path in code_files(".js"):
        source = path.read_text(encoding="utf-8")
        js |= {(None, m.group(2)) for m in JS_STRING.finditer(source)}
        js |= {(m.group(2), m.group(4)) for m in JS_CONTEXT_STRING.finditer(source)}
    return {"django": django, "djangojs": js}


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_every_marked_string_has_a_french_translation(domain):
    translated = {
        (entry.get("msgctxt"), entry["msgid"])
        for entry in po_entries(LOCALE / f"{domain}.po")
        if all(translations(entry)) and "fuzzy" not in entry.get("flags", "")
    }
    marked = marked_strings()[domain]
    assert len(marked) > 100, "the string extraction found too little: is the pattern still right?"
    missing = sorted(marked - translated, key=str)
    assert missing == [], (
        f"strings with no French translation in locale/fr/LC_MESSAGES/{domain}.po (run `manage.py makemessages "
        f"-l fr{' -d djangojs' if domain == 'djangojs' else ''}`, translate, then `compilemessages`): {missing}"
    )


@pytest.mark.parametrize("domain", ["django", "djangojs"])
def test_the_compiled_catalogues_match_their_sources(domain, tmp_path):
    """The committed .mo files are what `compilemessages` makes of the .po files (needs gettext's msgfmt)."""
    compiled = tmp_path / f"{domain}.mo"
    subprocess.run(["msgfmt", "--check-format", "-o", str(compiled), str(LOCALE / f"{domain}.po")], check=True)
    with compiled.open("rb") as fresh, (LOCALE / f"{domain}.mo").open("rb") as committed:
        assert GNUTranslations(committed)._catalog == GNUTranslations(fresh)._catalog, (
            f"locale/fr/LC_MESSAGES/{domain}.mo is stale: run `manage.py compilemessages`"
        )


def test_the_javascript_catalogue_serves_the_french_strings(client):
    body = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '"All changes saved": "Toutes les modifications sont enregistr\\u00e9es"' in body
    assert "Toutes les modifications" not in client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def test_model_choices_are_shown_in_french():
    with translation.override("fr"):
        assert str(ReviewStatus.REVIEWED.label) == "Relue"
        assert str(JobStatus.DONE.label) == "Terminé"
    assert ReviewStatus.REVIEWED.value == "reviewed"  # the API's enum values stay as they are


# ---------------------------------------------------------------------------------------------
# The switcher: the browser's language until the user chooses; the choice follows the user.


def test_the_browser_language_until_the_user_chooses_and_then_the_choice_follows_them(db):
    user = get_user_model().objects.create_user("claire", password="claire-password-123")
    first = Client(HTTP_ACCEPT_LANGUAGE="fr")
    first.force_login(user)
    assert '<html lang="fr">' in first.get("/").content.decode()

    response = first.post("/i18n/setlang/", {"language": "en", "next": "/search/"})
    assert response.status_code == 302 and response["Location"] == "/search/"
    assert '<html lang="en">' in first.get("/").content.decode()
    assert UserPreference.objects.get(user=user).language == "en"

    # Another browser, French again, no cookie: the user's choice wins once they log in.
    other = Client(HTTP_ACCEPT_LANGUAGE="fr")
    assert '<html lang="fr">' in other.get("/").content.decode()
    other.post("/accounts/login/", {"username": "claire", "password": "claire-password-123"})
    assert other.session[SESSION_KEY] == "en"
    page = other.get("/")
    assert '<html lang="en">' in page.content.decode()
    assert page.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    other.post("/accounts/logout/")
    assert SESSION_KEY not in other.session
    assert '<html lang="en">' in other.get("/").content.decode(), "the cookie keeps it after logout"


def test_an_anonymous_choice_is_kept_in_the_language_cookie(db):
    browser = Client(HTTP_ACCEPT_LANGUAGE="en")
    browser.post("/i18n/setlang/", {"language": "fr", "next": "/"})
    assert '<html lang="fr">' in browser.get("/").content.decode()
    assert not UserPreference.objects.exists()


def test_an_unknown_language_changes_nothing(db):
    user = get_user_model().objects.create_user("denis")
    browser = Client(HTTP_ACCEPT_LANGUAGE="fr")
    browser.force_login(user)
    browser.post("/i18n/setlang/", {"language": "xx", "next": "/"})
    assert '<html lang="fr">' in browser.get("/").content.decode()
    assert not UserPreference.objects.exists()
    assert browser.get("/i18n/setlang/").status_code == 405


def test_api_error_texts_follow_the_language_and_enum_values_do_not(site):
    client = Client()
    client.force_login(site["admin"])
    assert client.get("/api/pages/999999/", HTTP_ACCEPT_LANGUAGE="fr").json() == {"detail": "Page introuvable"}
    assert client.get("/api/pages/999999/", HTTP_ACCEPT_LANGUAGE="en").json() == {"detail": "No such page"}
    refused = client.get("/api/search/pages/?date_from=juin", HTTP_ACCEPT_LANGUAGE="fr").json()
    assert "Indiquez une année (1915), un mois (1915-03) ou un jour (1915-03-12)." in str(refused)
    page = client.get(f"/api/pages/{site['objects']['page_id']}/", HTTP_ACCEPT_LANGUAGE="fr").json()
    assert page["review_status"] == "reviewed"
