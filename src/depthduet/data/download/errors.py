"""What the download helpers raise (all :class:`~depthduet.errors.UserError`: one line for the
command line, no traceback)."""

from __future__ import annotations

from depthduet.errors import UserError

__all__ = ["DownloadError", "RegistrationRequired", "UnsafeArchive"]


class DownloadError(UserError):
    """A download failed (network error, HTTP error, size or checksum mismatch)."""


class RegistrationRequired(UserError):
    """The source needs a registration / licence acceptance; the message says what to do."""


class UnsafeArchive(DownloadError):
    """An archive refused before extraction: a member escaping the output folder, a symlink
    pointing outside it, or sizes past the limits (a likely zip bomb).

    Attributes:
        limit: ``"max_total"`` or ``"max_ratio"`` when a configurable limit refused it, else
            ``None`` (a path escaping the output folder is never accepted).
    """

    def __init__(self, message: str, limit: str | None = None) -> None:
        super().__init__(message)
        self.limit = limit
