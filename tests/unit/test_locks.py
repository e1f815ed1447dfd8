"""Installs are hash-locked (issue 16, item 2).

Every install CI and the delivery jobs make reads a ``*.lock`` file with ``--require-hashes``:
"Hashes are required for all requirements ... a malicious actor could slip bad code into the
installation via one of the unhashed requirements" (pip docs, "Secure installs", hash-checking
mode); OpenSSF Scorecard's Pinned-Dependencies check flags a ``pip install`` that is not
hash-pinned (ossf/scorecard ``docs/checks.md``, "Pinned-Dependencies"). The locks are written by
``scripts/lock.sh`` (``uv pip compile --universal --generate-hashes``) from the pins of the
``requirements*.txt`` files; this test fails when a lock line has no hash, when a lock disagrees
with a pin, when the runtime lock carries a development tool, and when an install in the
workflows, the composite action or the scripts skips ``--require-hashes`` or a lock.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCKS = {
    "requirements-pip.lock": "requirements-pip.txt",
    "requirements.lock": "requirements.txt",
    "requirements-dev.lock": "requirements-dev.txt",
    "policy/requirements.lock": "policy/requirements.txt",
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")
DEV_ONLY = ("pytest", "ruff", "mypy", "zizmor", "hypothesis", "uv", "kubernetes-validate")
INSTALL_FILES = [
    ROOT / "scripts" / "bootstrap.sh",
    ROOT / ".github" / "actions" / "prepare" / "action.yml",
    *sorted((ROOT / ".github" / "workflows").glob("*.yml")),
]


def normalise(name: str) -> str:
    """PEP 503 name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_entries(text: str) -> list[tuple[str, str, list[str]]]:
    """(name, version, hashes) of every requirement of a lock (continuation lines joined)."""
    logical = re.sub(r"\\\n", " ", text)
    entries = []
    for line in logical.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        entries.append(
            (normalise(match.group(1)) if match else line, match.group(2) if match else "", HASH.findall(line))
        )
    return entries


def lock_problems(text: str) -> list[str]:
    """Lines of a lock that are not ``name==version`` with at least one sha256 hash."""
    return [
        f"{name}: not pinned with == and --hash=sha256"
        for name, version, hashes in lock_entries(text)
        if not (version and hashes)
    ]


def pins(path: Path) -> dict[str, str]:
    """``name == version`` pins of a requirements file and the files it includes (``-r``)."""
    found: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line.startswith("-r "):
            found.update(pins((path.parent / line[3:].strip()).resolve()))
        elif match := PIN.match(line):
            found[normalise(match.group(1))] = match.group(2)
    return found


def pin_problems(lock_text: str, wanted: dict[str, str]) -> list[str]:
    locked = {name: version for name, version, _ in lock_entries(lock_text)}
    return [
        f"{name}: requirements pin {version}, lock {locked.get(name, 'missing')}"
        for name, version in sorted(wanted.items())
        if locked.get(name) != version
    ]


def unlocked_installs(text: str) -> list[str]:
    """``pip install`` commands without ``--require-hashes`` or reading no ``.lock`` file."""
    logical = re.sub(r"\\\n", " ", text)
    problems = []
    for line in logical.splitlines():
        if re.search(r"\bpip[0-9.]*\s+install\b|\"\$\{pip\[@\]\}\"", line) is None:
            continue
        if "pip=(" in line:  # the bootstrap's command array: checked where it is defined
            if "--require-hashes" not in line:
                problems.append(line.strip())
            continue
        if ("--require-hashes" not in line and '"${pip[@]}"' not in line) or not re.search(
            r"-r\s+\S*\.lock\b|-r\s+\"[^\"]*\.lock\"|-r\s+\"\$lock\"", line
        ):
            problems.append(line.strip())
    return problems


# --------------------------------------------------------------------------- the repository's locks


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_requirement_is_pinned_and_hashed(lock: str) -> None:
    text = (ROOT / lock).read_text()
    assert len(lock_entries(text)) >= 1
    assert lock_problems(text) == []


@pytest.mark.parametrize(("lock", "source"), LOCKS.items())
def test_each_lock_agrees_with_the_pins_it_was_made_from(lock: str, source: str) -> None:
    """Run scripts/lock.sh after changing a pin."""
    assert pin_problems((ROOT / lock).read_text(), pins(ROOT / source)) == []


def test_the_runtime_lock_holds_no_development_tool() -> None:
    """The delivery jobs install requirements.lock only: no test or lint tool beside the OIDC token."""
    locked = {name for name, _, _ in lock_entries((ROOT / "requirements.lock").read_text())}
    assert locked.isdisjoint(DEV_ONLY)
    assert "pulumi-kubernetes" in locked and "pytest" in {
        name for name, _, _ in lock_entries((ROOT / "requirements-dev.lock").read_text())
    }


def test_requirements_pin_pulumi_kubernetes_4_25() -> None:
    """The toolchain builds the plugin of this release (issue 15.2)."""
    assert pins(ROOT / "requirements.txt")["pulumi-kubernetes"] == "4.25.0"


@pytest.mark.parametrize("path", INSTALL_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_install_is_hash_locked(path: Path) -> None:
    assert unlocked_installs(path.read_text()) == []


def test_the_delivery_jobs_install_the_runtime_set_and_pip_is_pinned() -> None:
    action = (ROOT / ".github" / "actions" / "prepare" / "action.yml").read_text()
    assert "scripts/bootstrap.sh --runtime" in action
    bootstrap = (ROOT / "scripts" / "bootstrap.sh").read_text()
    assert "--upgrade" not in bootstrap and "requirements-pip.lock" in bootstrap
    assert pins(ROOT / "requirements-pip.txt").keys() == {"pip"}


# --------------------------------------------------------------------------- the checks fail on bad input


def test_the_lock_check_fails_on_an_unhashed_or_unpinned_line() -> None:
    good = "six==1.17.0 \\\n    --hash=sha256:" + "a" * 64 + "\n    # via x\n"
    assert lock_problems(good) == []
    assert lock_problems(good + "requests==2.34.2\n") == ["requests: not pinned with == and --hash=sha256"]
    assert lock_problems("requests>=2\n") == ["requests>=2: not pinned with == and --hash=sha256"]
    assert pin_problems(good, {"six": "1.16.0"}) == ["six: requirements pin 1.16.0, lock 1.17.0"]
    assert pin_problems(good, {"pip": "26.3"}) == ["pip: requirements pin 26.3, lock missing"]


@pytest.mark.parametrize(
    "command",
    [
        "python -m pip install -r requirements.txt",
        "python -m pip install --upgrade pip",
        "pip install --require-hashes -r requirements.txt",
        '"$POLICY_DIR/.venv/bin/python" -m pip install --quiet -r "$POLICY_DIR/requirements.lock"',
        "pip=(.venv/bin/python -m pip install --quiet)",
    ],
)
def test_the_install_check_fails_on_an_unlocked_install(command: str) -> None:
    assert unlocked_installs(f"run: |\n  {command}\n") != []
