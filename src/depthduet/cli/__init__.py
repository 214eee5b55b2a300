"""Command line: ``depthduet <command> ...`` (also ``python -m depthduet``).

Each command lives in its own module ``depthduet.cli.<name>`` exposing

* ``HELP``: one line shown in ``depthduet --help``;
* ``add_arguments(parser)``: declare its arguments;
* ``run(args) -> int``: parse nothing, hold no maths: load config, call one library function,
  print. Return the exit status.

Errors meant for the user (bad files, bad config) are raised as :class:`depthduet.errors.UserError`
(or ``ConfigError`` / ``DepthIOError``, its subclasses) and printed as one line, exit status 2.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")

#: command name -> module (imported lazily, so ``depthduet info`` does not import training code).
COMMANDS: dict[str, str] = {
    "info": "depthduet.cli.info",
    "convert": "depthduet.cli.convert",
    "show": "depthduet.cli.show",
    "synth": "depthduet.cli.synth",
    "train": "depthduet.cli.train",
    "evaluate": "depthduet.cli.evaluate",
    "upsample": "depthduet.cli.upsample",
    "degrade": "depthduet.cli.degrade",
    "predict": "depthduet.cli.predict",
    "download": "depthduet.cli.download",
    "export": "depthduet.cli.export",
    "example": "depthduet.cli.example",
}


def _available() -> dict[str, object]:
    mods = {}
    for name, modname in COMMANDS.items():
        try:
            mods[name] = importlib.import_module(modname)
        except ModuleNotFoundError as e:
            if e.name == modname:  # command not part of this build
                continue
            raise
    return mods


def options_as(cls: type[T], args: argparse.Namespace, **given: Any) -> T:
    """The dataclass ``cls`` (a command's parameters) from the parsed options of the same names;
    ``given`` sets the fields that are not read from an option as they stand."""
    names = [f.name for f in dataclasses.fields(cls) if f.name not in given]
    return cls(**given, **{k: getattr(args, k) for k in names})


def build_parser(mods: dict[str, object] | None = None) -> argparse.ArgumentParser:
    from depthduet import __version__

    mods = _available() if mods is None else mods
    parser = argparse.ArgumentParser(
        prog="depthduet",
        description=(
            "Depth learning with two networks that teach each other: depth super-resolution "
            "with cross-task knowledge transfer, and semi-supervised monocular depth with "
            "mutual distillation."
        ),
    )
    parser.add_argument("--version", action="version", version=f"depthduet {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, mod in mods.items():
        p = sub.add_parser(
            name,
            help=getattr(mod, "HELP", ""),
            description=getattr(mod, "DESCRIPTION", getattr(mod, "HELP", "")),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        mod.add_arguments(p)  # type: ignore[attr-defined]
        p.set_defaults(_run=mod.run, _intermixed=getattr(mod, "INTERMIXED", None))
    return parser


#: actions that keep one value: argparse silently keeps the last of repeated uses
_SINGLE_VALUE = (
    argparse._StoreAction,
    argparse._StoreConstAction,
    argparse._StoreTrueAction,
    argparse._StoreFalseAction,
)
#: options naming inputs, where a repeat usually means "these files"
_PATHS = {"gt", "pred", "lr", "images", "depth", "rgb"}


def _refuse_repeated_options(parser: argparse.ArgumentParser, command: str, argv: list) -> None:
    """Exit with a usage error (status 2) when an option that takes one value is given twice
    (``evaluate --gt a.mat --gt b.mat`` would otherwise evaluate ``b.mat`` alone)."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[
        command
    ]
    words = [str(w) for w in argv]
    words = words[words.index(command) + 1 :] if command in words else words
    if "--" in words:
        words = words[: words.index("--")]
    for action in sub._actions:
        if not isinstance(action, _SINGLE_VALUE) or not action.option_strings:
            continue
        opts = action.option_strings
        used = [w.split("=", 1)[0] for w in words if w.split("=", 1)[0] in opts]
        if len(used) > 1:
            hint = " (give a folder to process several files)" if action.dest in _PATHS else ""
            sub.error(f"{'/'.join(opts)} given {len(used)} times; it takes one value{hint}")


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every ``finally`` and temporary-file cleanup runs
    (a checkpoint being written is dropped, the last complete one stays)."""


def _handle_sigterm():  # -> the previous handler, or None when not in the main thread
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def raise_terminated(signum, frame):  # noqa: ARG001 - the signal API's signature
        raise _Terminated()

    return signal.signal(signal.SIGTERM, raise_terminated)


def main(argv: Sequence[str] | None = None) -> int:
    from depthduet.errors import UserError

    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    # a command may take key=value positionals after its options (``train CFG --out D k=v``):
    # argparse stops filling a positional list at the first option, so collect the rest here
    target = getattr(args, "_intermixed", None)
    if extra and target and not any(a.startswith("-") for a in extra):
        setattr(args, target, list(getattr(args, target) or []) + extra)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    _refuse_repeated_options(parser, args.command, list(sys.argv[1:] if argv is None else argv))
    previous = _handle_sigterm()
    try:
        return int(args._run(args) or 0)
    except _Terminated:
        print(f"depthduet {args.command}: terminated (SIGTERM)", file=sys.stderr)
        return 143
    except UserError as e:
        print(f"depthduet {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"depthduet {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `depthduet info --json | head`: the reader went away
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
        return 0
    except OSError as e:  # a folder that cannot be created, a read-only disk, ...
        where = e.filename if e.filename is not None else ""
        what = e.strerror or str(e)
        print(
            f"depthduet {args.command}: error: {where}: {what}"
            if where
            else f"depthduet {args.command}: error: {what}",
            file=sys.stderr,
        )
        return 2
    finally:
        if previous is not None:
            import signal

            signal.signal(signal.SIGTERM, previous)
