"""`hephaestus report`: one self-contained HTML page per workspace, WS/report/index.html.

Figures are inlined as base64 PNG data URIs and the style sheet is inline, so the page is a single file that
opens anywhere offline; its Content-Security-Policy forbids loading anything else. All text is escaped.
"""

from __future__ import annotations

import base64
import html
import re
import time
from pathlib import Path

from hephaestus import __version__
from hephaestus.report.layout import MISSING, Figure, Section, Table, relative
from hephaestus.report.sections import Sections, build_sections
from hephaestus.workspace import Workspace, atomic_path

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
NUMERIC = re.compile(r"^[+\-−]?[\d,.]+(%|e[+-]?\d+)?( \([\d,]+/[\d,]+\))?(/[\d,]+)?$")
CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d1d1f; margin: 0;
       background: #fafafa; }
header, nav, main { max-width: 1120px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 24px; } h1 { margin: 0 0 4px; font-size: 26px; }
.meta, .src, .notrun { color: #555; font-size: 13px; } .notrun { margin-top: 8px; }
nav { margin-top: 12px; } nav ol { columns: 2; margin: 4px 0 0; } nav h2 { font-size: 16px; margin: 0; }
section { background: #fff; border: 1px solid #e2e2e2; border-radius: 6px; padding: 8px 20px 12px; margin: 20px 0; }
h2 { font-size: 20px; border-bottom: 1px solid #eee; padding-bottom: 4px; }
figure { margin: 12px 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption, .caption { color: #555; font-size: 13px; margin: 4px 0; }
.scroll { overflow-x: auto; margin: 10px 0 14px; }
table { border-collapse: collapse; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 3px 8px; vertical-align: top; }
th { background: #f2f4f7; text-align: left; } tbody tr:nth-child(even) { background: #fafbfc; }
td.num, th.num { text-align: right; white-space: nowrap; }
ul.notes li { margin: 2px 0; } .missing { color: #a33; } code { font-size: 13px; }
"""


def build_report(workspace: Workspace | Path, title: str | None = None) -> Path:
    """Write WS/report/index.html (regenerating WS/figures/training.png first) and return its path.
    `title` names the run in the header; the workspace folder's name by default."""
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    sections = build_sections(ws)
    generated = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    page = render_page(sections, title or ws.root.resolve().name, ws.root, generated)
    path = ws.root / "report" / "index.html"
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path


def render_page(sections: Sections, name: str, root: Path, generated: str) -> str:
    e = _escape
    not_run = "; ".join(f"{stage} ({', '.join(titles)})" for stage, titles in sections.not_run.items())
    toc = "".join(f'<li><a href="#{e(s.key)}">{e(s.title)}</a></li>' for s in sections.sections)
    body = "\n".join(_section(s, root) for s in sections.sections)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hephaestus report: {e(name)}</title><style>{CSS}</style></head>
<body>
<header><h1>Hephaestus report: {e(name)}</h1>
<div class="meta">workspace <code>{e(str(root.resolve()))}</code> · generated {e(generated)} ·
hephaestus {e(__version__)}</div>
{f'<div class="notrun" id="not-run">Not run yet: {e(not_run)}.</div>' if not_run else ''}
</header>
<nav id="contents"><h2>Contents</h2><ol>{toc or '<li>No stage has written results yet.</li>'}</ol></nav>
<main>
{body}
</main></body></html>
"""


def _escape(text: str) -> str:
    return html.escape(text, quote=True)


def _section(section: Section, root: Path) -> str:
    e = _escape
    parts = [f'<section id="{e(section.key)}"><h2>{e(section.title)}</h2>']
    parts += [f"<p>{e(text)}</p>" for text in section.text]
    parts += [_figure(figure, root) for figure in section.figures]
    parts += [_table(table) for table in section.tables if table.rows]
    if section.notes:
        parts.append('<ul class="notes">' + "".join(f"<li>{e(note)}</li>" for note in section.notes) + "</ul>")
    if section.sources:
        parts.append(f'<p class="src">Read from {e(", ".join(section.sources))}.</p>')
    return "\n".join(parts) + "</section>"


def _figure(figure: Figure, root: Path) -> str:
    try:
        data = base64.b64encode(figure.path.read_bytes()).decode("ascii")
    except OSError:
        return f'<p class="missing">Figure {_escape(relative(figure.path, root))} is missing.</p>'
    caption = _escape(figure.caption)
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{caption}">'
            f"<figcaption>{caption}</figcaption></figure>")


def _table(table: Table) -> str:
    e = _escape
    numeric = [index > 0 and _is_numeric_column([row[index] for row in table.rows if index < len(row)])
               for index in range(len(table.columns))]
    head = "".join(f'<th{" class=num" if num else ""}>{e(c)}</th>' for c, num in zip(table.columns, numeric,
                                                                                     strict=True))
    rows = "".join("<tr>" + "".join(f'<td{" class=num" if num else ""}>{e(cell)}</td>'
                                    for cell, num in zip(row, numeric, strict=False)) + "</tr>" for row in table.rows)
    caption = f'<p class="caption">{e(table.caption)}</p>' if table.caption else ""
    return f'<div class="scroll">{caption}<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table></div>'


def _is_numeric_column(cells: list[str]) -> bool:
    values = [cell for cell in cells if cell != MISSING]
    return bool(values) and all(NUMERIC.match(cell) for cell in values)
