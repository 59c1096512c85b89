"""Formatting tables and writing the report: Markdown (README.md), CSV files, one self-contained HTML page.

Markdown and CSV are byte-identical for the same store: rows are sorted, numbers have fixed formats,
and nothing time-dependent goes into them. The generation time and this machine's environment go
into the HTML page's header only.
"""

from __future__ import annotations

import base64
import html
import math
import platform
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd

NOT_MEASURED = "not measured"
MISSING = "–"


def _nan(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def score(mean: float, std: float) -> str:
    if _nan(mean):
        return MISSING
    return f"{mean:.3f}" if _nan(std) else f"{mean:.3f} ± {std:.3f}"


def number(value: float, digits: int = 2) -> str:
    return MISSING if _nan(value) else f"{value:.{digits}f}"


def signed(value: float) -> str:
    return MISSING if _nan(value) else f"{value:+.3f}"


def count(value: float) -> str:
    return MISSING if _nan(value) else f"{value:,.0f}"


DEGENERATE = "‡"  # the header explains it


def interval(low: float, high: float) -> str:
    """``[low, high]``; marked ``‡`` where it has zero width away from 0 and 1: every class's test samples
    were predicted all right or all wrong alike, so resampling within classes cannot move the score, and
    the interval understates the uncertainty (a perfect model's [1, 1] and identical models' [0, 0]
    difference are exact, and unmarked)."""
    if _nan(low):
        return MISSING
    text = f"[{low:.3f}, {high:.3f}]"
    return text + DEGENERATE if f"{low:.3f}" == f"{high:.3f}" and abs(low) not in (0.0, 1.0) else text


def p_value(value: float) -> str:
    return MISSING if _nan(value) else f"{value:.3g}"


@dataclass
class Section:
    title: str
    level: int = 2
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)  # (caption, formatted strings)
    images: list[tuple[str, str]] = field(default_factory=list)  # (alt text, file name)
    in_findings: set[str] = field(default_factory=set)  # captions of the tables findings.md copies


@dataclass
class Document:
    title: str
    header: list[str]
    sections: list[Section]


def markdown_table(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "_(no rows)_"
    cells = [[str(c) for c in frame.columns]] + [
        [str(v) for v in row] for row in frame.itertuples(index=False)
    ]
    escape = [[c.replace("|", "\\|") for c in row] for row in cells]
    lines = ["| " + " | ".join(escape[0]) + " |", "|" + "|".join(" --- " for _ in escape[0]) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in escape[1:]]
    return "\n".join(lines)


def anchor(title: str) -> str:
    """A heading's anchor as GitHub makes it (lowercase; letters, digits, spaces as hyphens, hyphens and
    underscores kept), so the Markdown contents list links on GitHub and in the HTML alike."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def contents(doc: Document) -> list[tuple[str, str]]:
    """(title, anchor) of every section, in order: the report's table of contents."""
    return [(section.title, anchor(section.title)) for section in doc.sections]


def to_markdown(doc: Document) -> str:
    out = [f"# {doc.title}", "", *doc.header, "", "**Contents**", ""]
    out += [f"- [{title}](#{slug})" for title, slug in contents(doc)] + [""]
    for section in doc.sections:
        out += [f"{'#' * section.level} {section.title}", ""]
        for paragraph in section.paragraphs:
            out += [paragraph, ""]
        for caption, table in section.tables:
            if caption:
                out += [f"**{caption}**", ""]
            out += [markdown_table(table), ""]
        for alt, name in section.images:
            out += [f"![{alt}]({name})", ""]
    return "\n".join(out).rstrip() + "\n"


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.85rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.5rem; text-align: left; }
th { background: #f2f2f2; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5rem 0; }
.toc { font-size: 0.9rem; margin: 1rem 0; }
.header { background: #f7f7f7; padding: 0.75rem 1rem; border-left: 4px solid #1f77b4; font-size: 0.9rem; }
"""


LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def _inline(text: str) -> str:
    """The little Markdown the report uses (`code`, **bold** and [text](address)) as HTML."""
    escaped = LINK.sub(r'<a href="\2">\1</a>', html.escape(text, quote=False))
    parts = escaped.split("`")
    escaped = "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(parts))
    parts = escaped.split("**")
    return "".join(f"<b>{p}</b>" if i % 2 else p for i, p in enumerate(parts))


def html_table(frame: pd.DataFrame) -> str:
    """A table's cells as HTML, with the same inline Markdown as the paragraphs (run links, `code`)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{_inline(str(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def to_html(doc: Document, directory: Path) -> str:
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    machine = f"{platform.node()} ({platform.platform()}, Python {platform.python_version()})"
    body = [f"<h1>{html.escape(doc.title)}</h1>", '<div class="header">']
    body += [f"<div>{_inline(line.lstrip('- '))}</div>" for line in doc.header]
    body += [f"<div>Generated {generated} on {html.escape(machine)}</div>", "</div>"]
    body.append('<nav class="toc"><b>Contents</b><ul>')
    body += [f'<li><a href="#{slug}">{html.escape(title)}</a></li>' for title, slug in contents(doc)]
    body.append("</ul></nav>")
    for section in doc.sections:
        level, slug = section.level, anchor(section.title)
        body.append(f'<h{level} id="{slug}">{html.escape(section.title)}</h{level}>')
        body += [f"<p>{_inline(p)}</p>" for p in section.paragraphs]
        for caption, table in section.tables:
            if caption:
                body.append(f"<p><b>{html.escape(caption)}</b></p>")
            body.append(html_table(table) if not table.empty else "<p>(no rows)</p>")
        for alt, name in section.images:
            data = base64.b64encode((directory / name).read_bytes()).decode()
            body.append(f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">')
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(doc.title)}</title>'
        f"<style>{_CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, float_format="%.6f", lineterminator="\n")
