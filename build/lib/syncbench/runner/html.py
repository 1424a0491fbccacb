"""A study notebook as reviewer HTML: code hidden, charts visible offline, no CDN scripts."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

PLOTLY_MIMETYPE = "application/vnd.plotly.v1+json"

# nbconvert's lab template loads require.js, MathJax and Mermaid from CDNs; a reviewer's
# offline copy needs none of them (charts carry plotly.js inline, once per page).
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
"""
_EXTERNAL_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?\s*(?:https?:)?//", re.I)


def notebook_html(nb: nbformat.NotebookNode) -> str:
    """Return the HTML a reviewer reads: outputs only, charts visible without a network."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"syncbench_offline.html.j2": _OFFLINE_TEMPLATE})],
        template_file="syncbench_offline.html.j2",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    body, _ = exporter.from_notebook_node(_embed_interactive_charts(nb))
    return body


def write_notebook_html(nb: nbformat.NotebookNode, path: Path) -> Path:
    """Write `notebook_html(nb)` to `path`; ValueError if it would load a remote script."""
    text = notebook_html(nb)
    remote = external_scripts(text)
    if remote:
        raise ValueError(f"{path.name} would load remote scripts: {remote}")
    path.write_text(text, encoding="utf-8")
    return path


def external_scripts(html: str) -> list[str]:
    """Return each `<script src=...>` tag in `html` that points at another host."""
    return [match.group(0) for match in _EXTERNAL_SCRIPT.finditer(html)]


def _embed_interactive_charts(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Copy of `nb` where every Plotly output shows as an interactive chart: HTML with
    plotly.js inline (once per page, so it works offline), its PNG (when the kernel made
    one) kept only as the fallback for readers without JavaScript (<noscript>)."""
    import plotly.io as pio

    nb = copy.deepcopy(nb)
    plotlyjs_included = False
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if PLOTLY_MIMETYPE not in data:
                continue
            chart = pio.to_html(
                dict(data[PLOTLY_MIMETYPE]),
                full_html=False,
                include_plotlyjs=not plotlyjs_included,
                include_mathjax=False,
            )
            png = data.get("image/png")
            if png:
                chart += (f'<noscript><img alt="chart (static)" '
                          f'src="data:image/png;base64,{str(png).strip()}"></noscript>')
            data["text/html"] = chart  # nbconvert shows HTML before a PNG
            plotlyjs_included = True
    return nb
