"""The image's build step: collectstatic with DEBUG off (hashed, compressed files) must succeed.

WhiteNoise's manifest storage rewrites every `sourceMappingURL` it finds and fails when the map
file is missing, which stopped `docker build` at `collectstatic`.
"""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_collectstatic_with_debug_off_succeeds_and_hashes_the_vendored_files(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "webapp.settings",
        "DEBUG": "0",
        "SECRET_KEY": "collectstatic-only",
        "STATIC_ROOT": str(tmp_path / "static"),
        "VISAGES_DATA_DIR": str(tmp_path / "data"),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = (tmp_path / "static" / "staticfiles.json").read_text()
    assert "frontend/vendor/openseadragon/openseadragon.min.js" in manifest
    assert "frontend/vendor/chartjs/chart.umd.min.js" in manifest
