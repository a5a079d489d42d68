"""What the page offers for a take: one descriptor per task, shown when the catalog has a model
for that task. A descriptor says which job kind runs it, whether it needs a selected region,
its parameters (shown as inputs; `field` ones are sent as request fields, the others fill the
`words`) and the plain words the planner reads ({start}, {end}, {before}, {after}, {style}).

Adding an action (e.g. `separate`, `layer`) is one descriptor here and, for a new job kind,
one entry in `app.JOB_KINDS`; the page renders descriptors generically.
"""

from __future__ import annotations

from typing import Any

ACTIONS: tuple[dict[str, Any], ...] = (
    {"task": "inpaint", "kind": "edit", "label": "Replace this", "region": True,
     "help": "Repaint the selected region to match the rest of the take",
     "words": "replace {start} s to {end} s{style}", "params": []},
    {"task": "outpaint", "kind": "edit", "label": "Extend", "region": False,
     "help": "Add new music before and/or after the take",
     "words": "add {before} seconds at the start and {after} seconds at the end{style}",
     "params": [{"name": "before", "label": "seconds before", "min": 0, "max": 240, "step": 0.5, "default": 0},
                {"name": "after", "label": "seconds after", "min": 0, "max": 240, "step": 0.5, "default": 8}]},
    {"task": "remix", "kind": "edit", "label": "Remix", "region": False,
     "help": "Re-render the take in a new style",
     "words": "remix it{style}",
     "params": [{"name": "strength", "label": "strength", "min": 0, "max": 1, "step": 0.05, "default": 0.5,
                 "field": True}]},
)


def actions_for(tasks: set[str]) -> list[dict[str, Any]]:
    """The descriptors whose task some catalog model performs."""
    return [dict(action) for action in ACTIONS if action["task"] in tasks]
