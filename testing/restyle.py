"""A designer's restyle, done by a program: a copy of the templates with other markup and the same meaning.

What a designer may change in the partials and pages, this changes everywhere it can while the HTML stays valid:

- every class gets another name (``nb-item--success`` -> ``k5e0c2a1-success``), in ``class`` attributes and in the
  selectors of htmx attributes alike (``hx-target="closest .nb"``), except the contract classes;
- elements get other names where the content model allows (``span`` -> ``b``, ``p`` -> ``div``, ``strong`` ->
  ``b``, ``section`` -> ``article``), except those carrying a contract id;
- elements get wrapped in an extra ``<div>`` or ``<span>`` (never a list item, a table part, an option...);
- attribute values go in single quotes where they can (``id='notification-12'``), end tags get a space
  (``</span >``, valid HTML: ``">1</span>"`` no longer matches even where the element keeps its name).

Ids, ``data-`` and ARIA attributes, text, URLs and the out-of-band frame templates (``notification_frame_*``:
the protocol, not a designer's) stay as they are. tests/test_restyled.py runs the unit tests against the copy.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

#: Classes that are contracts (docs: DESIGN.md): never renamed.
CONTRACT_CLASSES = frozenset({"nb-synced"})
#: Ids that are contracts: their elements keep their names.
CONTRACT_ID = re.compile(r"notification-(bar|count|list|toast|status|panel)|notification-\{\{.*|current-user")

RENAME = {"span": "b", "p": "div", "strong": "b", "section": "article"}
PHRASING = frozenset(
    {"a", "abbr", "b", "button", "code", "em", "i", "img", "input", "label", "select", "small", "span", "strong"}
    | {"svg", "textarea", "time"}
)
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})
NEVER_WRAPPED = frozenset(
    {"li", "tr", "td", "th", "thead", "tbody", "tfoot", "caption", "option", "optgroup", "legend", "summary"}
    | {"html", "head", "body", "meta", "link", "title", "base", "script", "style", "svg", "path"}
)
#: Parents whose children may not be wrapped (their content model is a list of specific elements).
STRICT_PARENTS = frozenset({"ul", "ol", "table", "thead", "tbody", "tfoot", "tr", "select", "svg", "html", "head"})
#: Attributes whose values are CSS selectors (htmx's extended ones: "closest .x", "next #y .z").
SELECTOR_ATTRIBUTES = frozenset({"hx-target", "hx-include", "hx-select", "hx-disabled-elt", "hx-indicator"})

_TEMPLATE = r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}"
_QUOTED = rf"\"(?:{_TEMPLATE}|[^\"])*\"|'(?:{_TEMPLATE}|[^'])*'"
_TOKEN = re.compile(
    rf"(?P<comment>\{{%\s*comment\s*%\}}.*?\{{%\s*endcomment\s*%\}})"
    rf"|(?P<template>{_TEMPLATE})"
    rf"|<(?P<close>/?)(?P<name>[a-zA-Z][a-zA-Z0-9-]*)(?P<attrs>(?:{_TEMPLATE}|{_QUOTED}|[^>\"'])*?)(?P<self>/?)>",
    re.S,
)
_ATTRIBUTE = re.compile(rf"(?P<template>{_TEMPLATE})|(?P<name>[a-zA-Z_:][\w:.-]*)=(?P<value>{_QUOTED})", re.S)
_CLASS_TOKEN = re.compile(r"(?<![\w-])[A-Za-z_][\w-]*")
_CLASS_SELECTOR = re.compile(r"\.([A-Za-z_][\w-]*)")


def fresh(name: str) -> str:
    """Another name for class ``name`` (the same in every file; a trailing ``-`` that a value completes stays)."""
    if name in CONTRACT_CLASSES:
        return name
    return "k" + hashlib.sha1(name.encode()).hexdigest()[:7] + ("-" if name.endswith("-") else "")


def _outside_templates(value: str, change: re.Pattern[str], replace: Callable[[re.Match[str]], str]) -> str:
    """Apply ``change`` to the parts of ``value`` outside template tags (``{{ ... }}``, ``{% ... %}``)."""
    parts = re.split(f"({_TEMPLATE})", value, flags=re.S)
    return "".join(p if i % 2 else change.sub(replace, p) for i, p in enumerate(parts))


def _attribute(match: re.Match[str]) -> str:
    if match["template"]:
        return match[0]
    name, quoted = match["name"], match["value"]
    value = quoted[1:-1]
    if name == "class":
        value = _outside_templates(value, _CLASS_TOKEN, lambda m: fresh(m[0]))
    elif name in SELECTOR_ATTRIBUTES:
        value = _outside_templates(value, _CLASS_SELECTOR, lambda m: "." + fresh(m[1]))
    # Single quotes, unless the value holds one, or a translation (which may bring one: "l'historique").
    quote = "'" if "'" not in value and "trans" not in value else quoted[0]
    return f"{name}={quote}{value}{quote}"


@dataclass
class _Open:
    name: str
    renamed: str
    wrapper: str | None


@dataclass
class Restyled:
    """One template's restyled text, and how much changed."""

    text: str
    renamed: int = 0
    wrapped: int = 0
    open: list[_Open] = field(default_factory=list)


