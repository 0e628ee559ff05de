"""The support matrix: every Python x Django pair the package claims, as Django's own ecosystem runs it.

    .venv/bin/nox -s tests          unit tests on every pair (Python 3.11-3.13, Django 5.2 LTS, 6.0, 6.1)
    .venv/bin/nox -s e2e            browser tests on the newest pair and on the LTS
    .venv/bin/nox -s full           unit and browser tests together on the newest pair (CI's last pass)
    .venv/bin/nox -s mypy           strict type check of notifications/ (newest Django's stubs)

CI (.ci/run) runs every Python and every Django at least once, the edges of the matrix, in about half the time
of all pairs: the LTS on 3.11 (its first pass, scripts/test.sh), the sessions tagged "ci" (``nox -t ci``: the
other edges' unit tests and mypy), and the newest pair with PostgreSQL and Redis (``full``). ``scripts/matrix.sh``
runs every pair.

Interpreters are found on PATH (python3.11, python3.12, python3.13); scripts/matrix.sh adds pyenv's.
"""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests", "e2e", "mypy"]
nox.options.error_on_missing_interpreters = True

# Django 6.x needs Python 3.12+; 5.2 LTS runs on 3.11-3.13. Keep in step with pyproject.toml's classifiers.
PAIRS = [
    ("3.11", "5.2"),
    ("3.12", "5.2"),
    ("3.12", "6.0"),
    ("3.12", "6.1"),
    ("3.13", "5.2"),
    ("3.13", "6.0"),
    ("3.13", "6.1"),
]
NEWEST, LTS = ("3.13", "6.1"), ("3.11", "5.2")
#: The pairs CI's matrix pass adds to LTS (its first pass) and NEWEST (its last): each Django on its other edge.
CI_PAIRS = [("3.13", "5.2"), ("3.12", "6.0"), ("3.12", "6.1")]


def install(session: nox.Session, django: str) -> None:
    session.install("-e", ".[test]", f"Django~={django}.0")


@nox.session
@nox.parametrize(("python", "django"), [nox.param(*pair, tags=["ci"] if pair in CI_PAIRS else []) for pair in PAIRS])
def tests(session: nox.Session, django: str) -> None:
    install(session, django)
    # The chaos soak's short form (tests/test_chaos.py, ~90 s of real servers) runs in CI's first and last
    # passes (scripts/test.sh, ``full``): once per edge of the matrix would add minutes and test no more.
    session.run(
        "python", "-m", "pytest", "tests", "-n", "auto", "-p", "no:cacheprovider", "-m", "not chaos", *session.posargs
    )


@nox.session
@nox.parametrize(("python", "django"), [NEWEST, LTS])
def e2e(session: nox.Session, django: str) -> None:
    install(session, django)
    session.run("python", "-m", "pytest", "e2e", "-n", "auto", "-p", "no:cacheprovider", *session.posargs)


@nox.session
@nox.parametrize(("python", "django"), [NEWEST])
def full(session: nox.Session, django: str) -> None:
    """Every test on the newest pair, the browser tests under uvicorn (the production server the deployment
    docs name; the README's test command runs them under daphne)."""
    install(session, django)
    env = {"E2E_SERVER": "uvicorn"}
    session.run("python", "-m", "pytest", "-n", "auto", "-p", "no:cacheprovider", *session.posargs, env=env)


@nox.session(python=NEWEST[0], tags=["ci"])
def mypy(session: nox.Session) -> None:
    install(session, NEWEST[1])
    session.install("mypy>=1.13", "django-stubs>=5.1")
    session.run("mypy", "notifications")
