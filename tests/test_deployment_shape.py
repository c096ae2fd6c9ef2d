"""docker-compose.yml and the Dockerfile hold the production shape (no Docker engine here to run them).

These read the files as Compose and the image would, and fail when a service, health check,
persistent volume, queue or documented variable goes missing.
"""

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["web", "worker", "worker-inference", "worker-training"]
DOCKERFILE = (ROOT / "Dockerfile").read_text()


def command(service: str) -> list[str]:
    value = SERVICES[service]["command"]
    return value if isinstance(value, list) else shlex.split(value)


def option(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_the_production_services_are_all_there():
    assert set(SERVICES) >= {"web", "worker", "worker-inference", "beat", "redis", "db"}


@pytest.mark.parametrize("service", [*APP_SERVICES, "beat"])
def test_app_services_wait_for_a_healthy_database_and_broker(service):
    assert SERVICES[service]["depends_on"] == {
        "db": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }
    environment = SERVICES[service]["environment"]
    assert environment["DATABASE_URL"].startswith("postgres://") and "@db:5432/" in environment["DATABASE_URL"]
    assert environment["REDIS_URL"].startswith("redis://redis:6379/")


@pytest.mark.parametrize("service", ["web", "redis", "db"])
def test_services_others_wait_for_have_health_checks(service):
    check = SERVICES[service]["healthcheck"]
    assert check["test"] and check["retries"] >= 1


def test_the_web_health_check_asks_healthz_with_a_tool_the_image_has():
    assert "http://localhost:8000/healthz" in SERVICES["web"]["healthcheck"]["test"]
    assert "curl" in SERVICES["web"]["healthcheck"]["test"]
    assert re.search(r"apt-get install[^\n]*\bcurl\b", DOCKERFILE)


def test_redis_and_postgresql_keep_their_data_in_named_volumes():
    assert option(command("redis"), "--appendonly") == "yes"
    assert "redis:/data" in SERVICES["redis"]["volumes"]
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["db"]["volumes"]
    assert {"redis", "pgdata", "media"} <= set(COMPOSE["volumes"])


def test_the_database_password_has_no_default():
    assert SERVICES["db"]["environment"]["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")


def test_every_queue_the_app_routes_to_has_a_worker():
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    consumed = set()
    for service in APP_SERVICES[1:]:
        consumed |= set(option(command(service), "-Q").split(","))
    assert routed <= consumed


def test_inference_workers_take_one_task_at_a_time_and_recycle_children_by_memory():
    args = command("worker-inference")
    assert option(args, "-Q") == "inference"
    assert option(args, "--prefetch-multiplier") == "1"
    assert "--max-memory-per-child" in args


def test_the_image_migrates_then_serves_with_gunicorn_and_whitenoise():
    cmd = DOCKERFILE.split("CMD", 1)[1]
    assert cmd.index("manage.py migrate --noinput") < cmd.index("gunicorn webapp.wsgi:application")
    assert "collectstatic --noinput" in DOCKERFILE
    assert "whitenoise.middleware.WhiteNoiseMiddleware" in settings.MIDDLEWARE
    assert "USER visages" in DOCKERFILE, "the app does not run as root"


def test_one_beat_service_runs_the_periodic_tasks_and_a_worker_consumes_them():
    args = command("beat")
    assert args[:4] == ["celery", "-A", "webapp", "beat"]
    assert option(args, "--schedule").startswith("/data/"), "beat keeps its schedule in the data volume"
    consumed = set()
    for service in APP_SERVICES[1:]:
        consumed |= set(option(command(service), "-Q").split(","))
    routes = settings.CELERY_TASK_ROUTES
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        route = routes.get(entry["task"]) or routes[entry["task"].rsplit(".", 1)[0] + ".*"]
        assert route["queue"] in consumed, entry["task"]


def test_the_local_run_script_starts_beat_and_stops_it_with_the_rest():
    script = (ROOT / "scripts" / "run.sh").read_text()
    beat = re.search(r"^\.venv/bin/celery -A webapp beat .*?\n(.*)$", script, re.M | re.S)
    assert beat, "run.sh starts celery beat"
    assert beat.group(1).lstrip().startswith("pids+=($!)"), "its pid is kept, so Ctrl-C stops it"
    assert '--schedule "$VISAGES_DATA_DIR/' in beat.group(0)


def test_every_variable_compose_and_the_image_read_is_in_env_example():
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    text = (ROOT / "docker-compose.yml").read_text() + DOCKERFILE
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", text))
    assert used and used <= documented, sorted(used - documented)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mysql", "unknown database 'mysql'"),
        ("sqlite postgresql", "unknown database 'postgresql'"),
        (" ", "names no database"),
    ],
)
def test_the_test_command_refuses_a_database_it_does_not_run(value, message):
    # Before installing or starting anything: a misspelt pass is not a run that tested nothing.
    finished = subprocess.run(
        ["bash", str(ROOT / "scripts" / "test.sh")],
        env={**os.environ, "TEST_DATABASES": value},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert finished.returncode == 2
    assert message in finished.stderr
