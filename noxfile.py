"""The one task entry point: ``nox`` runs every test; see README.md for the rest.

The repository is a uv workspace (root ``pyproject.toml``; every ``packages/*`` and
``tools/testkit``), pinned by ``uv.lock``. Each session installs into its own virtualenv
with ``uv sync --no-editable --package <dist> --group test``: the package built as a
wheel, the workspace members it depends on built as wheels, and only what it declares
(its dependencies plus its ``test`` dependency group), so a missing dependency declaration
fails here and not on a user's machine. A changed dependency updates ``uv.lock`` (commit
it with the change); CI sets ``UV_LOCKED=1``, so there a stale ``uv.lock`` is an error.

Python versions: ``tests`` runs ``lucia`` and ``lucia-sqlite`` on 3.10, 3.11, 3.12 and
3.13, and every other package on 3.11 (``LUCIA_PYTHON`` changes it), as do all other
sessions; ``nox -l`` lists one ``tests`` session per package and version. On a machine
with pyenv, its installed versions are used (CI: ``~/.pyenv/versions/3.10.13`` and so on).

Each adapter's conformance suite (``packages/<adapter>/tests/test_adapter.py``) runs in
that adapter's ``tests`` session, with only that adapter and its dependencies installed;
``conformance`` runs the cross-package tests (``tests/``) with every package installed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import nox
import tomllib

ROOT = Path(__file__).parent
PACKAGES_DIR = ROOT / "packages"
PYTHONS = ("3.10", "3.11", "3.12", "3.13")
PYTHON = os.environ.get("LUCIA_PYTHON", "3.11")
FULL_MATRIX = ("lucia", "lucia-sqlite")  # tested on every version of PYTHONS; the rest on PYTHON
CORE_COVERAGE_MINIMUM = 90

nox.options.default_venv_backend = "uv"
nox.options.sessions = ["tests", "conformance"]
nox.options.reuse_existing_virtualenvs = False
# Where every service is required (CI), a Python of the matrix that is missing fails the run
# instead of skipping its sessions.
nox.options.error_on_missing_interpreters = os.environ.get("LUCIA_REQUIRE_SERVICES") == "1"


def _load(path: Path) -> dict:
    with open(path, "rb") as f:
        return tomllib.load(f)


def _pyproject(package: str) -> dict:
    return _load(PACKAGES_DIR / package / "pyproject.toml")


PACKAGES = sorted(p.parent.name for p in PACKAGES_DIR.glob("*/pyproject.toml"))


def _members() -> dict[str, dict]:
    """The workspace members' pyproject.toml tables, by distribution name."""
    found = {}
    for pattern in _load(ROOT / "pyproject.toml")["tool"]["uv"]["workspace"]["members"]:
        for pyproject in sorted(ROOT.glob(f"{pattern}/pyproject.toml")):
            project = _load(pyproject)
            found[project["project"]["name"]] = project
    return found


def _sync(session: nox.Session, packages: Iterable[str] | None, *, groups: Iterable[str] = ("test",)) -> None:
    """Install ``packages`` (``None``: every workspace member) from uv.lock into the session's virtualenv.

    Non-editable: each member is built as a wheel, freshly (``--reinstall-package``: uv would
    otherwise reuse a cached wheel of an older source tree). ``groups`` that none of the
    chosen members (or, for ``None``, the workspace root) declares are left out. The sync is
    exact: nothing else stays installed.
    """
    members = _members()
    chosen = list(members) if packages is None else list(packages)
    declared = {group for name in chosen for group in members[name].get("dependency-groups", {})}
    if packages is None:
        declared |= set(_load(ROOT / "pyproject.toml").get("dependency-groups", {}))
    venv = session.virtualenv.location
    session.run_install(
        "uv",
        "sync",
        "--no-editable",
        "--no-default-groups",
        f"--python={venv}",
        *(["--all-packages"] if packages is None else [f"--package={name}" for name in chosen]),
        *(f"--group={group}" for group in groups if group in declared),
        *(f"--reinstall-package={name}" for name in members),
        env={"UV_PROJECT_ENVIRONMENT": venv},
        external=True,
    )