def restyle_template(text: str) -> Restyled:
    """The restyled text of one template (raises ValueError on elements it cannot pair up)."""
    out = Restyled("")
    pieces: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        pieces.append(text[position : match.start()])
        position = match.end()
        if match["comment"] or match["template"]:
            pieces.append(match[0])
        elif match["close"]:
            if not out.open or out.open[-1].name != match["name"].lower():
                raise ValueError(f"</{match['name']}> closes nothing at offset {match.start()}")
            element = out.open.pop()
            pieces.append(f"</{element.renamed} >" + (f"</{element.wrapper} >" if element.wrapper else ""))
        else:
            pieces.append(_open_tag(match, out))
    pieces.append(text[position:])
    if out.open:
        raise ValueError(f"unclosed elements: {[e.name for e in out.open]}")
    out.text = "".join(pieces)
    return out


def _open_tag(match: re.Match[str], out: Restyled) -> str:
    name, attrs, self_closing = match["name"].lower(), match["attrs"], match["self"]
    element_id = re.search(r"""(?<![\w-])id=["']([^"']*)""", attrs)
    protocol = "hx-swap-oob" in attrs
    renamed = name
    if name in RENAME and not protocol and not (element_id and CONTRACT_ID.fullmatch(element_id[1])):
        renamed = RENAME[name]
        out.renamed += 1
    parent = out.open[-1].renamed if out.open else None
    wrapper = None
    if not protocol and not self_closing and name not in NEVER_WRAPPED and parent not in STRICT_PARENTS:
        wrapper = "span" if name in PHRASING or (parent in PHRASING) else "div"
        out.wrapped += 1
    tag = f"<{renamed}{_ATTRIBUTE.sub(_attribute, attrs)}{self_closing}>"
    opening = f"<{wrapper}>" if wrapper else ""
    if name in VOID or self_closing:
        return opening + tag + (f"</{wrapper} >" if wrapper else "")
    out.open.append(_Open(name, renamed, wrapper))
    return opening + tag


def is_protocol(path: Path) -> bool:
    """The out-of-band frame templates: the socket's protocol, which designers do not restyle."""
    return path.name.startswith("notification_frame_")


def restyle(sources: dict[Path, str], target: Path) -> dict[str, Restyled]:
    """Copy every ``*.html`` under each source folder to ``target`` / its folder name / ..., restyled (the
    protocol's frame templates as they are). ``sources`` maps a folder to the name it has in the search path
    (``templates/`` holds ``partials/``: ``{templates/partials: partials}``). Returns what changed, per file."""
    done: dict[str, Restyled] = {}
    for source, name in sources.items():
        for path in sorted(source.rglob("*.html")):
            relative = Path(name) / path.relative_to(source)
            text = path.read_text(encoding="utf-8")
            result = Restyled(text) if is_protocol(path) else restyle_template(text)
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            (target / relative).write_text(result.text, encoding="utf-8")
            done[str(relative)] = result
    return done
