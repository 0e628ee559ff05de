"""Queries on rendered HTML for the unit tests: what a frame or a page means, not how a template spells it.

Tests read ids, ``data-`` attributes, text, the targets of out-of-band swaps, links and ARIA attributes: the
contracts (docs: DESIGN.md). They never read class names, wrappers, element names or attribute order and
quoting, which designers change at will (tests/test_restyled.py runs the rendering tests against restyled
partials to keep it so). Standard library only (``html.parser``)::

    badge(frame)                    # 3: the text of #notification-count
    items(frame)                    # [(12, "false"), (9, "true")]: (pk, data-read) of the items, in order
    swaps(frame)                    # ["innerHTML:#notification-count-slot", ...]: the out-of-band swaps
    by_id(frame, "notification-status").attrs["data-live"]
    text_of(frame)                  # all the text, whitespace collapsed
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Final

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Present:
    """``ANY``: an attribute that is there, with whatever value (or none)."""

    def __repr__(self) -> str:
        return "ANY"


ANY: Final = _Present()

AttrQuery = str | None | _Present


@dataclass(eq=False)
class Element:
    """One element: its tag, its attributes (in any order), its text (its descendants' too), its place."""

    tag: str
    attrs: dict[str, str | None]
    text: str = ""
    position: int = 0
    """Its index in document order (compare two elements' positions to check their order)."""
    ancestors: tuple[Element, ...] = ()
    """The elements it is inside, the nearest first."""

    @property
    def id(self) -> str | None:
        return self.attrs.get("id")

    @property
    def words(self) -> str:
        """Its text with the whitespace collapsed."""
        return " ".join(self.text.split())

    def matches(self, tag: str | None = None, **attrs: AttrQuery) -> bool:
        return (tag is None or self.tag == tag) and all(
            name in self.attrs if value is ANY else self.attrs.get(name, False) == value
            for name, value in _names(attrs).items()
        )

    def closest(self, tag: str | None = None, **attrs: AttrQuery) -> Element | None:
        """The nearest element it is inside that matches (like the DOM's ``closest``, itself excluded)."""
        return next((e for e in self.ancestors if e.matches(tag, **attrs)), None)


def _names(attrs: dict[str, AttrQuery]) -> dict[str, AttrQuery]:
    """Keyword names to attribute names: ``data_live`` -> ``data-live``, ``class_`` -> ``class``."""
    return {name.rstrip("_").replace("_", "-"): value for name, value in attrs.items()}


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Element] = []
        self.open: list[Element] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs), position=len(self.found), ancestors=tuple(reversed(self.open)))
        self.found.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        if any(e.tag == tag for e in self.open):  # a stray end tag closes nothing
            while self.open.pop().tag != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        for element in self.open:
            element.text += data


def _parse(html: str) -> _Parser:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return parser


def elements(html: str, tag: str | None = None, **attrs: AttrQuery) -> list[Element]:
    """The elements of ``html`` with these attribute values, in document order. A value ``None`` asks for an
    attribute without a value (``autofocus=None``), ``ANY`` for an attribute with any value; ``data_live``
    stands for ``data-live``. ``tag`` is for the few element names that are contracts (``html``)."""
    return [e for e in _parse(html).found if e.matches(tag, **attrs)]


def element(html: str, tag: str | None = None, **attrs: AttrQuery) -> Element:
    """The one element that matches (an AssertionError when there is none, or more than one)."""
    found = elements(html, tag, **attrs)
    assert len(found) == 1, f"{len(found)} elements match {tag or ''}{_names(attrs)}"
    return found[0]


def by_id(html: str, id: str) -> Element:
    """The one element with this id."""
    return element(html, id=id)


def within(html: str, id: str, tag: str | None = None, **attrs: AttrQuery) -> list[Element]:
    """The elements that match inside the element with this id."""
    return [e for e in elements(html, tag, **attrs) if e.closest(id=id)]


def ids(html: str) -> list[str]:
    """Every id, in document order."""
    return [e.attrs["id"] or "" for e in _parse(html).found if "id" in e.attrs]


def attr(html: str, id: str, name: str) -> str | None:
    """Attribute ``name`` of the element with this id (None when it has no such attribute, or no value)."""
    return by_id(html, id).attrs.get(name)


def text_of(html: str, id: str | None = None) -> str:
    """The text of the element with this id (of the whole fragment without one), whitespace collapsed."""
    if id is not None:
        return by_id(html, id).words
    return " ".join("".join(_parse(html).text).split())


def badge(html: str) -> int | None:
    """The unread count a fragment's badge shows (``#notification-count``'s text, its contract), or None."""
    found = elements(html, id="notification-count")
    return int(found[-1].words) if found else None


def items(html: str, prefix: str = "notification") -> list[tuple[int, str | None]]:
    """``(pk, data-read)`` of each item (``id="<prefix>-<pk>"``), in document order."""
    pattern = re.compile(rf"{re.escape(prefix)}-(\d+)")
    return [
        (int(match[1]), e.attrs.get("data-read"))
        for e in _parse(html).found
        if (match := pattern.fullmatch(e.attrs.get("id") or ""))
    ]


def pks(html: str, prefix: str = "notification") -> list[int]:
    """The pks of the items, in document order."""
    return [pk for pk, _ in items(html, prefix)]


def item(html: str, pk: int, prefix: str = "notification") -> Element:
    """The one item of notification ``pk``."""
    return by_id(html, f"{prefix}-{pk}")


def with_class(html: str, name: str) -> list[Element]:
    """The elements carrying class ``name``: only for the few classes that are contracts (``nb-synced``)."""
    return [e for e in _parse(html).found if name in (e.attrs.get("class") or "").split()]


def swaps(html: str) -> list[str]:
    """The ``hx-swap-oob`` values (``strategy:target``), in document order."""
    return [e.attrs["hx-swap-oob"] or "" for e in _parse(html).found if "hx-swap-oob" in e.attrs]


def swap(html: str, value: str) -> Element:
    """The one element swapped out of band with this ``hx-swap-oob`` value (its text: what goes in)."""
    return element(html, hx_swap_oob=value)


def submits(control: Element) -> str | None:
    """Where a control (a button) sends its form: the ``action`` of the form it is in."""
    form = control.closest(action=ANY)
    return form.attrs["action"] if form else None


def focused(html: str) -> list[Element]:
    """The elements that take the keyboard focus when swapped in (``autofocus``)."""
    return elements(html, autofocus=ANY)
