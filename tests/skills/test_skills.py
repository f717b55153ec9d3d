"""The assistant skills show exact commands; every one of them must parse with today's CLI.

Each `tradd ...` line in a ```bash block is parsed by the real command tree (click's
`make_context`, which checks every option, type and required argument) without running
it, so a renamed or removed option fails here instead of in front of a user.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer
import typer.main

try:  # typer >= 0.20 vendors click; older releases use the click package
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover
    from click.exceptions import UsageError  # type: ignore[no-redef]

from tradd.cli.app import build_app
from tradd.cli.common import join_list_arguments

SKILLS = Path(__file__).resolve().parents[2] / "skills"
BLOCK = re.compile(r"```bash\n(.*?)```", re.DOTALL)


def skill_files() -> list[Path]:
    return sorted(SKILLS.glob("*/SKILL.md"))


def commands_in(path: Path) -> list[str]:
    lines = []
    for block in BLOCK.findall(path.read_text()):
        lines += [line.strip() for line in block.splitlines() if line.strip()]
    return lines


def parse(line: str) -> typer.Context:
    """Resolve the subcommand chain, then build the leaf's context: options are checked."""
    words = shlex.split(line)
    assert words[0] == "tradd", f"not a tradd command: {line}"
    args = join_list_arguments(words[1:])
    group = typer.main.get_command(build_app())
    ctx = group.make_context("tradd", list(args))
    while hasattr(group, "resolve_command"):
        protected = getattr(ctx, "protected_args", None) or getattr(ctx, "_protected_args", [])
        if not protected and not ctx.args and group.invoke_without_command:
            break  # a group that is itself the command (`tradd simgw`)
        name, command, rest = group.resolve_command(ctx, [*protected, *ctx.args])
        group = command
        ctx = command.make_context(name or "", list(rest), parent=ctx)
    return ctx


def test_both_skills_exist_with_front_matter() -> None:
    names = {p.parent.name for p in skill_files()}
    assert {"data-manager", "backtest-runner"} <= names
    for path in skill_files():
        text = path.read_text()
        assert text.startswith(f"---\nname: {path.parent.name}\ndescription: "), path
        assert "Trigger phrases" in text, path


@pytest.mark.parametrize("path", skill_files(), ids=lambda p: p.parent.name)
def test_every_command_shown_parses(path: Path) -> None:
    lines = commands_in(path)
    assert len(lines) >= 5, f"{path}: expected the workflows' commands"
    for line in lines:
        try:
            parse(line)
        except UsageError as exc:
            pytest.fail(f"{path.parent.name}: {line!r} does not parse: {exc.format_message()}")


def test_the_checker_rejects_a_wrong_option() -> None:
    """Guards the test itself: a misspelt option must not slip through."""
    with pytest.raises(UsageError, match="--symbolz"):
        parse("tradd backtest --strategy s.S --symbolz GOOG --output out")
    with pytest.raises(UsageError):
        parse("tradd backtest --strategy s.S --output out")  # --symbols is required
    with pytest.raises(UsageError, match="backtestt"):
        parse("tradd backtestt --strategy s.S")


def test_the_skills_cover_each_workflow() -> None:
    shown = {tuple(shlex.split(line)[1:3]) for path in skill_files() for line in commands_in(path)}
    verbs = {w[0] for w in shown} | {" ".join(w) for w in shown}
    for needed in ("data import", "data download", "data validate", "backtest", "optimize",
                   "walkforward", "compare", "scan", "runs list"):  # fmt: skip
        assert needed in verbs, f"no skill shows `tradd {needed}`"