def _pyenv_interpreters() -> None:
    """Let ``python3.10`` … ``python3.13`` resolve to pyenv's installed versions, if pyenv is here.

    pyenv's shims run only its active versions: the newest installed release of each version
    in PYTHONS joins them, after the active ones, so ``python3`` stays what it was.
    """
    pyenv = shutil.which("pyenv")
    versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if pyenv is None or not versions.is_dir():
        return
    active = subprocess.run([pyenv, "version-name"], capture_output=True, text=True, check=False).stdout.strip()
    if not active:
        return
    chosen = active.split(":")
    for python in PYTHONS:
        if any(v == python or v.startswith(f"{python}.") for v in chosen):
            continue
        releases = [d.name for d in versions.iterdir() if re.fullmatch(rf"{re.escape(python)}\.\d+", d.name)]
        if releases:
            chosen.append(max(releases, key=lambda name: int(name.rsplit(".", 1)[1])))
    os.environ["PYENV_VERSION"] = ":".join(chosen)


_pyenv_interpreters()


@nox.session
@nox.parametrize(
    ("python", "package"),
    [(python, package) for package in PACKAGES for python in (PYTHONS if package in FULL_MATRIX else (PYTHON,))],
)
def tests(session: nox.Session, package: str) -> None:
    """Run one package's tests (its ``test`` group holds pytest and coverage) in its own environment."""
    _sync(session, [package])
    data_file = f".coverage.{package}-{session.python}"
    args = session.posargs or [str(PACKAGES_DIR / package / "tests")]
    session.run("coverage", "run", "--data-file", data_file, "-m", "pytest", *args)
    if package == "lucia":
        session.log(f"core line coverage (minimum {CORE_COVERAGE_MINIMUM}%):")
        session.run("coverage", "report", "--data-file", data_file, f"--fail-under={CORE_COVERAGE_MINIMUM}")


@nox.session(python=PYTHON)
def conformance(session: nox.Session) -> None:
    """Cross-package tests (tests/): the suites over several adapters, end-to-end flows, the demo.

    Every workspace member is installed, with every ``test`` group (and the root's
    ``conformance`` group, if there is one). Each adapter's own conformance module runs in
    its ``tests`` session instead, where only that adapter is installed.
    """
    _sync(session, None, groups=("test", "conformance"))
    session.run("pytest", *(session.posargs or ["tests"]))


@nox.session(python=PYTHON)
def deploy(session: nox.Session) -> None:
    """Each framework's docs example app on its real server, and the schema CLI's DDL on the real databases.

    tests/deploy/: gunicorn (``--preload``, two workers), uvicorn, hypercorn and aiohttp's
    runner serve the apps in subprocesses. Every workspace member is installed, with the
    root's ``deploy`` group (the servers, every framework, the database drivers).
    """
    _sync(session, None, groups=("deploy",))
    session.run("pytest", *(session.posargs or ["tests/deploy"]))


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff: lint and formatting."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on every package's src/, and the typing tests (checked, never run)."""
    _sync(session, PACKAGES, groups=("test", "typecheck"))
    session.install("mypy>=1.11")
    for package in PACKAGES:
        session.run("mypy", "--strict", str(PACKAGES_DIR / package / "src"))
        typing_tests = PACKAGES_DIR / package / "typing_tests"
        if typing_tests.is_dir():
            session.run("mypy", "--strict", str(typing_tests))


@nox.session(python=PYTHON)
def build(session: nox.Session) -> None:
    """Build every wheel and sdist; install each wheel alone in a fresh venv and import it."""
    session.install("build>=1.2", "uv>=0.4")
    dist = ROOT / "dist"
    for package in PACKAGES:
        session.run("python", "-m", "build", "--installer", "uv", "--outdir", str(dist), str(PACKAGES_DIR / package))
    core_wheel = _wheel(dist, "lucia")
    for package in PACKAGES:
        project = _pyproject(package)["project"]
        module = package.replace("-", "_")
        venv = Path(session.create_tmp()) / f"alone-{package}"
        session.run("uv", "venv", "-q", "--python", sys.executable, str(venv), external=True)
        python = str(venv / "bin" / "python")
        wheels = [str(_wheel(dist, package))]
        if package != "lucia" and any(r.startswith("lucia") for r in project.get("dependencies", [])):
            wheels.insert(0, str(core_wheel))
        session.run("uv", "pip", "install", "-q", "--python", python, *wheels, external=True)
        session.run(python, "-c", f"import {module}; print({module}.__name__, {module}.__version__)", external=True)


