"""Real Celery worker processes (and a private Redis) for end-to-end and fault tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.db import connection


def redis_answers(url: str) -> bool:
    """True when a Redis server answers PING at this URL."""
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def database_url() -> str:
    """The test database, as a URL a separate process can open (the SQLite test DB is a file)."""
    db = connection.settings_dict
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


class WorkerProcess:
    """A `celery worker` subprocess sharing the test's database and, unless given its own data dir, its files.

    With `data_dir`, the worker stands for another machine: its VISAGES_DATA_DIR is that folder and it
    shares nothing on disk with the test (media, local scans and caches resolve under it); only the
    database and Redis are shared. `app` names the Celery app module (a test's fake models register there).
    """

    def __init__(
        self,
        log_path: Path,
        *,
        broker_url: str,
        queues: str = "inference,default",
        extra_env=None,
        data_dir: Path | None = None,
        app: str = "webapp",
    ):
        self.log_path = log_path
        env = {**os.environ, "DATABASE_URL": database_url(), "CELERY_BROKER_URL": broker_url}
        if data_dir is None:
            env["MEDIA_ROOT"] = str(settings.MEDIA_ROOT)
            env["LOCAL_IMAGES_DIR"] = str(settings.LOCAL_IMAGES_DIR)
            env["IIIF_CACHE_DIR"] = str(settings.IIIF_CACHE_DIR)
            env["IIIF_DERIVATIVE_DIR"] = str(settings.IIIF_DERIVATIVE_DIR)
        else:
            for name in ("MEDIA_ROOT", "LOCAL_IMAGES_DIR", "IIIF_CACHE_DIR", "IIIF_DERIVATIVE_DIR"):
                env.pop(name, None)
            env["VISAGES_DATA_DIR"] = str(data_dir)
        env = {**env, "DETECTION_MAX_DERIVATIVE": str(settings.DETECTION_MAX_DERIVATIVE), **(extra_env or {})}
        command = [sys.executable, "-m", "celery", "-A", app, "worker", "-Q", queues, "-c", "1"]
        command += ["-l", "info", "-n", f"test-{uuid.uuid4().hex[:8]}@%h", "--without-gossip", "--without-mingle"]
        with open(log_path, "a") as log:
            # Its own process group, so a kill reaches the pool children as well.
            self.process = subprocess.Popen(
                command, cwd=settings.BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def log_tail(self) -> str:
        return self.log_path.read_text()[-4000:]

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole worker: no warm shutdown, no acknowledgement of running tasks."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if not self.alive():
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A private redis-server with an append-only file, which a test may stop and restart."""

    def __init__(self, directory: Path) -> None:
        self.binary = shutil.which("redis-server")
        self.directory = directory
        self.port = _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory)]
        command += ["--appendonly", "yes", "--appendfsync", "always", "--save", ""]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not redis_answers(self.url):
            if time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
