"""Download helpers: known public sources, resumable HTTP downloads, checksum verification,
bounded archive extraction.

:func:`download_file` fetches one URL into ``<dest>.part``, resumes an interrupted download,
and renames the part file to ``dest`` only once its size and SHA-256 (when known) are checked;
a mismatch raises :class:`DownloadError` (the details: :mod:`.transfer`).

:data:`SOURCES` lists the datasets depthduet reads, with their URLs, licence notes and the
loader that reads the downloaded layout. Sources behind a registration or licence acceptance
(KITTI, Cityscapes, ToFMark) have no URLs here: :func:`fetch` raises
:class:`RegistrationRequired` whose message holds the instructions. A SHA-256 and size are
pinned only where the exact bytes are published (the monodepth2 split files, fetched from a
fixed commit of the repository); NYU, Middlebury and Sintel publish no checksum, so their
files are checked only for completeness against the server's ``Content-Length``
(:attr:`Source.verification` says which applies) and the SHA-256 of what was downloaded is
recorded so that users can pin it.

:func:`extract_zip` unpacks all or nothing; members escaping the output folder, sizes over a
cap and zip bombs are refused with :class:`UnsafeArchive` (the details: :mod:`.archive`).

Nothing here runs on import; tests use a local HTTP server (127.0.0.1) through ``mirror``.

* :mod:`.sources` - :data:`SOURCES`, :class:`Source`, :class:`RemoteFile`, :func:`get_source`;
* :mod:`.transfer` - :func:`download_file`, :func:`fetch`, :func:`sha256_file`,
  :func:`url_file_name`;
* :mod:`.archive` - :func:`extract_zip` and its limits;
* :mod:`.errors` - :class:`DownloadError`, :class:`RegistrationRequired`,
  :class:`UnsafeArchive`.
"""

from __future__ import annotations

from depthduet.data.download.archive import (
    DEFAULT_MAX_RATIO,
    DEFAULT_MAX_UNZIPPED,
    RATIO_CHECK_MIN,
    extract_zip,
)
from depthduet.data.download.errors import DownloadError, RegistrationRequired, UnsafeArchive
from depthduet.data.download.sources import SOURCES, RemoteFile, Source, get_source
from depthduet.data.download.transfer import PathLike as PathLike  # str or os.PathLike
from depthduet.data.download.transfer import Progress as Progress  # (done, total) callback
from depthduet.data.download.transfer import (
    download_file,
    fetch,
    sha256_file,
    url_file_name,
)

__all__ = [
    "DownloadError",
    "RegistrationRequired",
    "UnsafeArchive",
    "RemoteFile",
    "Source",
    "SOURCES",
    "get_source",
    "sha256_file",
    "url_file_name",
    "download_file",
    "fetch",
    "extract_zip",
    "DEFAULT_MAX_UNZIPPED",
    "DEFAULT_MAX_RATIO",
    "RATIO_CHECK_MIN",
]