def _wheel(dist: Path, package: str) -> Path:
    name = package.replace("-", "_")
    version = re.search(
        r'^__version__ = "([^"]+)"', (PACKAGES_DIR / package / "src" / name / "_version.py").read_text(), re.M
    )
    assert version is not None
    return dist / f"{name}-{version.group(1)}-py3-none-any.whl"


@nox.session(python=PYTHON)
def demo(session: nox.Session) -> None:
    """Start the demo app at http://127.0.0.1:8000 (SQLite by default; DATABASE_URL switches)."""
    _sync(session, PACKAGES, groups=("demo",))
    session.install(*DEMO_REQUIREMENTS)
    session.run("python", "-m", "docs.examples.demo", *session.posargs)


# What the demo app (docs/examples/demo/) needs besides our packages; `conformance` gets
# jinja2 and segno from the root's `conformance` group (tests/test_demo.py runs the demo).
DEMO_REQUIREMENTS = ("uvicorn>=0.30", "starlette>=0.37", "python-multipart>=0.0.9", "jinja2>=3.1", "segno>=1.6")


@nox.session(python=PYTHON)
def browser(session: nox.Session) -> None:
    """The demo in Chromium (tests/browser/): Playwright drives Debian's /usr/bin/chromium, on SQLite then PostgreSQL.

    Playwright never downloads a browser here: install Chromium with ``apt-get install chromium``
    (``LUCIA_CHROMIUM`` points elsewhere). Screenshots go to build/browser-screenshots/.
    """
    _sync(
        session,
        ["lucia-sqlite", "lucia-postgresql", "lucia-tokens", "lucia-oauth", "lucia-webauthn", "lucia-testkit"],
        groups=(),
    )
    session.install(*DEMO_REQUIREMENTS, "pytest>=8", "playwright>=1.45", "pyotp>=2.9", "psycopg[binary]>=3.1.12")
    session.run("pytest", *(session.posargs or ["tests/browser"]), env={"PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"})


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Our hot paths next to the raw driver doing the same work, in one run: prints ratios."""
    _sync(session, PACKAGES, groups=("test", "bench"))
    scripts = sorted((ROOT / "tools" / "bench").glob("bench_*.py"))
    wanted = set(session.posargs)
    for script in scripts:
        if not wanted or script.stem.removeprefix("bench_") in wanted:
            session.run("python", str(script))


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the MkDocs site into site/ strictly (broken links fail), then check the API reference.

    Material for MkDocs and mkdocstrings, which reads the packages' source (nothing is
    imported, so no package is installed); tests/docs/test_api_reference.py then checks
    that every name of every public ``__all__`` is in the built site.
    """
    session.install("mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings>=0.26", "mkdocstrings-python>=1.12")
    session.install("ruff>=0.6", "pytest>=8")  # ruff formats the signatures; pytest runs the check
    site = ROOT / "site"
    session.run("mkdocs", "build", "--strict", "--site-dir", str(site), env={"NO_MKDOCS_2_WARNING": "1"})
    session.run("pytest", "tests/docs/test_api_reference.py", env={"LUCIA_DOCS_SITE": str(site)})


@nox.session(python=PYTHON)
def interop(session: nox.Session) -> None:
    """A real Lucia-JS 1.x app (Node 20, npm) and Lucia on one PostgreSQL; the migration guide, run."""
    from shutil import which

    interop_dir = ROOT / "tests" / "interop"
    npm, node = which("npm"), which("node")
    if npm is None or node is None:
        message = "node and npm are needed for the Lucia-JS interop tests (tests/interop)"
        if os.environ.get("LUCIA_REQUIRE_SERVICES") == "1":
            session.error(message)
        session.skip(message)
    _sync(session, ["lucia-postgresql", "lucia-testkit"], groups=())
    session.install("pytest>=8", "psycopg[binary]>=3.1.12")
    # node_modules/ is gitignored: the versions come from the committed package-lock.json.
    session.run(npm, "ci", "--prefix", str(interop_dir), "--no-audit", "--no-fund", external=True)
    session.run("pytest", *(session.posargs or [str(interop_dir)]))
