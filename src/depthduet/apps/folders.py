"""One loop for the jobs over several files: each file is processed on its own, a file that
fails is reported in one line and skipped, and the job fails at the end."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from depthduet.apps.messages import Messages
from depthduet.errors import UserError

__all__ = ["FileResults", "file_error", "process_files"]

#: ``job(path) -> (output, line)``: the work for one input file; ``output`` names what was
#: written (recorded), ``line`` is reported as the file's result
FileJob = Callable[[Path], tuple[str, str]]


@dataclass
class FileResults:
    """What a job over files did.

    Attributes:
        done: input file -> what was written for it.
        failed: input file -> the one-line report of its error (:func:`file_error`).
    """

    done: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def file_error(path: Path, error: BaseException) -> str:
    """The one-line report of ``error``, raised while processing ``path``: the message of a
    :class:`~depthduet.errors.UserError`, else the exception's type and message; prefixed with
    the path unless the message names it already."""
    text = str(error) if isinstance(error, UserError) else f"{type(error).__name__}: {error}"
    return text if str(path) in text else f"{path}: {text}"


def process_files(
    files: Iterable[Path], job: FileJob, messages: Messages, *, stop_at_first: bool = False
) -> FileResults:
    """Run ``job`` on every file, in order.

    A file whose job raises is reported on ``messages.err`` (``error: <file_error>``) and the
    next file is processed; ``KeyboardInterrupt`` stops the loop.

    Args:
        files: the input files.
        job: the work for one file (:data:`FileJob`); its line goes to ``messages.out``.
        messages: where the lines and errors go.
        stop_at_first: raise the first failure instead (one input: a plain error).

    Returns:
        The :class:`FileResults`.

    Raises:
        UserError: with ``stop_at_first``, the first failure's one-line report.
    """
    results = FileResults()
    for f in files:
        try:
            output, line = job(f)
            messages.out(line)
            results.done[str(f)] = output
        except KeyboardInterrupt:
            raise
        except Exception as e:  # keep going: report the file, fail at the end
            msg = file_error(f, e)
            if stop_at_first:
                raise UserError(msg) from e
            messages.err(f"error: {msg}")
            results.failed[str(f)] = msg
    return results
