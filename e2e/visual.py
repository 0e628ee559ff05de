"""Screenshot comparison for the browser tests (Pillow), and ``pytest --update-references``.

A pytest plugin: register it once with ``pytest_plugins = ["e2e.visual"]`` in the root ``conftest.py`` (or
pass ``-p e2e.visual``). Tests then take the ``references`` fixture::

    def test_designer_sees_the_empty_bar(page, references):
        references.assert_matches("state-empty", page.locator("#state-empty").screenshot(animations="disabled"))

The reference is ``e2e/reference/<name>.png``. A pixel differs when one of its channels differs by more than
:data:`CHANNEL_THRESHOLD` (0-255; anti-aliasing noise stays below); the check fails when more than
:data:`MAX_DIFF_RATIO` of the pixels differ, or when the sizes differ. On failure ``e2e-artifacts/<test>/``
(the folder pytest-playwright keeps the trace in) gets ``<name>-actual.png``, ``<name>-expected.png`` and
``<name>-diff.png`` (differing pixels in red over a faded copy of the reference).

After an intended design change, ``pytest e2e/test_visual_references.py --update-references`` rewrites the
references that differ beyond the tolerance (and creates missing ones); references within it stay untouched,
so a re-run changes no file. Review the new images in the diff before committing them.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PIL import Image, ImageChops

REFERENCES = Path(__file__).resolve().parent / "reference"
# Same machine, same Chromium: repeated screenshots differ in 0 pixels (measured). The tolerance still has to
# catch small regressions: a recoloured badge is ~0.15 % of a section, a changed word ~0.1 %.
CHANNEL_THRESHOLD = 16
MAX_DIFF_RATIO = 0.0005
UPDATE_OPTION = "--update-references"

_updated = pytest.StashKey[list[Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("visual").addoption(
        UPDATE_OPTION,
        action="store_true",
        default=False,
        help="write e2e/reference/*.png from this run's screenshots (only those beyond the tolerance or missing)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_updated] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    updated = config.stash.get(_updated, [])
    if updated:
        terminalreporter.section("visual references written")
        for path in updated:
            terminalreporter.line(str(path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path))


@dataclass(frozen=True)
class Difference:
    """How two images of one size differ: ``mask`` is 255 where a pixel differs, else 0."""

    differing: int
    total: int
    mask: Image.Image

    @property
    def ratio(self) -> float:
        return self.differing / self.total if self.total else 0.0


def compare(actual: Image.Image, expected: Image.Image, threshold: int = CHANNEL_THRESHOLD) -> Difference:
    """Count the pixels whose largest channel difference exceeds ``threshold`` (images of the same size)."""
    if actual.size != expected.size:
        raise ValueError(f"sizes differ: {actual.size} vs {expected.size}")
    r, g, b = ImageChops.difference(actual.convert("RGB"), expected.convert("RGB")).split()
    largest = ImageChops.lighter(ImageChops.lighter(r, g), b)
    mask = largest.point(lambda value: 255 if value > threshold else 0)
    return Difference(differing=mask.histogram()[255], total=actual.width * actual.height, mask=mask)


def diff_image(expected: Image.Image, difference: Difference) -> Image.Image:
    """A faded grey copy of the reference with the differing pixels in red."""
    faded = Image.blend(expected.convert("L").convert("RGB"), Image.new("RGB", expected.size, "white"), 0.6)
    faded.paste((230, 0, 0), mask=difference.mask)
    return faded


def load(png: bytes | Path) -> Image.Image:
    with Image.open(io.BytesIO(png) if isinstance(png, bytes) else png) as image:
        return image.convert("RGB")


def differs(a: bytes | Image.Image, b: bytes | Image.Image, max_ratio: float = MAX_DIFF_RATIO) -> bool:
    """True when two screenshots differ beyond the tolerance (or in size)."""
    first = load(a) if isinstance(a, bytes) else a
    second = load(b) if isinstance(b, bytes) else b
    return first.size != second.size or compare(first, second).ratio > max_ratio


@dataclass
class References:
    """``assert_matches(name, png)``: this test's screenshots against ``e2e/reference/<name>.png``."""

    artifacts: Path
    update: bool
    updated: list[Path] = field(default_factory=list)
    folder: Path = REFERENCES

    def path(self, name: str) -> Path:
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", name):
            raise ValueError(f"reference names are lower-case file names, not {name!r}")
        return self.folder / f"{name}.png"

    def assert_matches(self, name: str, png: bytes, max_ratio: float = MAX_DIFF_RATIO) -> None:
        __tracebackhide__ = True
        actual = load(png)
        reference = self.path(name)
        expected = load(reference) if reference.exists() else None
        if self.update:
            if expected is None or differs(actual, expected, max_ratio):
                reference.parent.mkdir(parents=True, exist_ok=True)
                actual.save(reference, optimize=True)
                self.updated.append(reference)
            return
        if expected is None:
            self._keep(name, actual)
            pytest.fail(f"no reference image {reference}: run pytest with {UPDATE_OPTION} to create it")
        if actual.size != expected.size:
            self._keep(name, actual, expected)
            pytest.fail(
                f"{name}: the screenshot is {actual.size[0]}x{actual.size[1]}, the reference "
                f"{expected.size[0]}x{expected.size[1]} (artifacts in {self.artifacts}; after an intended "
                f"change: {UPDATE_OPTION})"
            )
        difference = compare(actual, expected)
        if difference.ratio > max_ratio:
            self._keep(name, actual, expected, diff_image(expected, difference))
            pytest.fail(
                f"{name}: {difference.differing} of {difference.total} pixels differ ({difference.ratio:.3%} > "
                f"{max_ratio:.3%}); see {self.artifacts}/{name}-diff.png (after an intended change: "
                f"{UPDATE_OPTION})"
            )

    def _keep(
        self,
        name: str,
        actual: Image.Image,
        expected: Image.Image | None = None,
        diff: Image.Image | None = None,
    ) -> None:
        self.artifacts.mkdir(parents=True, exist_ok=True)
        for suffix, image in (("actual", actual), ("expected", expected), ("diff", diff)):
            if image is not None:
                image.save(self.artifacts / f"{name}-{suffix}.png")


@pytest.fixture
def references(request: pytest.FixtureRequest, output_path: str) -> References:
    """Compare screenshots with e2e/reference/ (``output_path``: pytest-playwright's per-test artifact folder)."""
    refs = References(artifacts=Path(output_path), update=request.config.getoption(UPDATE_OPTION))
    refs.updated = request.config.stash[_updated]
    return refs
