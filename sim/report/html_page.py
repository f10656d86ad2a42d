"""Building blocks of the self-contained HTML reports: page, sections, tables, inline images.

Everything a page needs is inside the one file: CSS in a ``<style>`` element, plots as
base64 PNG ``data:`` URLs, no scripts, fonts or anything else fetched from elsewhere. Tables sit
in a horizontally scrolling box, so a wide table never widens the page at laptop width.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Iterable, Sequence

CSS = """
:root { color-scheme: light; --ink: #1d2430; --muted: #5b6575; --line: #d9dee6; --band: #f4f6f9;
        --win: #e3f4e8; --win-ink: #14632f; --accent: #2f5fb3; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; color: var(--ink); background: #fff; }
main { max-width: 1180px; margin: 0 auto; padding: 20px 24px 48px; }
h1 { font-size: 1.6rem; margin: 0 0 4px; }
h2 { font-size: 1.2rem; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 1.02rem; margin: 18px 0 6px; }
p, li { max-width: 80ch; }
.muted { color: var(--muted); font-size: 0.9rem; }
nav { margin: 10px 0 0; font-size: 0.9rem; }
nav a { color: var(--accent); margin-right: 14px; text-decoration: none; white-space: nowrap; }
.scroll { overflow-x: auto; max-width: 100%; border: 1px solid var(--line); border-radius: 6px; margin: 8px 0 14px; }
table { border-collapse: collapse; font-size: 0.88rem; font-variant-numeric: tabular-nums; min-width: 100%; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: right; white-space: nowrap; }
th { background: var(--band); font-weight: 600; position: sticky; top: 0; }
th:first-child, td:first-child { text-align: left; position: sticky; left: 0; background: #fff; }
th:first-child { background: var(--band); }
td.text, th.text { text-align: left; white-space: normal; min-width: 14ch; }
td.text:first-child { min-width: 18ch; max-width: 34ch; }
tr:last-child td { border-bottom: none; }
td.win { background: var(--win); color: var(--win-ink); font-weight: 600; }
tr.winners td { background: var(--band); font-weight: 600; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 440px), 1fr)); gap: 14px; }
.stack figure { margin-bottom: 14px; }
.grid.small { grid-template-columns: repeat(auto-fit, minmax(min(100%, 340px), 1fr)); }
details.feature > summary h3 { display: inline; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 8px; background: #fff; }
figure img { display: block; width: auto; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { font-size: 0.85rem; color: var(--muted); margin-top: 4px; }
details { margin: 8px 0; }
summary { cursor: pointer; color: var(--accent); }
pre { background: var(--band); padding: 10px; border-radius: 6px; overflow-x: auto; font-size: 0.8rem;
      max-height: 480px; }
.why { color: var(--muted); }
"""


def esc(value) -> str:
    """HTML-escaped text of ``value``.

    >>> esc('<b> & "x"')
    '&lt;b&gt; &amp; &quot;x&quot;'
    """
    return html.escape(str(value), quote=True)


def number(x, digits: int = 3) -> str:
    """A figure for a table cell: ``—`` for None or NaN, ``∞`` for infinities, thousands separators.

    >>> number(1234.5678, 1), number(None), number(float("nan")), number(float("inf"))
    ('1,234.6', '—', '—', '∞')
    """
    if x is None:
        return "—"
    x = float(x)
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "∞" if x > 0 else "−∞"
    return f"{x:,.{digits}f}"


def signed(x, digits: int = 3) -> str:
    """:func:`number` with its sign: ``+0.120``, ``−`` for negatives as ``-0.120``, ``—`` when undefined.

    >>> signed(0.12), signed(-0.5, 1), signed(None)
    ('+0.120', '-0.5', '—')
    """
    text = number(x, digits)
    return text if text in ("—", "∞", "−∞") or text.startswith("-") else "+" + text


def percent(x, digits: int = 1) -> str:
    """A share as a percentage (``—`` when undefined).

    >>> percent(0.1234), percent(None)
    ('12.3%', '—')
    """
    text = number(None if x is None else 100 * float(x), digits)
    return text if text == "—" else text + "%"


def table(headers: Sequence[str], rows: Iterable[Sequence], *, cell_class: Sequence[Sequence[str]] | None = None,
          text_columns: Sequence[int] = (), footer: Sequence | None = None, caption: str = "") -> str:
    """A scrolling table; cells are escaped text. ``cell_class[i][j]`` adds a CSS class to a cell
    (``win`` marks a winner); ``text_columns`` are left-aligned and may wrap; ``footer`` is a
    last row styled as a summary (the winners)."""
    head = "".join(f'<th class="text">{esc(h)}</th>' if j in text_columns else f"<th>{esc(h)}</th>"
                   for j, h in enumerate(headers))
    body = []
    for i, row in enumerate(rows):
        cells = []
        for j, value in enumerate(row):
            cls = [] if cell_class is None else [cell_class[i][j]] if cell_class[i][j] else []
            if j in text_columns:
                cls.append("text")
            attr = f' class="{" ".join(cls)}"' if cls else ""
            cells.append(f"<td{attr}>{esc(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    if footer is not None:
        body.append('<tr class="winners">' + "".join(f"<td>{esc(v)}</td>" for v in footer) + "</tr>")
    cap = f'<p class="muted">{esc(caption)}</p>' if caption else ""
    return f'{cap}<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def png_figure(png: bytes, alt: str, caption: str = "") -> str:
    """A ``<figure>`` with the PNG inline (base64 ``data:`` URL)."""
    data = base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{esc(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="data:image/png;base64,{data}" alt="{esc(alt)}">{cap}</figure>'


def png_file_figure(path: Path, caption: str = "") -> str:
    """:func:`png_figure` of a PNG file of the results folder ("" when it is absent)."""
    path = Path(path)
    if not path.is_file():
        return ""
    return png_figure(path.read_bytes(), alt=path.name, caption=caption or path.name)


def fig_png(fig, dpi: int = 90) -> bytes:
    """A matplotlib figure as PNG bytes (the figure is closed)."""
    import io

    from banditsim.sim.report.plots import _matplotlib, render_once

    plt = _matplotlib()
    buf = io.BytesIO()
    try:
        render_once(fig)
        fig.savefig(buf, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    return buf.getvalue()


def section(anchor: str, title: str, body: str, intro: str = "") -> str:
    """An ``<h2>`` section with an anchor for the page's navigation."""
    lead = f"<p>{esc(intro)}</p>" if intro else ""
    return f'<section id="{esc(anchor)}"><h2>{esc(title)}</h2>{lead}{body}</section>'


def page(title: str, subtitle: str, sections: Sequence[tuple[str, str, str]]) -> str:
    """The whole document: ``sections`` are ``(anchor, nav label, html)``; empty ones are left out."""
    kept = [s for s in sections if s[2]]
    nav = "".join(f'<a href="#{esc(a)}">{esc(label)}</a>' for a, label, _ in kept)
    body = "".join(h for _, _, h in kept)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body><main>"
            f"<h1>{esc(title)}</h1><p class=\"muted\">{esc(subtitle)}</p><nav>{nav}</nav>{body}"
            "</main></body></html>\n")


def write_page(path: str | Path, text: str) -> Path:
    """Write the page atomically (temporary file, then rename), as UTF-8."""
    from banditsim.sim.atomic import atomic_path

    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path
