"""With no environment Visages runs with DEBUG off: commands still run bare, a web server demands SECRET_KEY."""

import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRINT = "from django.conf import settings; print(settings.DEBUG, settings.SECRET_KEY)"


def bare(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run Python in the checkout with an empty environment (but for where its data goes)."""
    clean = {"PATH": "/usr/bin:/bin", "VISAGES_DATA_DIR": str(tmp_path / "data"), **env}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120, check=False
    )


def test_debug_is_off_with_no_environment_and_commands_still_run(tmp_path):
    first = bare(tmp_path, "manage.py", "shell", "-c", PRINT)
    again = bare(tmp_path, "manage.py", "shell", "-c", PRINT)
    check = bare(tmp_path, "manage.py", "check")

    assert first.returncode == 0, first.stderr
    debug, key = first.stdout.splitlines()[-1].split()
    assert debug == "False"
    assert len(key) >= 50 and "insecure" not in key
    same = again.stdout.splitlines()[-1] == first.stdout.splitlines()[-1]
    assert same, "the generated key stays the same between runs of one checkout"
    assert check.returncode == 0, check.stderr


def test_the_generated_key_is_readable_by_its_owner_only(tmp_path):
    assert bare(tmp_path, "manage.py", "check").returncode == 0

    (secret,) = (tmp_path / "data").glob("*secret*")
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_a_web_server_with_debug_off_demands_a_secret_key(tmp_path):
    refused = bare(tmp_path, "-c", "import webapp.wsgi")
    served = bare(tmp_path, "-c", "import webapp.wsgi", SECRET_KEY="k" * 50)
    development = bare(tmp_path, "-c", "import webapp.wsgi", DEBUG="1")

    assert refused.returncode != 0 and "SECRET_KEY must be set" in refused.stderr
    assert served.returncode == 0, served.stderr
    assert development.returncode == 0, development.stderr


def test_a_web_process_takes_what_it_loaded_out_of_full_garbage_collections(tmp_path):
    code = "import gc, webapp.wsgi; print(gc.get_freeze_count())"
    served = bare(tmp_path, "-c", code, SECRET_KEY="k" * 50)

    assert served.returncode == 0, served.stderr
    assert int(served.stdout.splitlines()[-1]) > 10_000


def test_an_explicit_debug_still_turns_it_on(tmp_path):
    result = bare(tmp_path, "manage.py", "shell", "-c", PRINT, DEBUG="1")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split()[0] == "True"


def test_a_retention_below_its_minimum_is_refused_by_name(tmp_path):
    refused = bare(tmp_path, "manage.py", "check", INFERENCE_JOB_RETENTION_DAYS="0")
    kept = bare(tmp_path, "manage.py", "check", INFERENCE_JOB_RETENTION_DAYS="1")

    assert refused.returncode != 0
    assert "INFERENCE_JOB_RETENTION_DAYS must be at least 1, got 0" in refused.stderr
    assert kept.returncode == 0, kept.stderr


def test_a_worker_looks_for_a_dead_worker_s_tasks_every_tenth_of_the_visibility_timeout():
    """kombu sweeps for them every 10 s but scans only one sweep in ten: a task lost with its worker came
    back up to 100 s after its visibility timeout."""
    from webapp.celery import app
    from webapp.settings import redis_transport_options

    options = app.conf.broker_transport_options
    assert options["unacked_restore_throttle"] == 1
    assert options["unacked_restore_interval"] <= max(1, options["visibility_timeout"] / 10)
    assert redis_transport_options(22)["unacked_restore_interval"] == 2
    assert redis_transport_options(1440)["unacked_restore_interval"] == 10
    assert redis_transport_options(5)["unacked_restore_interval"] == 1
