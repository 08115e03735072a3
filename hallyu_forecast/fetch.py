"""Download raw source files into a local cache, verifying SHA-256 checksums.

Files are fetched from their canonical public URL (``RawFile.url``), or, when a base URL is
given (``base_url=`` or ``HALLYU_DATA_BASE_URL``), from ``<base>/<source>/<path>`` — a mirror
with the same layout as ``HALLYU_DATA_DIR``. A download whose checksum differs from the
registered one is discarded and raises :class:`ChecksumError`; a cached file is never
replaced without saying so.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from hallyu_forecast.errors import ChecksumError, DataError
from hallyu_forecast.sources import SOURCE_NAMES, default_cache_dir, get_source


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class PullResult:
    """What happened to one raw file during :func:`pull`."""

    source: str
    path: Path
    status: str  # "downloaded", "cached", "replaced", "unavailable"
    detail: str = ""


def _download(url: str, target: Path, timeout: float) -> None:
    request = urllib.request.Request(url, headers={"User-Agent": "hallyu_forecast"})
    with urllib.request.urlopen(request, timeout=timeout) as response, open(target, "wb") as out:
        shutil.copyfileobj(response, out)


def pull(
    sources: Iterable[str] | None = None,
    dest: str | Path | None = None,
    base_url: str | None = None,
    timeout: float = 60.0,
    progress: Callable[[str], None] | None = None,
) -> list[PullResult]:
    """Download the raw files of ``sources`` (default: all) into ``dest`` (default: the cache).

    Parameters
    ----------
    sources : iterable of str, optional
        Source names; default every registered source.
    dest : path, optional
        Target folder (one sub-folder per source). Default :func:`default_cache_dir`.
    base_url : str, optional
        Mirror base URL serving ``<source>/<path>``; default ``HALLYU_DATA_BASE_URL`` or, if unset,
        each file's canonical URL.
    timeout : float
        Seconds per request.
    progress : callable, optional
        Called with one line of text per file.

    Returns
    -------
    list of PullResult

    Raises
    ------
    ChecksumError
        A downloaded file's SHA-256 differs from the registered one (the file is discarded).
    DataError
        A download failed (network error, HTTP error).
    """
    names = list(sources) if sources is not None else list(SOURCE_NAMES)
    dest = Path(dest).expanduser() if dest is not None else default_cache_dir()
    base_url = base_url if base_url is not None else os.environ.get("HALLYU_DATA_BASE_URL")
    say = progress or (lambda _line: None)
    results: list[PullResult] = []
    for name in names:
        source = get_source(name)
        folder = dest / name
        folder.mkdir(parents=True, exist_ok=True)
        for raw in source.files:
            target = folder / raw.path
            replaced = False
            if target.is_file():
                if sha256_file(target) == raw.sha256:
                    results.append(PullResult(name, target, "cached"))
                    say(f"[cached]     {name}/{raw.path}")
                    continue
                replaced = True
            url = f"{base_url.rstrip('/')}/{name}/{raw.path}" if base_url else raw.url
            if url is None:
                detail = ("compiled by hand from public pages; no download URL. Copy it from a "
                          "mirror (HALLYU_DATA_DIR) or pass a mirror base URL.")
                results.append(PullResult(name, target, "unavailable", detail))
                say(f"[no url]     {name}/{raw.path}: {detail}")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".part-")
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                try:
                    _download(url, tmp, timeout)
                except (urllib.error.URLError, OSError, ValueError) as exc:
                    raise DataError(
                        f"Download of {name}/{raw.path} from {url} failed ({exc}). Check the network, "
                        "or set HALLYU_DATA_DIR to an offline mirror."
                    ) from exc
                got = sha256_file(tmp)
                if got != raw.sha256:
                    raise ChecksumError(
                        f"Checksum mismatch for {name}/{raw.path} downloaded from {url}: expected "
                        f"sha256 {raw.sha256}, got {got}. The file was discarded. The publisher may "
                        "have changed it: verify the new file, then update the RawFile checksum in "
                        f"hallyu_forecast/sources/{name}.py and rebuild the panel."
                    )
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
            status = "replaced" if replaced else "downloaded"
            detail = "cached copy had a different checksum" if replaced else ""
            results.append(PullResult(name, target, status, detail))
            say(f"[{status:<10}] {name}/{raw.path}" + (f" ({detail})" if detail else ""))
    return results


def verify(data_dir: str | Path | None = None, sources: Iterable[str] | None = None) -> dict[str, dict[str, str]]:
    """Checksums of the raw files in ``data_dir``; raise :class:`ChecksumError` on any mismatch.

    Returns ``{source: {path: sha256}}`` for the files found.
    """
    from hallyu_forecast.sources import resolve_data_dir

    root = resolve_data_dir(data_dir)
    found: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    for name in sources if sources is not None else SOURCE_NAMES:
        source = get_source(name)
        found[name] = {}
        for raw in source.files:
            path = root / name / raw.path
            if not path.is_file():
                problems.append(f"{path}: missing")
                continue
            got = sha256_file(path)
            found[name][raw.path] = got
            if got != raw.sha256:
                problems.append(f"{path}: sha256 {got}, expected {raw.sha256}")
    if problems:
        raise ChecksumError(
            "Raw files differ from the registered vintage:\n  " + "\n  ".join(problems)
            + "\nRestore them (`hallyu-forecast data pull`), or build anyway with "
            "`hallyu-forecast data build --allow-changed-files` to create a new vintage."
        )
    return found
