"""The command line's help: a description for every command, and the README's summary naming every option."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from stancelabel.cli.main import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"


def subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(action.choices)


def options(parser: argparse.ArgumentParser) -> list[list[str]]:
    """The option strings of each optional argument, help excepted."""
    return [list(a.option_strings) for a in parser._actions
            if a.option_strings and not isinstance(a, argparse._HelpAction)]


def summary() -> dict[str, str]:
    """The README's command summary (the code block under "## Command line"), by command."""
    section = README.read_text(encoding="utf-8").split("## Command line", 1)[1]
    block = section.split("```", 2)[1]
    out: dict[str, str] = {}
    command = ""
    for line in block.splitlines():
        start = re.match(r"stancelabel(?:\s+(\w+))?", line)
        if start:
            command = start.group(1) or ""
        out[command] = out.get(command, "") + "\n" + line
    return out


def named(text: str, strings: list[str]) -> bool:
    return any(re.search(rf"(?<![\w-]){re.escape(s)}(?![\w-])", text) for s in strings)


def test_every_command_has_a_description():
    missing = [name for name, sub in subcommands().items() if not (sub.description or "").strip()]
    assert missing == []


@pytest.mark.parametrize("command", sorted(subcommands()))
def test_the_readme_summary_names_every_option_of(command):
    parser, text, block = subcommands()[command], summary().get(command, ""), "\n".join(summary().values())
    assert text, f"the README's command summary has no line for `stancelabel {command}`"
    shared = options(build_parser())  # -v and the like: every command takes them; named once, anywhere
    missing = [strings for strings in options(parser)
               if not named(text, strings) and not (strings in shared and named(block, strings))]
    assert missing == [], f"`stancelabel {command} --help` lists options the README's summary does not name"
    positionals = [a.metavar or a.dest.upper() for a in parser._actions
                   if not a.option_strings and not isinstance(a, argparse._SubParsersAction)]
    assert [m for m in positionals if m not in text] == []
    for group in [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]:
        for name, sub in group.choices.items():  # stancelabel server add-annotator ...: each action, its options
            line = next((x for x in text.splitlines() if f"{command} {name}" in x), "")
            assert line, f"the README's command summary has no line for `stancelabel {command} {name}`"
            assert [s for s in options(sub) if not named(line, s) and s not in shared] == []
            assert (sub.description or "").strip(), f"`stancelabel {command} {name}` has no description"


def test_the_readme_summary_names_the_top_level_options():
    block = "\n".join(summary().values())
    assert [s for s in options(build_parser()) if not named(block, s)] == []
