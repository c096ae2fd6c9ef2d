"""Every environment variable settings.py reads is listed in .env.example, and only settings.py reads env."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_variable_read_by_settings_is_in_env_example():
    source = (ROOT / "webapp" / "settings.py").read_text()
    read = set(re.findall(r'(?:env\w*|os\.getenv)\(\s*"([A-Z0-9_]+)"', source))
    listed = set(re.findall(r"^([A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), flags=re.M))
    assert read, "the pattern found the settings' variables"
    assert read - listed == set()


def test_only_settings_reads_the_environment():
    files = subprocess.run(
        ["git", "grep", "-lE", r"os\.(getenv|environ\.get)\(", "--", "*.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.split()
    # tests/support/fixed_cost.py: the fake detector's cost per page, which a bench sets for its worker processes.
    allowed = {"webapp/settings.py", "tests/support/fixtures.py", "tests/support/fixed_cost.py"}
    assert [f for f in files if f not in allowed and not f.startswith(("bench/", "manage.py"))] == []
