"""Reference tables generated from the code at build time, so the documentation cannot fall behind it.

Directives (usable from MyST Markdown as ```` ```{notifications-settings} ````):

``notifications-settings``
    Every key of ``notifications.conf.DEFAULTS``: its default and the ``# comment`` lines above it in
    ``notifications/conf.py``. A key without a comment of its own is documented by the comment of the key
    right above it only when that comment names it; any other key without a comment fails the build.
``notifications-checks``
    Every system check id in ``notifications/checks.py``: severity, when it runs, its message(s) and hint.
    The directive's content may add a note to an id (``notifications.E010: see ...``, Markdown).
``notifications-partials``
    Every ``templates/partials/*.html`` with the ``{% comment %}`` header at its top (what it shows, its
    context, its contracts). A partial without a header fails the build.

Also the ``setting`` cross-reference role (``{setting}`BAR_SIZE```), and a check at the end of reading that
every name in ``notifications.__all__`` is documented as ``notifications.<name>``.

The parsing functions (:func:`settings_rows`, :func:`check_rows`, :func:`partial_headers`) are plain Python so
the unit tests can use them without Sphinx.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "notifications" / "conf.py"
CHECKS = ROOT / "notifications" / "checks.py"
PARTIALS = ROOT / "templates" / "partials"


# --- settings ---------------------------------------------------------------------------------------------


@dataclass
class Setting:
    name: str
    default: str  # as the value is written in settings, e.g. "None", '"/ws/notifications/"', "[]"
    meaning: str  # the comment above the key, joined into one paragraph
    see: str | None = None  # documented together with this key (its comment names this one)


def _default_repr(value: Any) -> str:
    return repr(value).replace("'", '"')


def settings_rows(source: str | None = None) -> list[Setting]:
    """The keys of ``DEFAULTS`` in conf.py's order, with their defaults and the comments above them.

    Raises ``ValueError`` naming every key that has no comment (nor a comment right above it naming it)."""
    from notifications import conf

    source = CONF.read_text() if source is None else source
    lines = source.splitlines()
    [node] = [
        n.value
        for n in ast.parse(source).body
        if isinstance(n, ast.AnnAssign | ast.Assign)
        and any(
            isinstance(t, ast.Name) and t.id == "DEFAULTS" for t in getattr(n, "targets", [getattr(n, "target", None)])
        )
    ]
    assert isinstance(node, ast.Dict)
    rows: list[Setting] = []
    undocumented = []
    previous: Setting | None = None
    for key in node.keys:
        assert isinstance(key, ast.Constant) and isinstance(key.value, str)
        comment: list[str] = []
        number = key.lineno - 2  # the line above the key (0-based)
        while number >= 0 and lines[number].strip().startswith("#"):
            comment.insert(0, lines[number].strip().lstrip("#").strip())
            number -= 1
        name = key.value
        default = _default_repr(conf.DEFAULTS[name])
        if comment:
            row = Setting(name, default, " ".join(comment))
        elif previous is not None and re.search(rf"\b{name}\b", previous.meaning):
            row = Setting(name, default, "", see=previous.name)
        else:
            undocumented.append(name)
            continue
        rows.append(row)
        previous = row
    missing = set(conf.DEFAULTS) - {row.name for row in rows} - set(undocumented)
    if undocumented or missing:
        raise ValueError(f"Undocumented NOTIFICATIONS keys in {CONF}: {', '.join(undocumented + sorted(missing))}")
    return rows


# --- system checks ----------------------------------------------------------------------------------------


@dataclass
class Check:
    id: str
    severity: str  # "Error" or "Warning"
    function: str
    deploy: bool  # runs only with check --deploy
    messages: list[str] = field(default_factory=list)
    hint: str = ""


def _text(node: ast.AST | None) -> str | None:
    """The string of ``_("...")``, ``_("...") % {...}`` or a constant; placeholders shown as <name>."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        node = node.left
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("_", "gettext"):
        node = node.args[0] if node.args else None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.sub(r"%\((\w+)\)[sdr]", r"<\1>", node.value)
    return None


