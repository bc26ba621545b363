"""What the command line needs beyond parsing: one-line errors instead of tracebacks, and options derived from a
configuration dataclass, so that a knob's flag, default and help are written once (in its field's metadata).

`edgefer.cli` stays a thin list of commands; this module holds the machinery they share.
"""

from __future__ import annotations

import errno
import functools
import inspect
import typing
from dataclasses import MISSING, Field, fields

import typer
from rich.markup import escape

from edgefer.core.progress import console
from edgefer.errors import EdgeferError


def hide_flag_types() -> None:
    """Typer 0.29's rich help prints `<bool>` after every on/off flag, which reads as if it took a value."""
    from typer.core import TyperOption

    shown = getattr(TyperOption, "display_type_rich", None)
    if shown is None or getattr(shown, "_edgefer", False):  # other typer versions: nothing to hide, or done
        return

    def display_type_rich(self, ctx):
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    display_type_rich._edgefer = True
    TyperOption.display_type_rich = display_type_rich


def user_errors(command):
    """Print user errors as one line and exit 2 instead of showing a traceback; Ctrl-C exits 130."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except EdgeferError as error:  # the message as it is: no [markup] in it is eaten ('.[train]')
            console.print(f"[bold red]error:[/] {escape(str(error))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except OSError as error:  # an output that cannot be written (read-only, under a file, disk full)
            console.print(f"[bold red]error:[/] {escape(describe_os_error(error))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            console.print("[yellow]interrupted[/]")
            raise typer.Exit(130) from None

    return wrapper


def describe_os_error(error: OSError) -> str:
    """One line: the path and what went wrong, e.g. 'out/x.png: cannot write there (Not a directory)'."""
    path = error.filename or ""
    reason = error.strerror or str(error)
    hints = {errno.ENOSPC: "the disk is full", errno.EROFS: "read-only file system",
             errno.EACCES: "permission denied", errno.ENOTDIR: "a part of the path is a file, not a folder",
             errno.EEXIST: "a file is in the way of a folder"}
    hint = hints.get(error.errno)
    detail = f"{hint} ({reason})" if hint and hint.lower() != reason.lower() else reason
    return f"{path}: cannot read or write there: {detail}" if path else f"file system error: {detail}"


# ---------------------------------------------------------------------------------------------------
# Options from a dataclass's field metadata ({"flag": "--lr", "help": "...", "min": ..., "invert": True})


def option(flag: str, help: str, **click) -> dict:
    """A configuration field's command-line flag and help, as its dataclass metadata (`field(metadata=option(...))`):
    every command derives its options from these; `click`: extra settings of the option (min, max, metavar), or
    invert=True for an off-flag of a True default."""
    return {"flag": flag, "help": help, **click}


def _option_type(annotation):
    """`int | None` -> Optional[int] (the form Typer reads); other annotations as they are."""
    args = typing.get_args(annotation)
    if type(None) in args:
        (inner,) = [a for a in args if a is not type(None)]
        return typing.Optional[inner]
    return annotation


def option_fields(config_class) -> list[Field]:
    """The fields of a dataclass that are command-line options (a flag in their metadata), in field order."""
    return [f for f in fields(config_class) if "flag" in f.metadata]


def cli_default(f: Field):
    """The option's default: the field's (an inverted on/off flag is off by default)."""
    default = f.default if f.default is not MISSING else f.default_factory()
    return (not default) if f.metadata.get("invert") else default


def option_parameters(config_class) -> list[inspect.Parameter]:
    """Keyword parameters with typer.Option defaults, one per option field: name, type, default, flag, help."""
    hints = typing.get_type_hints(config_class)
    parameters = []
    for f in option_fields(config_class):
        meta = dict(f.metadata)
        flag, text = meta.pop("flag"), meta.pop("help")
        invert = meta.pop("invert", False)
        annotation = bool if invert else _option_type(hints[f.name])
        default = typer.Option(cli_default(f), flag, help=text, show_default=cli_default(f) is not None, **meta)
        parameters.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=annotation))
    return parameters


def config_values(config_class, options: dict) -> dict:
    """Parsed option values -> the dataclass's field values (inverted flags turned back)."""
    return {f.name: (not options[f.name]) if f.metadata.get("invert") else options[f.name]
            for f in option_fields(config_class) if f.name in options}


def command_with_options(function, config_class, *extra: inspect.Parameter):
    """`function(**values)` as a Typer command whose options are `extra` and the dataclass's option fields."""

    @functools.wraps(function)
    def command(*args, **values):
        return function(*args, **values)

    positional = [p for p in extra if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    keyword = [p for p in extra if p.kind is not inspect.Parameter.POSITIONAL_OR_KEYWORD]
    command.__signature__ = inspect.Signature([*positional, *keyword, *option_parameters(config_class)])
    return command


# ---------------------------------------------------------------------------------------------------
# The CLI reference (docs/cli.md), generated from the typer app so that it cannot drift from the options


def cli_reference(app) -> str:
    """Markdown for every command and option of the `edgefer` app, as typer's own docs generator writes it."""
    from typer.cli import get_docs_for_click
    from typer.main import get_command

    command = get_command(app)
    ctx = typer.Context(command, info_name="edgefer")  # plain text: no rich markup in the generated page
    text = get_docs_for_click(obj=command, ctx=ctx, name="edgefer", title="`edgefer` command reference")
    note = ("<!-- generated from the typer app by `python -m edgefer.cli --write-reference docs/cli.md`; "
            "tests/test_cli.py checks it is current -->\n\n")
    return note + text.strip() + "\n"
