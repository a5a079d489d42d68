"""`aimusic skill show|install`: the agent skill, generated from the catalog and the planner."""

from __future__ import annotations

import click


@click.group()
def skill() -> None:
    """The Agent Skill that teaches coding agents to use aimusic."""


@skill.command("show")
def show() -> None:
    """Print the generated SKILL.md."""
    from aimusic.skill import render_skill

    click.echo(render_skill(), nl=False)


@skill.command("install")
@click.option("--dir", "directory", default="~/.claude/skills", show_default=True,
              help="Skills directory; the skill goes in DIR/aimusic/SKILL.md.")
def install(directory: str) -> None:
    """Write the skill folder (regenerated from this installation's catalog)."""
    from aimusic.skill import install as install_skill

    path = install_skill(directory)
    click.echo(str(path))
