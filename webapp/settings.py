"""Visages settings: one file, read from the environment with dev-safe defaults.

Every variable read here is listed in `.env.example`. `DEBUG` is off unless set; a web server
with `DEBUG` off refuses to start without `SECRET_KEY` (webapp/wsgi.py), while management
commands of a checkout use a key generated once into the data folder.
"""

import ipaddress
import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def envbool(name: str, default: bool) -> bool:
    """A boolean variable: 1/true/yes/on or 0/false/no/off."""
    raw = os.getenv(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean, got {raw!r}")


def envint(name: str, default: int, *, minimum: int | None = None) -> int:
    """An integer variable, refused below `minimum` when one is given."""
    raw = os.getenv(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def envfloat(name: str, default: float) -> float:
    """A floating-point variable."""
    raw = os.getenv(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number, got {raw!r}") from exc


def envstr(name: str, default: str) -> str:
    """A string variable."""
    return os.getenv(name) or default


def envlist(name: str, default: list[str]) -> list[str]:
    """A comma-separated list."""
    raw = os.getenv(name)
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def envnetworks(name: str) -> list[str]:
    """A comma-separated list of IP addresses or CIDR networks (empty by default)."""
    values = envlist(name, [])
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name} must list IP addresses or networks, got {value!r}") from exc
    return values


def checkout_secret(path: Path) -> str:
    """A random secret kept in a file of this checkout's data folder (mode 0600), made on first use.

    Commands and development servers of a checkout need no configuration; a web server with DEBUG
    off refuses this generated secret (webapp/wsgi.py), so production always sets its own.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as out:
            out.write(secrets.token_urlsafe(50))
        try:
            # A hard link never replaces a key that another process wrote first.
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text().strip()


DEBUG = envbool("DEBUG", False)
DATA_DIR = Path(envstr("VISAGES_DATA_DIR", str(BASE_DIR / "var")))
SECRET_KEY = os.getenv("SECRET_KEY") or checkout_secret(DATA_DIR / "secret_key")
# True when SECRET_KEY came from checkout_secret: webapp/wsgi.py then refuses to serve with DEBUG off.
SECRET_KEY_GENERATED = not os.getenv("SECRET_KEY")
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])
SITE_NAME = "Visages"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    # Swagger UI's files served from our static files, so /api/docs/ works offline.
    "drf_spectacular_sidecar",
    "axes",
    "annotations",
    "detection",
    "frontend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # After sessions, before common: the language from the cookie, else the browser's Accept-Language.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A signed-in user's chosen language (frontend/language.py) wins over the browser's.
    "frontend.language.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last: turns a login refused by the lockout (webapp/lockout.py) into its 429 page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
            ],
        },
    },
]

# SQLite is the embedded default; DATABASE_URL switches to PostgreSQL in production.
DATABASES = {
    "default": dj_database_url.parse(
        envstr("DATABASE_URL", f"sqlite:///{DATA_DIR / 'visages.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets the web process read while a worker writes; the timeout rides out short locks.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Celery's broker, and the shared cache in production.
REDIS_URL = envstr("REDIS_URL", "redis://localhost:6379/0")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
# One lockout policy for every password entry point (web login, admin login, API token), on
# django-axes: https://django-axes.readthedocs.io/en/latest/4_configuration.html
# Its backend refuses a locked-out login before ModelBackend checks the password.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
# Failures are counted in the database, so every gunicorn process and worker sees the same counts.
AXES_HANDLER = "webapp.lockout.LoginLockoutHandler"
# A (username, client address) pair is locked: an attacker cannot lock a user out from everywhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = envint("LOGIN_MAX_FAILURES", 10)
AXES_COOLOFF_TIME = timedelta(seconds=envint("LOGIN_LOCKOUT_SECONDS", 300))
# Refused attempts during a lockout are not counted: the lockout ends a cool-off after the last real failure.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "webapp.lockout.client_ip_address"
AXES_LOCKOUT_CALLABLE = "webapp.lockout.lockout_response"
# Successful logins are not logged (the table would only grow); failures live until their cool-off ends.
AXES_DISABLE_ACCESS_LOG = True
# A username that failed this many times (from any addresses) within the cool-off is slowed down, never
# locked: each client waits this many seconds before each attempt for it.
LOGIN_USERNAME_SLOWDOWN_FAILURES = envint("LOGIN_USERNAME_SLOWDOWN_FAILURES", 20)
LOGIN_USERNAME_SLOWDOWN_SECONDS = envint("LOGIN_USERNAME_SLOWDOWN_SECONDS", 5)
# Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For is believed for the client address;
# empty: the client is REMOTE_ADDR (docs/deploy.md).
TRUSTED_PROXIES = envnetworks("TRUSTED_PROXIES")
# Password of the first administrator created by `manage.py ensure_admin` (random when unset).
VISAGES_ADMIN_PASSWORD = os.getenv("VISAGES_ADMIN_PASSWORD", "")
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# The interface speaks English and French (docs/architecture.md, "Languages"): the browser's
# Accept-Language picks one, the switcher in the top bar overrides it and is remembered per user.
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("fr", "Français")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(envstr("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(envstr("MEDIA_ROOT", str(DATA_DIR / "media")))
# Uploaded zips of scans can be large; Django streams them to disk past this size.
FILE_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
UPLOAD_MAX_BYTES = envint("UPLOAD_MAX_BYTES", 2 * 1024 * 1024 * 1024)

if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0)
    SECURE_CONTENT_TYPE_NOSNIFF = True
    SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

REST_FRAMEWORK = {
    "DEFAULT_RENDERER_CLASSES": ["webapp.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    # Our JSON parser answers 400 to bodies that are too large, too deep or hold NaN/Infinity/1e309.
    "DEFAULT_PARSER_CLASSES": [
        "webapp.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # A face write's version conflict answers 409 with the face as it is now, from every view.
    "EXCEPTION_HANDLER": "webapp.exceptions.exception_handler",
    # Expensive endpoints (imports, detection runs, fresh evaluations, exports, training) declare
    # throttle_scope = "expensive".
    "DEFAULT_THROTTLE_CLASSES": ["webapp.throttling.ScopedWriteThrottle"],
    # Anonymous renders of our IIIF image route (tiles included) count per address in "iiif-anonymous".
    "DEFAULT_THROTTLE_RATES": {
        "expensive": envstr("EXPENSIVE_RATE_LIMIT", "60/hour"),
        "iiif-anonymous": envstr("IIIF_ANONYMOUS_RATE_LIMIT", "600/minute"),
        # Anonymous statistics with the women's share corrected (each reads every curated face of the
        # selected reviewed pages: about a second for a whole corpus of 10 M faces), per address.
        "correction-anonymous": envstr("CORRECTION_ANONYMOUS_RATE_LIMIT", "30/minute"),
        # Anonymous "more like this" on a face not encoded yet queues an encoding job for the inference
        # workers, per address; asking again while it is under way is not counted.
        "encoding-anonymous": envstr("ENCODING_ANONYMOUS_RATE_LIMIT", "60/hour"),
        # Members a corpus admin adds, per user: each names a user, so names cannot be tried one after another.
        "members": envstr("MEMBER_RATE_LIMIT", "60/hour"),
    },
}

# The login slow-down and API throttles count in this cache; Redis in production so that every
# web process shares the counts.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if DEBUG
    else {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Visages API",
    "DESCRIPTION": "Faces on heritage images: IIIF import, detection, review, search, export.",
    "VERSION": "0.1.0",
    # Swagger UI and its assets come from drf-spectacular-sidecar (our static files), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # One name per choice set where several fields share a name ("status", "kind"), instead of hashes.
    "ENUM_NAME_OVERRIDES": {
        "GenderEnum": "annotations.models.Gender",
        "ReviewStatusEnum": "annotations.models.ReviewStatus",
        "FaceStatusEnum": "annotations.models.FaceStatus",
        "ExportKindEnum": "annotations.models.ExportKind",
        "JobStatusEnum": "webapp.jobs.JobStatus",
        "ExportStatusEnum": "webapp.jobs.UNCANCELLABLE_STATUS_CHOICES",
        "BulkOutcomeEnum": "annotations.services.BULK_OUTCOME_CHOICES",
    },
}

# Celery: https://docs.celeryq.dev/en/stable/userguide/configuration.html
CELERY_BROKER_URL = envstr("CELERY_BROKER_URL", REDIS_URL)
# Results are not read back (progress lives in the database), so none are stored.
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-serializer
# JSON makes passing model instances or arrays to a task fail loudly.
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#task-time-limit
CELERY_TASK_SOFT_TIME_LIMIT = envint("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = envint("CELERY_TASK_TIME_LIMIT", 360)
# https://docs.celeryq.dev/en/stable/userguide/optimizing.html#prefetch-limits
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# https://docs.celeryq.dev/en/stable/userguide/configuration.html#worker-max-memory-per-child
# TensorFlow leaks across calls; a child past this many KiB is replaced after its task.
CELERY_WORKER_MAX_MEMORY_PER_CHILD = envint("CELERY_WORKER_MAX_MEMORY_PER_CHILD", 3_000_000)


def redis_transport_options(visibility_timeout: int) -> dict:
    """https://docs.celeryq.dev/en/stable/getting-started/backends-and-brokers/redis.html#visibility-timeout

    Redis redelivers a task a dead worker had taken once `visibility_timeout` seconds have passed; a
    worker looks for such tasks every tenth of that, at most every 10 s, and each time (kombu's own sweep,
    every 10 s but only one in ten, redelivered them up to 100 s late)."""
    return {
        "visibility_timeout": visibility_timeout,
        "unacked_restore_interval": max(1, min(10, visibility_timeout // 10)),
        "unacked_restore_throttle": 1,
    }


# The visibility timeout must exceed the hard time limit, or Redis redelivers tasks that are still running.
CELERY_BROKER_TRANSPORT_OPTIONS = redis_transport_options(
    envint("CELERY_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT * 4)
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# https://docs.celeryq.dev/en/stable/userguide/routing.html
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "annotations.tasks.document_import_task": {"queue": "import"},
    # Stores the pages of an uploaded dataset, like an import of scans.
    "annotations.tasks.dataset_import_task": {"queue": "import"},
    # Fetches a remote page image, like an import.
    "annotations.tasks.page_derivative_task": {"queue": "import"},
    "detection.tasks.detect_page_task": {"queue": "inference"},
    "detection.tasks.encode_faces_task": {"queue": "inference"},
    "detection.tasks.inference_job_task": {"queue": "inference"},
    # Training runs for minutes to hours: its own queue, so it never holds up detection.
    "detection.tasks.train_model_task": {"queue": "training"},
    # Building a similarity index takes minutes at millions of encodings: the training worker's kind of work.
    "detection.tasks.similarity_index_build_task": {"queue": "training"},
    "detection.tasks.*": {"queue": "default"},
    "annotations.tasks.*": {"queue": "default"},
    "webapp.tasks.*": {"queue": "default"},
}
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
# Seconds between two passes of the reaper of abandoned jobs (webapp.jobs.jobs_reap).
JOBS_REAP_INTERVAL = envint("JOBS_REAP_INTERVAL", 300)
# Seconds between two folds of the statistics' year summaries (annotations.search.summaries.summaries_compact).
SUMMARIES_COMPACT_INTERVAL = envint("SUMMARIES_COMPACT_INTERVAL", 300)
# https://docs.celeryq.dev/en/stable/userguide/periodic-tasks.html
# Sent by one `celery beat` process (docker-compose's beat service, scripts/run.sh).
CELERY_BEAT_SCHEDULE = {
    "purge-expired-exports": {"task": "annotations.tasks.exports_purge_task", "schedule": 3600.0},
    "purge-unread-derivatives": {"task": "annotations.tasks.derivatives_purge_task", "schedule": 3600.0},
    "purge-finished-inference-jobs": {"task": "detection.tasks.inference_jobs_purge_task", "schedule": 3600.0},
    # Page exports of training jobs whose worker was killed mid-job (the others remove their own).
    "purge-training-exports": {"task": "detection.tasks.training_exports_purge_task", "schedule": 3600.0},
    # Jobs whose worker died mid-task (a running claim past its kind's stale limit) are queued again.
    "reap-abandoned-jobs": {"task": "webapp.tasks.jobs_reap_task", "schedule": float(JOBS_REAP_INTERVAL)},
    # Every face write appends rows to the year summaries; folding them keeps statistics' reads small.
    "compact-summaries": {
        "task": "annotations.tasks.summaries_compact_task",
        "schedule": float(SUMMARIES_COMPACT_INTERVAL),
    },
}

# Days a finished export (its file and its row) is kept before the hourly purge deletes it.
EXPORT_RETENTION_DAYS = envint("EXPORT_RETENTION_DAYS", 7, minimum=1)
# Days a finished inference job (an evaluation, a face encoding: its row and result) is kept before the
# hourly purge deletes it; the encodings it stored stay.
INFERENCE_JOB_RETENTION_DAYS = envint("INFERENCE_JOB_RETENTION_DAYS", 30, minimum=1)

# IIIF fetching: polite, bounded and safe (SPECS.md §3.4).
IIIF_USER_AGENT = envstr("IIIF_USER_AGENT", "Visages/0.1 (heritage face annotation; contact: admin@localhost)")
IIIF_HTTP_TIMEOUT = envfloat("IIIF_HTTP_TIMEOUT", 30.0)
IIIF_MAX_RETRIES = envint("IIIF_MAX_RETRIES", 4)
IIIF_BACKOFF_BASE = envfloat("IIIF_BACKOFF_BASE", 1.0)
IIIF_MAX_RETRY_AFTER = envfloat("IIIF_MAX_RETRY_AFTER", 120.0)
IIIF_MAX_MANIFEST_BYTES = envint("IIIF_MAX_MANIFEST_BYTES", 50 * 1024 * 1024)
IIIF_MAX_IMAGE_BYTES = envint("IIIF_MAX_IMAGE_BYTES", 100 * 1024 * 1024)
IIIF_MAX_CANVASES = envint("IIIF_MAX_CANVASES", 20_000)
# A IIIF Collection import walks at most this many entries (manifests and nested collections) ...
IIIF_MAX_COLLECTION_MANIFESTS = envint("IIIF_MAX_COLLECTION_MANIFESTS", 500)
# ... and collections nested at most this deep (the top one is level 1).
IIIF_MAX_COLLECTION_DEPTH = envint("IIIF_MAX_COLLECTION_DEPTH", 4)
IIIF_ALLOW_PRIVATE_HOSTS = envbool("IIIF_ALLOW_PRIVATE_HOSTS", False)
# Minimum seconds between two requests to one host; Gallica answers 429 to bursts.
IIIF_DEFAULT_MIN_INTERVAL = envfloat("IIIF_DEFAULT_MIN_INTERVAL", 0.2)
IIIF_GALLICA_MIN_INTERVAL = envfloat("IIIF_GALLICA_MIN_INTERVAL", 3.0)
# Who shares those intervals: "redis" (every process on every machine using REDIS_URL; the default when
# REDIS_URL is set) or "process" (each process keeps its own spacing: N workers ask a host N times as often).
IIIF_HOST_BUDGET = envstr("IIIF_HOST_BUDGET", "redis" if os.getenv("REDIS_URL") else "process")
if IIIF_HOST_BUDGET not in {"redis", "process"}:
    raise ImproperlyConfigured(f"IIIF_HOST_BUDGET must be 'redis' or 'process', got {IIIF_HOST_BUDGET!r}")
# How long a fetch waits for an unreachable Redis budget before failing (it never fetches outside the budget).
IIIF_HOST_BUDGET_REDIS_TIMEOUT = envfloat("IIIF_HOST_BUDGET_REDIS_TIMEOUT", 30.0)
IIIF_CACHE_DIR = Path(envstr("IIIF_CACHE_DIR", str(DATA_DIR / "cache" / "iiif")))
# Longer side of the copy we fetch and serve for a page whose image host sends no CORS headers.
# How long browsers (and, for a public corpus, shared caches: proxies, CDNs) may keep a page image we serve.
# A corpus made private, or a member removed, stops reaching images that stay cached for up to this long.
IIIF_IMAGE_CACHE_SECONDS = envint("IIIF_IMAGE_CACHE_SECONDS", 3600)
IIIF_DERIVATIVE_MAX_SIZE = envint("IIIF_DERIVATIVE_MAX_SIZE", 2000)
# Where those copies live: written by the import-queue worker, served by the web, so on the shared media
# volume when they run on different machines.
IIIF_DERIVATIVE_DIR = Path(envstr("IIIF_DERIVATIVE_DIR", str(MEDIA_ROOT / "derivatives")))
# Seconds a failed derivative fetch is reported as failed before a viewer's request tries it again.
IIIF_DERIVATIVE_RETRY_S = envint("IIIF_DERIVATIVE_RETRY_S", 3600, minimum=0)
# Days a derivative nobody read is kept before the purge deletes it (fetched again when asked for).
IIIF_DERIVATIVE_RETENTION_DAYS = envint("IIIF_DERIVATIVE_RETENTION_DAYS", 30, minimum=1)
# Images above this many pixels are refused before decoding (decompression bombs).
IMAGE_MAX_PIXELS = envint("IMAGE_MAX_PIXELS", 300_000_000)
# The most pixels one request to our IIIF image route renders (info.json's maxArea).
IIIF_MAX_AREA = envint("IIIF_MAX_AREA", 25_000_000)
LOCAL_IMAGES_DIR = Path(envstr("LOCAL_IMAGES_DIR", str(MEDIA_ROOT / "local")))
# Folders whose scans, manifest files and zips web and API users may import (superusers and
# `manage.py import_manifest` may import any path). Empty: only URLs, ARKs and uploads from the web.
IMPORT_SERVER_ROOTS = envlist("IMPORT_SERVER_ROOTS", [])

# Detection: models load lazily in workers, never at import.
DETECTION_DEFAULT_DETECTOR = envstr("DETECTION_DEFAULT_DETECTOR", "centerface")
DETECTION_DEFAULT_ATTRIBUTES = envstr("DETECTION_DEFAULT_ATTRIBUTES", "onnx-age-gender")
DETECTION_MAX_DERIVATIVE = envint("DETECTION_MAX_DERIVATIVE", 2000)
# Cores one detection may use in a worker process (CenterFace's ONNX Runtime threads): 1 where a worker
# runs one process per core (docker-compose: INFERENCE_CONCURRENCY=2 on 2 cores); the cores per process
# otherwise, and a page takes about that many times less (0.91 → 0.51 s with 2 on 2 idle cores).
DETECTION_THREADS = envint("DETECTION_THREADS", 1, minimum=1)
# GET /api/runs/<id>/annotated.zip draws every page in the request: larger runs use an export.
RUN_ANNOTATED_ZIP_MAX_PAGES = envint("RUN_ANNOTATED_ZIP_MAX_PAGES", 200)
DETECTION_CHILD_AGE = envint("DETECTION_CHILD_AGE", 13)
# Off refuses new runs (a web-only deployment with no inference worker).
DETECTION_ENABLED = envbool("DETECTION_ENABLED", True)
# Tiles of the derivative, in its pixels: 300 is res10's own input size, so small faces are not squeezed.
DETECTION_TILE_SIZE = envint("DETECTION_TILE_SIZE", 300)
DETECTION_TILE_OVERLAP = envfloat("DETECTION_TILE_OVERLAP", 0.25)
# The seed's "very large detection" filter: a box over this share of the page is not a face.
# The default keeps a portrait whose face fills most of the picture; a run may set its own.
DETECTION_MAX_FACE_SHARE = envfloat("DETECTION_MAX_FACE_SHARE", 0.8)
# Boxes smaller than this many derivative pixels are noise (and too small for age/gender).
DETECTION_MIN_FACE_SIZE = envint("DETECTION_MIN_FACE_SIZE", 12)
# Celery retries of a page whose image fetch failed transiently (429, 5xx, timeouts).
DETECTION_FETCH_RETRIES = envint("DETECTION_FETCH_RETRIES", 5)

# The model loop: evaluation, retraining from curated faces, face similarity.
# A fresh evaluation from the web (POST /api/evaluation/) runs at most this many pages.
EVALUATION_MAX_PAGES = envint("EVALUATION_MAX_PAGES", 30)
# Hard and soft time limits (seconds) of a training task; a running job older than the hard one is abandoned.
TRAINING_TIME_LIMIT = envint("TRAINING_TIME_LIMIT", 4 * 3600)
# A trained model is compared with the active one only on at least this many held-out faces;
# below it the job says the data is too small and keeps the new model inactive.
TRAINING_MIN_HELD_OUT_FACES = envint("TRAINING_MIN_HELD_OUT_FACES", 50)
TRAINING_SOFT_TIME_LIMIT = envint("TRAINING_SOFT_TIME_LIMIT", 4 * 3600 - 120)
# From this many encodings in a corpus, similarity search uses the IVF index instead of exact search.
SIMILARITY_IVF_MIN = envint("SIMILARITY_IVF_MIN", 200_000)
# IVF lists searched per query: more finds more true neighbours, and costs time.
SIMILARITY_IVF_PROBES = envint("SIMILARITY_IVF_PROBES", 16)
# On-disk similarity indexes (one directory per corpus), opened memory-mapped by every web process:
# the web hosts and the worker that builds them must see the same directory (or build on each host).
SIMILARITY_INDEX_DIR = Path(envstr("SIMILARITY_INDEX_DIR", str(DATA_DIR / "similarity")))
# From this many encodings in a corpus, storing encodings queues the build of its on-disk index;
# below, the corpus is searched in each process's memory (about 51 MB per 100,000 encodings).
SIMILARITY_INDEX_MIN = envint("SIMILARITY_INDEX_MIN", 100_000)
# Encodings stored or deleted since the last build that queue a rebuild (until then they are
# searched exactly, in memory: about 0.5 MB per 1,000 per process).
SIMILARITY_INDEX_REBUILD = envint("SIMILARITY_INDEX_REBUILD", 20_000)
# On-disk index: lists searched per query, and candidates re-ranked with exact distances.
SIMILARITY_INDEX_PROBES = envint("SIMILARITY_INDEX_PROBES", 32)
SIMILARITY_INDEX_RERANK = envint("SIMILARITY_INDEX_RERANK", 100)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
}
