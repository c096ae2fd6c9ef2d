"""Shared pytest fixtures: isolated media, a loopback HTTP server, personas and a corpus."""

from __future__ import annotations

import os
import shutil

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation
from django.utils.translation import trans_real

from annotations.models import Corpus, CorpusMembership, CorpusRole
from tests.support.clients import api_client
from tests.support.http_server import LocalServer
from tests.support.live_requests import counted
from tests.support.worker import RedisServer

# Playwright's sync API keeps an event loop in the test thread; Django's ORM guard would
# otherwise refuse the test's own database calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """A SQLite test database file per test session: concurrent runs never share one.

    A file rather than memory, so a real Celery worker started by a test can open it too.
    """
    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        database.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(autouse=True)
def isolated_storage(settings, tmp_path):
    """Every test writes media, local scans and caches under its own tmp dir; loopback is allowed."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LOCAL_IMAGES_DIR = tmp_path / "media" / "local"
    settings.IIIF_CACHE_DIR = tmp_path / "cache"
    settings.IIIF_DERIVATIVE_DIR = tmp_path / "media" / "derivatives"
    settings.SIMILARITY_INDEX_DIR = tmp_path / "similarity"
    settings.IIIF_ALLOW_PRIVATE_HOSTS = True
    settings.IIIF_DEFAULT_MIN_INTERVAL = 0.0
    # Requests are spaced per process, without Redis; tests of the shared budget (test_host_budget.py) ask for it.
    settings.IIIF_HOST_BUDGET = "process"
    settings.IIIF_BACKOFF_BASE = 0.01
    settings.IIIF_MAX_RETRY_AFTER = 5.0
    # Password hashing is deliberately slow; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The login slow-down and API throttles count in the cache: every test starts from zero.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def default_language():
    """Each test starts in the default language: LocaleMiddleware leaves the language of a request
    (a French one, say) active in the thread, where code run outside requests would inherit it."""
    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def french_catalogue(monkeypatch):
    """french_catalogue({msgid: msgstr}): French for these messages during the test, whatever the catalogue
    holds yet (their translations come with makemessages), so a test can tell French from English."""

    def add(translations: dict[str, str]) -> None:
        catalogue = trans_real.translation("fr")._catalog._catalogs[0]
        for msgid, msgstr in translations.items():
            monkeypatch.setitem(catalogue, msgid, msgstr)

    return add


@pytest.fixture
def http_server():
    server = LocalServer().start()
    yield server
    server.stop()


@pytest.fixture
def alice(db):
    """A curator of the `corpus` fixture."""
    return get_user_model().objects.create_user("alice", password="alice-password-123")


@pytest.fixture
def bob(db):
    """A viewer of the `corpus` fixture."""
    return get_user_model().objects.create_user("bob", password="bob-password-123")


@pytest.fixture
def charlie(db):
    """A user with no role anywhere."""
    return get_user_model().objects.create_user("charlie", password="charlie-password-123")


@pytest.fixture
def corpus(db, alice, bob):
    corpus = Corpus.objects.create(name="Excelsior", is_public=False)
    CorpusMembership.objects.create(corpus=corpus, user=alice, role=CorpusRole.CURATOR)
    CorpusMembership.objects.create(corpus=corpus, user=bob, role=CorpusRole.VIEWER)
    return corpus


@pytest.fixture
def corpus_admin(corpus, django_user_model):
    """dora, an admin member of the `corpus` fixture (not its owner: the fixture is an operator's, ownerless)."""
    user = django_user_model.objects.create_user("dora")
    CorpusMembership.objects.create(corpus=corpus, user=user, role=CorpusRole.ADMIN)
    return user


@pytest.fixture
def curator_client(client, alice, corpus):
    """Django's test client logged in as alice, curator of the `corpus` fixture."""
    client.force_login(alice)
    return client


@pytest.fixture
def api_as():
    """api_as(user): an API client authenticated as that user (anonymous for None)."""
    return api_client


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium (Playwright cannot download its own browser here), headless, offline-quiet."""
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def page(page, live_server, transactional_db):
    """Playwright's page, against the live server; the test ends once the page has stopped loading and
    the server has answered every request it made (the database is flushed after, see live_requests)."""
    requests = counted(live_server)
    yield page
    for open_page in page.context.pages:
        open_page.goto("about:blank")
    assert requests.wait_until_idle(timeout=30), "the live server was still answering requests 30 s after the test"


@pytest.fixture
def eager_celery():
    """Run queued tasks in-process (the browser import test only; task logic is unit-tested directly)."""
    from webapp.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def logged_in_page(page, live_server, django_user_model):
    """A Playwright page logged in as a fresh user `carol`."""
    django_user_model.objects.create_user("carol", password="carol-password-123")
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "carol")
    page.fill("input[name=password]", "carol-password-123")
    page.click("#login-submit")
    page.wait_for_url(f"{live_server.url}/")
    return page


@pytest.fixture
def private_redis(tmp_path):
    """A Redis server of the test's own, started and stopped with it (tests that restart or share a broker)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (scripts/test.sh installs it)")
    directory = tmp_path / "redis"
    directory.mkdir()
    server = RedisServer(directory).start()
    yield server
    server.stop()
