"""The one task entry point: ``nox`` runs every test; see README.md for the rest.

Each package is tested in its own virtualenv holding only what it declares (its
dependencies plus its ``test`` dependency group), installed from a built wheel,
so a missing dependency declaration fails here and not on a user's machine.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nox
import tomllib

ROOT = Path(__file__).parent
PACKAGES_DIR = ROOT / "packages"
PYTHON = os.environ.get("LUCIA_PYTHON", f"{sys.version_info.major}.{sys.version_info.minor}")
CORE_COVERAGE_MINIMUM = 90

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "conformance"]
nox.options.reuse_existing_virtualenvs = False


def _pyproject(package: str) -> dict:
    with open(PACKAGES_DIR / package / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


PACKAGES = sorted(p.parent.name for p in PACKAGES_DIR.glob("*/pyproject.toml"))
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def _requirement_args(requirements: list[str]) -> list[str]:
    """Install arguments: local distributions by path, the rest by requirement."""
    args: list[str] = []
    for requirement in requirements:
        match = _NAME.match(requirement)
        name = match.group(0).lower().replace("_", "-") if match else ""
        args.append(str(PACKAGES_DIR / name) if name in PACKAGES else requirement)
    return args


def _install(session: nox.Session, packages: list[str], *, groups: tuple[str, ...] = ("test",)) -> None:
    """Install local packages (built as wheels), their local dependencies and dependency groups."""
    wanted: list[str] = []
    pending = list(packages)
    extra: list[str] = []
    while pending:
        package = pending.pop()
        if package in wanted:
            continue
        wanted.append(package)
        project = _pyproject(package)
        for requirement in project["project"].get("dependencies", []):
            arg = _requirement_args([requirement])[0]
            if arg.startswith(str(PACKAGES_DIR)):
                pending.append(Path(arg).name)
        for group in groups:
            for arg in _requirement_args(project.get("dependency-groups", {}).get(group, [])):
                if arg.startswith(str(PACKAGES_DIR)):
                    pending.append(Path(arg).name)
                else:
                    extra.append(arg)
    session.install(*(str(PACKAGES_DIR / p) for p in wanted), *extra)


@nox.session(python=PYTHON)
@nox.parametrize("package", PACKAGES)
def tests(session: nox.Session, package: str) -> None:
    """Run one package's tests in its own environment (``nox -s tests``, all packages)."""
    _install(session, [package])
    session.install("coverage[toml]>=7.4")
    args = session.posargs or [str(PACKAGES_DIR / package / "tests")]
    session.run("coverage", "run", "--data-file", ".coverage." + package, "-m", "pytest", *args)
    if package == "lucia":
        session.log(f"core line coverage (minimum {CORE_COVERAGE_MINIMUM}%):")
        session.run(
            "coverage",
            "report",
            "--data-file",
            ".coverage." + package,
            f"--fail-under={CORE_COVERAGE_MINIMUM}",
        )


@nox.session(python=PYTHON)
def conformance(session: nox.Session) -> None:
    """Cross-package tests: the conformance suite over every adapter, end-to-end flows, the demo."""
    _install(session, PACKAGES)
    groups = _pyproject_root().get("dependency-groups", {}).get("conformance", [])
    if groups:
        session.install(*_requirement_args(groups))
    # Every adapter's conformance module runs again here, beside the cross-package tests,
    # with every package installed together (SPEC §4: top-level tests cover every adapter).
    suites = sorted(str(p) for p in PACKAGES_DIR.glob("lucia-*/tests/test_adapter.py"))
    session.run("pytest", *(session.posargs or ["tests", *suites]))


def _pyproject_root() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Ruff: lint and formatting."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on every package's src/, and the typing tests (checked, never run)."""
    _install(session, PACKAGES, groups=("test", "typecheck"))
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
    _install(session, PACKAGES, groups=("demo",))
    session.install("uvicorn>=0.30", "starlette>=0.37", "python-multipart>=0.0.9")
    session.run("python", "-m", "docs.examples.demo", *session.posargs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Our hot paths next to the raw driver doing the same work, in one run: prints ratios."""
    _install(session, PACKAGES, groups=("test", "bench"))
    scripts = sorted((ROOT / "tools" / "bench").glob("bench_*.py"))
    wanted = set(session.posargs)
    for script in scripts:
        if not wanted or script.stem.removeprefix("bench_") in wanted:
            session.run("python", str(script))


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Build the MkDocs site strictly (broken links fail)."""
    session.install("mkdocs>=1.6")
    session.run("mkdocs", "build", "--strict", "--site-dir", str(ROOT / "site"))


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
    _install(session, ["lucia-postgresql"], groups=())
    session.install("pytest>=8", "psycopg[binary]>=3.1.12")
    # node_modules/ is gitignored: the versions come from the committed package-lock.json.
    session.run(npm, "ci", "--prefix", str(interop_dir), "--no-audit", "--no-fund", external=True)
    session.run("pytest", *(session.posargs or [str(interop_dir)]))
