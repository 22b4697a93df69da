"""Draw the layout of a synthesized dashboard (its widgets' grid boxes and titles) as a PNG.

    .venv/bin/python tools/dashboard_png.py cdk.out/NovaRftRewards-dev.template.json docs/dashboard-dev.png

Reads the DashboardBody of the template's dashboard (intrinsics rendered as <...>), so the
picture in the README is the synthesized dashboard, not a drawing of it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

GRID_WIDTH = 24
COLORS = {"text": "#f2f2f2", "metric": "#dbe9f6", "bar": "#fde3c8", "alarm": "#f8d0d0"}


def _unjoin(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_unjoin(part) for part in parts)
    if isinstance(value, dict) and "Ref" in value:
        return f"<{value['Ref']}>"
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    raise ValueError(f"cannot render {value!r}")


def dashboard_body(template: dict[str, Any]) -> dict[str, Any]:
    (resource,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Dashboard"]
    body: dict[str, Any] = json.loads(_unjoin(resource["Properties"]["DashboardBody"]))
    return body


def _label(widget: dict[str, Any]) -> str:
    props = widget.get("properties", {})
    if widget["type"] == "text":
        first = props.get("markdown", "").strip().splitlines()[0] if props.get("markdown") else ""
        return first.lstrip("#").strip().replace("**", "")
    return str(props.get("title", widget["type"]))


def _kind(widget: dict[str, Any]) -> str:
    props = widget.get("properties", {})
    if widget["type"] == "metric" and props.get("view") == "bar":
        return "bar"
    return widget["type"] if widget["type"] in COLORS else "metric"


def draw(body: dict[str, Any], out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    widgets = body["widgets"]
    height = max(w["y"] + w["height"] for w in widgets)
    scale = 0.32  # inches per grid unit
    fig, ax = plt.subplots(figsize=(GRID_WIDTH * scale, height * scale * 0.8 + 0.6))
    for widget in widgets:
        x, y, w, h = widget["x"], widget["y"], widget["width"], widget["height"]
        ax.add_patch(Rectangle((x, y), w, h, facecolor=COLORS[_kind(widget)], edgecolor="#555555", linewidth=0.6))
        text = _label(widget)
        limit = max(8, int(w * 4.2))
        if len(text) > limit:
            text = text[: limit - 1] + "…"
        size = 5 if widget["type"] == "text" and h <= 1 else 6
        ax.text(x + 0.2, y + min(h, 1.0) / 2 + 0.05, text, fontsize=size, va="center", ha="left")
    ax.set_xlim(0, GRID_WIDTH)
    ax.set_ylim(height, 0)
    ax.set_axis_off()
    ax.set_title(title, fontsize=8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("template", type=Path, help="a synthesized stack template (cdk.out/*.template.json)")
    parser.add_argument("png", type=Path, help="where to write the picture")
    args = parser.parse_args(argv)
    template = json.loads(args.template.read_text(encoding="utf-8"))
    body = dashboard_body(template)
    draw(body, args.png, f"{args.template.name.removesuffix('.template.json')}: dashboard layout "
         f"({len(body['widgets'])} widgets; blue: graphs, orange: histogram, grey: text)")
    print(f"wrote {args.png} ({len(body['widgets'])} widgets)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
