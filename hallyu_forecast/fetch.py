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
from hallyu_forecast.sources import SOURCE_NAMES, default_cache_dir, get_source, resolve_data_dir
from hallyu_forecast.sources._io import restore_hint as hint


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


def _extract_member(archive: Path, member: str, target: Path, archive_url: str) -> None:
    """Copy ``member`` of the ZIP ``archive`` to ``target`` (zipfile checks the member's CRC)."""
    import zipfile

    try:
        with zipfile.ZipFile(archive) as zf:
            names = zf.namelist()
            if member not in names:
                raise DataError(f"The ZIP {archive_url} has no member {member} (it holds {names[:10]}). The "
                                "publisher may have renamed it: update the RawFile entry of the source.")
            with zf.open(member) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
    except zipfile.BadZipFile as exc:
        raise DataError(f"The download from {archive_url} is not a valid ZIP ({exc}). Retry `data pull`, "
                        "or set HALLYU_DATA_DIR to an offline mirror.") from None


def restore_hint(source: str, raw) -> str:
    """What to do about a missing or damaged raw file, matched to where the file can be had."""

    return hint(source, raw)


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
    archives: dict[str, Path] = {}  # one download per ZIP, shared by its members
    scratch = tempfile.TemporaryDirectory(prefix="hallyu-zip-")
    try:
        _pull_into(names, dest, base_url, timeout, say, results, archives, Path(scratch.name))
    finally:
        scratch.cleanup()
    return results


def _pull_into(names, dest, base_url, timeout, say, results, archives, scratch) -> None:
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
            archive = None if base_url else getattr(raw, "archive", None)
            if url is None and archive is None:
                detail = restore_hint(name, raw)
                results.append(PullResult(name, target, "unavailable", detail))
                say(f"[no url]     {name}/{raw.path}: {detail}")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=".part-")
            os.close(fd)
            tmp = Path(tmp_name)
            try:
                source_url = url if url is not None else archive
                try:
                    if url is not None:
                        _download(url, tmp, timeout)
                    else:
                        if archive not in archives:
                            archives[archive] = scratch / f"{len(archives)}.zip"
                            try:
                                _download(archive, archives[archive], timeout)
                            except BaseException:
                                archives.pop(archive).unlink(missing_ok=True)
                                raise
                        member = raw.member or Path(raw.path).name
                        _extract_member(archives[archive], member, tmp, archive)
                        source_url = f"{archive} (member {member})"
                except (urllib.error.URLError, OSError, ValueError) as exc:
                    if isinstance(exc, DataError):
                        raise
                    raise DataError(
                        f"Download of {name}/{raw.path} from {source_url} failed ({exc}). Check the network, "
                        "or set HALLYU_DATA_DIR to an offline mirror."
                    ) from exc
                url = source_url
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


def verify(data_dir: str | Path | None = None, sources: Iterable[str] | None = None) -> dict[str, dict[str, str]]:
    """Checksums of the raw files in ``data_dir``; raise :class:`ChecksumError` on any mismatch.

    Returns ``{source: {path: sha256}}`` for the files found.
    """

    root = resolve_data_dir(data_dir)
    found: dict[str, dict[str, str]] = {}
    problems: list[str] = []
    for name in sources if sources is not None else SOURCE_NAMES:
        source = get_source(name)
        found[name] = {}
        for raw in source.files:
            path = root / name / raw.path
            if not path.is_file():
                problems.append(f"{path}: missing. {restore_hint(name, raw)}")
                continue
            got = sha256_file(path)
            found[name][raw.path] = got
            if got != raw.sha256:
                problems.append(f"{path}: sha256 {got}, expected {raw.sha256}. {restore_hint(name, raw)}")
    if problems:
        raise ChecksumError(
            "Raw files differ from the registered vintage:\n  " + "\n  ".join(problems)
            + "\nRestore them, or build anyway with "
            "`hallyu-forecast data build --allow-changed-files` to create a new vintage."
        )
    return found
