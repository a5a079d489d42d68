"""What the page offers for a take: one descriptor per task, shown when the catalog has a model
for that task. A descriptor says which job kind runs it, whether it needs a selected region,
its parameters (shown as inputs; `field` ones are sent as request fields, the others fill the
`words`) and the plain words the planner reads ({start}, {end}, {before}, {after}, {style}).

Adding an action is one descriptor here and, for a new job kind, one entry in `app.JOB_KINDS`;
the page renders descriptors generically (`id` names a descriptor when several share a task).
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
    # stems and parts (issue 19): the planner routes the words to `separate` / `layer`; several
    # descriptors may share a task, so each has its own `id` (the page's element ids)
    {"task": "separate", "id": "stems", "kind": "edit", "label": "Stems", "region": False,
     "help": "Split the take into its parts: one file per stem beside it",
     "words": "give me the stems", "params": []},
    {"task": "separate", "id": "instrumental", "kind": "edit", "label": "Instrumental", "region": False,
     "help": "The take without its vocals (and the vocals alone)",
     "words": "an instrumental version of my song", "params": []},
    {"task": "layer", "id": "add-drums", "kind": "edit", "label": "Add drums", "region": False,
     "help": "Compose a drum part on the take's tempo and bar grid and mix it in (and the part alone)",
     "words": "add drums to this{style}", "params": []},
    {"task": "layer", "id": "add-strings", "kind": "edit", "label": "Add strings", "region": False,
     "help": "Compose a string part in the take's key and mix it in (and the part alone)",
     "words": "add strings to this{style}", "params": []},
)


def actions_for(tasks: set[str]) -> list[dict[str, Any]]:
    """The descriptors whose task some catalog model performs."""
    return [dict(action) for action in ACTIONS if action["task"] in tasks]