def check_rows(source: str | None = None) -> list[Check]:
    """Every ``Error``/``Warning`` with an ``id="notifications...."`` in checks.py, in the file's order."""
    tree = ast.parse(CHECKS.read_text() if source is None else source)
    rows: dict[str, Check] = {}
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef):
            continue
        deploy = any(
            isinstance(d, ast.Call) and any(k.arg == "deploy" and getattr(k.value, "value", False) for k in d.keywords)
            for d in function.decorator_list
        )
        helpers = {  # nested functions that build the message: def error(message): errors.append(Error(message...))
            n.name: n.args.args[0].arg for n in ast.walk(function) if isinstance(n, ast.FunctionDef) and n.args.args
        }
        for call in ast.walk(function):
            if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
                continue
            if call.func.id not in ("Error", "Warning"):
                continue
            ids = [k.value for k in call.keywords if k.arg == "id"]
            if not (ids and isinstance(ids[0], ast.Constant) and str(ids[0].value).startswith("notifications.")):
                continue
            check = rows.setdefault(ids[0].value, Check(ids[0].value, call.func.id, function.name, deploy))
            check.hint = next((_text(k.value) or "" for k in call.keywords if k.arg == "hint"), "")
            message = call.args[0] if call.args else None
            text = _text(message)
            if text is not None:
                check.messages.append(text)
            elif isinstance(message, ast.Name) and message.id in helpers.values():
                helper = next(name for name, arg in helpers.items() if arg == message.id)
                for inner in ast.walk(function):
                    calls_helper = isinstance(inner, ast.Call) and getattr(inner.func, "id", None) == helper
                    if calls_helper and inner.args and (inner_text := _text(inner.args[0])) is not None:
                        check.messages.append(inner_text)
    return list(rows.values())


# --- partials ---------------------------------------------------------------------------------------------


HEADER = re.compile(r"\A\{% comment %\}\n(.*?)\n\{% endcomment %\}", re.S)
PART = re.compile(r"(?:^|(?<=\. ))(Context|Contracts?):\s*", re.M)  # at a line's or a sentence's start


def partial_headers(folder: Path = PARTIALS) -> dict[str, list[tuple[str, str]]]:
    """For each partial, its header split into parts: ("", what it is), ("Context", ...), ("Contracts", ...).

    Raises ``ValueError`` naming the partials without a ``{% comment %}`` header at their top."""
    headers: dict[str, list[tuple[str, str]]] = {}
    missing = []
    for path in sorted(folder.glob("*.html")):
        match = HEADER.match(path.read_text())
        if match is None:
            missing.append(path.name)
            continue
        pieces = PART.split(match.group(1))
        parts = [("", pieces[0]), *zip(pieces[1::2], pieces[2::2], strict=True)]
        headers[path.name] = [(label, " ".join(text.split())) for label, text in parts if text.strip()]
    if missing:
        raise ValueError(f"Partials without a {{% comment %}} header: {', '.join(missing)}")
    return headers


# --- management commands ----------------------------------------------------------------------------------


def command_help(name: str, width: int = 100) -> str:
    """What ``manage.py help NAME`` prints for one of the app's commands, without Django's common options."""
    import os
    from unittest import mock

    from django.core.management import load_command_class

    command = load_command_class("notifications", name)
    with mock.patch.dict(os.environ, {"COLUMNS": str(width)}):
        text = command.create_parser("manage.py", name).format_help()
    # Django lists its own options (--version, --verbosity, --settings, ...) last: they are the same for every
    # command, so they are left out here.
    kept = []
    for line in text.splitlines():
        if line.strip().startswith("--version"):
            break
        kept.append(line.rstrip())
    return "\n".join(kept).rstrip() + "\n"


# --- Sphinx -----------------------------------------------------------------------------------------------


