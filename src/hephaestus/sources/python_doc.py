"""One Python callable as a JSON function schema and a deterministic, readable tool_doc text."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any

import docstring_parser

from hephaestus.sources.python_schema import NOT_JSON, annotation_schema, to_json, type_name_schema
from hephaestus.sources.python_signature import VARIADIC, call_signature, signature_of, split_call_lines

_NOT_PARAMS = {"attribute", "ivar", "cvar", "var"}  # docstring_parser lists attributes among params
_STARS = {inspect.Parameter.VAR_POSITIONAL: "*", inspect.Parameter.VAR_KEYWORD: "**"}


@dataclass(frozen=True)
class CallableDoc:
    """What the source emits for one callable; `informative` is false for a bare undocumented name."""

    schema: dict[str, Any]
    text: str
    has_signature: bool
    informative: bool


@dataclass
class _Docs:
    description: str = ""
    params: dict[str, docstring_parser.DocstringParam] = field(default_factory=dict)
    returns: docstring_parser.DocstringReturns | None = None
    raises: list[docstring_parser.DocstringRaises] = field(default_factory=list)


@dataclass
class _Parameters:
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    required: list[str] = field(default_factory=list)
    listing: list[tuple[str, str, str]] = field(default_factory=list)  # (name, type and default, description)


def describe(name: str, obj: Any, kind: str, docs: list[str], drop_first: bool = False) -> CallableDoc:
    """Describe `obj`, called `name`, from its signature and docstrings (a class passes its own and
    its __init__'s); `drop_first` removes `self` from an unbound method's signature."""
    signature = signature_of(obj, drop_first)
    calls: list[str] = []
    if docs:  # call lines heading a docstring are the signature of builtins inspect cannot read
        calls, rest = split_call_lines(docs[0], name.rsplit(".", 1)[-1])
        docs = [rest, *docs[1:]]
    if signature is not None:
        header = name + str(signature.replace(return_annotation=inspect.Signature.empty))
    elif calls:
        header = "\n".join(name + line[line.index("(") :] for line in calls)
        signature = call_signature(calls[0]) if len(calls) == 1 else None
    else:
        header = f"{name}(...)"
    parsed = _parse(docs)
    params = _from_signature(signature, parsed) if signature else _from_docstring(parsed)
    prefix = "class " if kind == "class" else "async " if inspect.iscoroutinefunction(obj) else ""
    schema = {
        "name": name,
        "description": " ".join(parsed.description.split("\n\n", 1)[0].split()),
        "parameters": {"type": "object", "properties": params.properties, "required": params.required},
    }
    returns = "" if kind == "class" else _returns_line(signature, parsed.returns)
    text = _render(prefix + header, parsed, params.listing, returns)
    informative = bool(calls) or any(d.strip() for d in docs) or bool(params.properties)
    return CallableDoc(schema, text, signature is not None, informative)


def _from_signature(signature: inspect.Signature, parsed: _Docs) -> _Parameters:
    out = _Parameters()
    for p in signature.parameters.values():
        doc = parsed.params.get(p.name)
        annotated = p.annotation is not inspect.Parameter.empty
        type_text = _annotation_text(p.annotation) if annotated else (doc and doc.type_name) or ""
        if p.kind in VARIADIC:  # listed in the text; a JSON schema has no place for them
            out.listing.append((_STARS[p.kind] + p.name, type_text, _one_line(doc)))
            continue
        optional = "required" if p.default is inspect.Parameter.empty else f"default {p.default!r}"
        out.listing.append((p.name, ", ".join(t for t in (type_text, optional) if t), _one_line(doc)))
        prop = _property(annotation_schema(p.annotation) if annotated else {}, doc, p.default)
        if p.default is inspect.Parameter.empty:
            out.required.append(p.name)
        elif (default := to_json(p.default)) is not NOT_JSON:
            prop["default"] = default
        out.properties[p.name] = prop
    return out


def _from_docstring(parsed: _Docs) -> _Parameters:
    out = _Parameters()
    for name, doc in parsed.params.items():
        optional = {True: "optional", False: "required"}.get(doc.is_optional, "")
        out.listing.append((name, ", ".join(t for t in (doc.type_name, optional) if t), _one_line(doc)))
        out.properties[name] = _property({}, doc, inspect.Parameter.empty)
        if doc.is_optional is False:
            out.required.append(name)
    return out


def _parse(docs: list[str]) -> _Docs:
    """Merge docstrings: the first description, params by first mention, returns and raises."""
    merged = _Docs()
    for doc in docs:
        try:
            parsed = docstring_parser.parse(doc)
        except docstring_parser.ParseError:
            merged.description = merged.description or doc.strip()
            continue
        gap = "\n\n" if parsed.blank_after_short_description else "\n"
        merged.description = merged.description or gap.join(
            p for p in (parsed.short_description, parsed.long_description) if p
        )
        for param in parsed.params:
            if param.args[0] not in _NOT_PARAMS:
                for name in param.arg_name.split(","):
                    merged.params.setdefault(name.strip().lstrip("*"), param)
        merged.returns = merged.returns or parsed.returns
        merged.raises += parsed.raises
    return merged


def _property(schema: dict[str, Any], doc: docstring_parser.DocstringParam | None, default: Any) -> dict[str, Any]:
    """A parameter's schema: its annotation's type, else its docstring type, else its default's type."""
    if not schema and doc and doc.type_name:
        schema = type_name_schema(doc.type_name)
    if not schema and isinstance(default, bool | int | float | str):
        schema = annotation_schema(type(default))
    prop = dict(schema)
    if description := _one_line(doc):
        prop["description"] = description
    return prop


def _one_line(doc: docstring_parser.DocstringParam | docstring_parser.DocstringReturns | None) -> str:
    return " ".join((doc.description or "").split()) if doc else ""


def _returns_line(signature: inspect.Signature | None, returns: docstring_parser.DocstringReturns | None) -> str:
    annotation = signature.return_annotation if signature else inspect.Signature.empty
    shown = annotation not in (inspect.Signature.empty, None, "None")
    type_text = _annotation_text(annotation) if shown else (returns and returns.type_name) or ""
    label = "Yields" if returns and returns.is_generator else "Returns"
    text = ": ".join(p for p in (type_text, _one_line(returns)) if p)
    return f"{label}: {text}" if text else ""


def _annotation_text(annotation: Any) -> str:
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def _render(header: str, parsed: _Docs, listing: list[tuple[str, str, str]], returns: str) -> str:
    parts = [header]
    if parsed.description:
        parts.append(parsed.description)
    if lines := [_item(f"{n} ({t})" if t else n, d) for n, t, d in listing if t or d]:
        parts.append("Parameters:\n" + "\n".join(lines))
    if returns:
        parts.append(returns)
    if parsed.raises:
        parts.append("Raises:\n" + "\n".join(_item(r.type_name or "error", r.description) for r in parsed.raises))
    # drop memory addresses from reprs (`<object object at 0x7f..>`) so the text is deterministic
    return re.sub(r" at 0x[0-9a-fA-F]+", "", "\n\n".join(parts))


def _item(label: str, description: str | None) -> str:
    return f"- {label}: {description}" if description else f"- {label}"
