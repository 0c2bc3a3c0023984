"""Server-rendered SVG bar charts (no script, no inline style: the CSP forbids both)."""

from __future__ import annotations

from html import escape

__all__ = ["bar_chart"]

_COLOURS = {"red": "#c62828", "orange": "#ef6c00", "yellow": "#f9a825"}


def bar_chart(rows: list[tuple[str, int]], *, colours: list[str] | None = None, width: int = 560, bar: int = 22) -> str:
    """Horizontal bars, one per (label, value); values printed at the bar's end."""
    if not rows:
        return '<p class="muted">暂无数据</p>'
    label_w = 150
    top = max(v for _, v in rows) or 1
    room = width - label_w - 60
    height = len(rows) * (bar + 8) + 8
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" xmlns="http://www.w3.org/2000/svg">',
    ]
    for i, (name, value) in enumerate(rows):
        y = 8 + i * (bar + 8)
        w = max(1, round(room * value / top)) if value else 0
        fill = _COLOURS.get(colours[i], "#1565c0") if colours else "#1565c0"
        parts.append(
            f'<text x="{label_w - 6}" y="{y + bar * 0.7:.0f}" text-anchor="end" font-size="13">{escape(name)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w}" height="{bar}" fill="{fill}"></rect>'
            f'<text x="{label_w + w + 6}" y="{y + bar * 0.7:.0f}" font-size="13">{value:,}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