def setup(app: Any) -> dict[str, Any]:
    from docutils import nodes
    from docutils.parsers.rst import Directive
    from sphinx.util import logging
    from sphinx.util.nodes import make_id

    logger = logging.getLogger(__name__)

    def table(headers: list[str], widths: list[int], rows: list[list[nodes.Node]]) -> nodes.table:
        group = nodes.tgroup(cols=len(headers))
        group += [nodes.colspec(colwidth=w) for w in widths]
        head = nodes.thead()
        head += nodes.row("", *[nodes.entry("", nodes.paragraph(text=h)) for h in headers])
        body = nodes.tbody()
        for cells in rows:
            body += nodes.row("", *[nodes.entry("", *(c if isinstance(c, list) else [c])) for c in cells])
        group += [head, body]
        result = nodes.table(classes=["notifications-generated", "colwidths-given"])
        result += group
        return result

    def literal(text: str) -> nodes.paragraph:
        return nodes.paragraph("", "", nodes.literal(text=text))

    class SettingsDirective(Directive):
        has_content = False

        def run(self) -> list[nodes.Node]:
            env = self.state.document.settings.env
            env.note_dependency(str(CONF))
            try:
                settings = settings_rows()
            except ValueError as error:
                logger.warning(str(error), location=(env.docname, self.lineno))
                return []
            std = env.get_domain("std")
            rows = []
            ids: dict[str, str] = {}
            for row in settings:
                node_id = ids[row.name] = make_id(env, self.state.document, "setting", row.name)
                key = nodes.paragraph("", "", nodes.literal(text=row.name), ids=[node_id])
                self.state.document.note_explicit_target(key)
                std.note_object("setting", row.name, node_id, location=key)
                if row.see:
                    meaning = nodes.paragraph("", "Goes with ")
                    ref = nodes.reference("", "", nodes.literal(text=row.see), refid=ids[row.see])
                    meaning += [ref, nodes.Text(", above.")]
                else:
                    meaning = nodes.paragraph(text=row.meaning)
                rows.append([key, literal(row.default), meaning])
            return [table(["key", "default", "meaning"], [22, 18, 60], rows)]

    class ChecksDirective(Directive):
        has_content = True

        def run(self) -> list[nodes.Node]:
            env = self.state.document.settings.env
            env.note_dependency(str(CHECKS))
            checks = check_rows()
            known = {c.id for c in checks}
            notes: dict[str, str] = {}
            for line in self.content:
                if line.strip():
                    check_id, _, note = line.partition(":")
                    check_id = check_id.strip()
                    if check_id not in known:
                        logger.warning(
                            f"notifications-checks: no check {check_id!r} in checks.py",
                            location=(env.docname, self.lineno),
                        )
                    notes[check_id] = note.strip()
            rows = []
            for check in checks:
                node_id = make_id(env, self.state.document, "check", check.id)
                ident = nodes.paragraph("", "", nodes.literal(text=check.id), ids=[node_id])
                self.state.document.note_explicit_target(ident)
                env.get_domain("std").note_object("check", check.id, node_id, location=ident)
                runs = nodes.paragraph("", f"{check.severity}, ")
                runs += nodes.literal(text="check --deploy") if check.deploy else nodes.Text("always")
                if check.messages:
                    says: list[nodes.Node] = (
                        [nodes.paragraph(text=check.messages[0])]
                        if len(check.messages) == 1
                        else [
                            nodes.bullet_list(
                                "", *[nodes.list_item("", nodes.paragraph(text=m)) for m in check.messages]
                            )
                        ]
                    )
                else:
                    says = [nodes.paragraph(text="(the message is built at run time)")]
                fix: list[nodes.Node] = [nodes.paragraph(text=check.hint)] if check.hint else []
                if check.id in notes:
                    container = nodes.container()
                    self.state.nested_parse(
                        self.content.__class__([notes[check.id]], source=env.docname), self.content_offset, container
                    )
                    fix += container.children
                rows.append([[ident, runs], says, fix or [nodes.paragraph()]])
            return [table(["id, and when it runs", "what it says", "the fix"], [22, 43, 35], rows)]

    class PartialsDirective(Directive):
        has_content = False

        def run(self) -> list[nodes.Node]:
            env = self.state.document.settings.env
            for path in PARTIALS.glob("*.html"):
                env.note_dependency(str(path))
            try:
                headers = partial_headers()
            except ValueError as error:
                logger.warning(str(error), location=(env.docname, self.lineno))
                return []
            items = nodes.definition_list()
            for name, parts in headers.items():
                node_id = make_id(env, self.state.document, "partial", name)
                term = nodes.term("", "", nodes.literal(text=f"partials/{name}"), ids=[node_id])
                self.state.document.note_explicit_target(term)
                env.get_domain("std").note_object("partial", name, node_id, location=term)
                definition = nodes.definition()
                for label, text in parts:
                    paragraph = nodes.paragraph()
                    if label:
                        paragraph += nodes.strong(text=f"{label}: ")
                    paragraph += nodes.Text(text)
                    definition += paragraph
                items += nodes.definition_list_item("", term, definition)
            return [items]

    class CommandDirective(Directive):
        """``manage.py help COMMAND`` of one of the app's commands, as a literal block."""

        required_arguments = 1

        def run(self) -> list[nodes.Node]:
            text = command_help(self.arguments[0])
            block = nodes.literal_block(text, text, language="text")
            return [block]

    def check_api_documented(app: Any, env: Any) -> None:
        """Every name in notifications.__all__ is documented (on the API page) as notifications.<name>."""
        import notifications

        documented = set(env.get_domain("py").objects)
        for name in notifications.__all__:
            if f"notifications.{name}" not in documented:
                logger.warning(f"notifications.{name} (in notifications.__all__) is not documented")

    app.add_object_type("setting", "setting", objname="NOTIFICATIONS setting", indextemplate="pair: %s; setting")
    app.add_object_type("check", "check", objname="system check", indextemplate="pair: %s; system check")
    app.add_object_type("partial", "partial", objname="partial template")
    app.add_directive("notifications-settings", SettingsDirective)
    app.add_directive("notifications-checks", ChecksDirective)
    app.add_directive("notifications-partials", PartialsDirective)
    app.add_directive("notifications-command", CommandDirective)
    app.connect("env-check-consistency", check_api_documented)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
