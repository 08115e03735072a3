"""Checks run before any long work starts: output paths, tracking URIs, storage URLs, inputs.

Each check is small and pure (it only looks at the file system or parses a string), returns the
normalised value, and raises a :class:`~hallyu_forecast.errors.PreflightError` (or
:class:`~hallyu_forecast.errors.InputTypeError` for values of the wrong type) whose message is
one line: what is wrong, where, and what to do. The CLI calls them at the top of every command,
so a typo in ``--out`` fails in milliseconds instead of after minutes of training.

Examples
--------
>>> from hallyu_forecast import preflight
>>> preflight.check_storage_url("sqlite:///optuna.db")
'sqlite:///optuna.db'
>>> preflight.check_storage_url("notaurl://x")  # doctest: +IGNORE_EXCEPTION_DETAIL
Traceback (most recent call last):
PreflightError: Optuna storage `notaurl://x` has an unknown scheme `notaurl` ...
"""

from __future__ import annotations

import os
import socket
import stat
import tempfile
from pathlib import Path
from typing import Iterable
from urllib.parse import urlparse

from hallyu_forecast.countries import resolve_countries as _resolve_countries
from hallyu_forecast.errors import ConfigError, DataError, InputTypeError, PreflightError
from hallyu_forecast.panel import DESTINATION, PANEL_DIR_ENV, default_panel_dir, panel_dir_file
from hallyu_forecast.sources import default_cache_dir, resolve_data_dir

#: URL schemes (before any ``+driver``) accepted for an Optuna RDB storage.
OPTUNA_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "oracle", "mssql")
#: Database schemes MLflow accepts as a tracking backend, besides file/http(s)/databricks.
MLFLOW_DB_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")


def _read_only_file(path: Path) -> bool:
    """True for an existing file nobody may write: root ignores permissions, so check the bits too."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not os.access(path, os.W_OK) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def _probe_dir(folder: Path) -> str | None:
    """Try to create a file in ``folder``; return the OS reason on failure (None when writable)."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".hallyu-write-test-"):
            pass
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    return None


def _nearest_existing(path: Path) -> Path:
    current = path
    while not current.exists() and current != current.parent:
        current = current.parent
    return current


def check_output_file(path: str | os.PathLike, what: str = "--out", create_parent: bool = False,
                      example: str = "output") -> Path:
    """An output file path: not a folder, its folder exists (or may be created) and is writable,
    and an existing file there is not read-only.

    Parameters
    ----------
    path : path-like
        Where the file will be written.
    what : str
        How the user gave the path (an option name such as ``--csv``), used in the message.
    create_parent : bool
        The writer creates missing parent folders itself, so only the nearest existing ancestor
        must be a writable folder.
    example : str
        A file name suggested when ``path`` is a folder.

    Returns
    -------
    Path
    """
    target = Path(path).expanduser()
    if str(path).strip() == "":
        raise PreflightError(f"{what} is empty: give a file path such as report.html.")
    if target.is_dir():
        raise PreflightError(f"{what} {target} is a folder, not a file: give a file path inside it, "
                             f"e.g. {target / example}.")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        if not create_parent:
            raise PreflightError(f"{what} {target}: the folder {parent} does not exist. Create it first "
                                 f"(mkdir -p {parent}) or choose another path.")
        parent = _nearest_existing(parent)
    if not parent.is_dir():
        raise PreflightError(f"{what} {target}: {parent} is a file, not a folder. Choose another path.")
    if target.exists() and _read_only_file(target):
        raise PreflightError(f"{what} {target} exists and is read-only. Make it writable (chmod u+w {target}) "
                             "or choose another path.")
    reason = _probe_dir(parent)
    if reason:
        raise PreflightError(f"{what} {target}: cannot write in the folder {parent} ({reason}). "
                             "Choose a writable location.")
    return target


def check_output_dir(path: str | os.PathLike, what: str = "--out") -> Path:
    """An output folder: missing (it will be created under a writable ancestor) or a writable folder."""
    target = Path(path).expanduser()
    if str(path).strip() == "":
        raise PreflightError(f"{what} is empty: give a folder path.")
    if target.exists() and not target.is_dir():
        raise PreflightError(f"{what} {target} is a file, not a folder. Give a folder path (it is created "
                             "if missing) or remove the file.")
    existing = _nearest_existing(target)
    if not existing.is_dir():
        raise PreflightError(f"{what} {target}: {existing} is a file, so the folder cannot be created. "
                             "Choose another path.")
    reason = _probe_dir(existing)
    if reason:
        raise PreflightError(f"{what} {target}: cannot write in {existing} ({reason}). Choose a writable "
                             "folder.")
    return target


def check_input_file(path: str | os.PathLike, what: str = "input", kind: str | None = None) -> Path:
    """An input file: it exists, is a file, can be read, and (``kind="parquet"``/``"json"``) looks
    like one (magic bytes / parse), so a wrong file fails before the command starts working."""
    target = Path(path).expanduser()
    if not target.exists():
        raise PreflightError(f"{what} {target} does not exist. Check the path.")
    if target.is_dir():
        raise PreflightError(f"{what} {target} is a folder, not a file. Give the file inside it.")
    try:
        with open(target, "rb") as fh:
            head = fh.read(4)
            if kind == "parquet":
                fh.seek(max(target.stat().st_size - 4, 0))
                tail = fh.read(4)
    except OSError as exc:
        raise PreflightError(f"{what} {target} cannot be read ({exc.strerror}). Check its permissions.") from None
    if kind == "parquet" and (head != b"PAR1" or tail != b"PAR1"):
        raise PreflightError(f"{what} {target} is not a Parquet file (no PAR1 header/footer). Give a "
                             "panel.parquet written by `hallyu-forecast data build`.")
    if kind == "json":
        import json

        try:
            json.loads(target.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise PreflightError(f"{what} {target} is not valid JSON ({exc}). Give the file written by "
                                 "`hallyu-forecast tune`.") from None
    return target


def _sqlite_file(url: str, what: str) -> Path | None:
    """The database file of a ``sqlite:///`` URL (None for in-memory databases)."""
    rest = url.split(":", 1)[1]
    if not rest.startswith("///"):
        if rest in ("", "//", "///:memory:", "//:memory:"):
            return None
        raise PreflightError(f"{what} `{url}` is not a valid SQLite URL: use sqlite:///relative/path.db or "
                             "sqlite:////absolute/path.db (three or four slashes).")
    file = rest[3:].split("?", 1)[0]
    if file in ("", ":memory:"):
        return None
    return Path(file)


def _check_db_file(url: str, what: str) -> None:
    file = _sqlite_file(url, what)
    if file is None:
        return
    if file.is_dir():
        raise PreflightError(f"{what} `{url}`: {file} is a folder, not a database file. Add a file name, "
                             f"e.g. sqlite:///{file / 'db.sqlite'}.")
    folder = file.parent
    if not folder.is_dir():
        existing = _nearest_existing(folder)
        problem = "is a file" if existing.exists() and not existing.is_dir() else "does not exist"
        raise PreflightError(f"{what} `{url}`: the folder {folder} {problem}. Create the folder or point the "
                             "URL at a writable location.")
    if file.exists() and _read_only_file(file):
        raise PreflightError(f"{what} `{url}`: the database {file} is read-only. Make it writable or use "
                             "another file.")
    reason = _probe_dir(folder)
    if reason:
        raise PreflightError(f"{what} `{url}`: cannot write in {folder} ({reason}). Point the URL at a "
                             "writable location.")


def _check_network_url(url: str, what: str, fix: str) -> None:
    parsed = urlparse(url)
    try:
        port = parsed.port
    except ValueError:
        raise PreflightError(f"{what} `{url}` has an invalid port. {fix}") from None
    if not parsed.hostname:
        raise PreflightError(f"{what} `{url}` has no host name. {fix}")
    if port is not None and not 0 < port < 65536:
        raise PreflightError(f"{what} `{url}` has an invalid port. {fix}")


def check_tracking_uri(uri: str | None = None) -> str:
    """The MLflow tracking URI (argument, else ``MLFLOW_TRACKING_URI``, else ``./mlruns``) is usable:
    a SQLite/file store is writable, an http(s) URL is well formed, the scheme is one MLflow knows.

    Returns the URI checked (``""`` for the default ``./mlruns`` store).
    """
    uri = uri if uri is not None else os.environ.get("MLFLOW_TRACKING_URI", "")
    what = "MLFLOW_TRACKING_URI"
    fix = "Use e.g. http://127.0.0.1:5000, sqlite:////tmp/mlflow.db or a writable folder."
    if not uri:
        check_output_dir(Path.cwd() / "mlruns", what="The default MLflow store (./mlruns; set MLFLOW_TRACKING_URI "
                                                      "to log elsewhere)")
        return ""
    scheme = urlparse(uri).scheme.lower()
    base = scheme.split("+", 1)[0]
    if len(scheme) <= 1:  # a plain path ("mlruns", "/tmp/store"; "C:\\..." has a one-letter scheme)
        check_output_dir(uri, what=what)
    elif scheme == "file":
        check_output_dir(urlparse(uri).path or ".", what=what)
    elif base == "sqlite":
        _check_db_file(uri, what)
    elif scheme in ("http", "https"):
        _check_network_url(uri, what, fix)
        check_reachable(uri, what)
    elif base in MLFLOW_DB_SCHEMES[1:]:
        _check_network_url(uri, what, fix)
        check_reachable(uri, what)
    elif scheme == "databricks" or scheme.startswith("databricks"):
        pass
    else:
        raise PreflightError(f"{what} `{uri}` has an unknown scheme `{scheme}`. {fix}")
    return uri


def check_storage_url(url: str | None) -> str | None:
    """An Optuna storage URL: ``sqlite:///file.db`` (folder writable), ``postgresql://user@host/db``,
    ``mysql://...`` (well formed, driver suffixes such as ``postgresql+psycopg2`` allowed).

    ``None`` (the default ``sqlite:///./optuna.db``) checks the current folder is writable.
    """
    what = "Optuna storage"
    fix = ("Use sqlite:///optuna.db, postgresql://user:password@host:5432/db or "
           "mysql://user:password@host/db.")
    if url is None:
        _check_db_file("sqlite:///optuna.db", "The default Optuna storage")
        return None
    text = str(url).strip()
    scheme = urlparse(text).scheme.lower() if "://" in text else ""
    if not scheme:
        raise PreflightError(f"{what} `{url}` is not a URL. {fix}")
    base = scheme.split("+", 1)[0]
    if base not in OPTUNA_SCHEMES:
        raise PreflightError(f"{what} `{url}` has an unknown scheme `{scheme}`. {fix}")
    if base == "sqlite":
        _check_db_file(text, what)
    else:
        _check_network_url(text, what, fix)
        if not urlparse(text).path.strip("/"):
            raise PreflightError(f"{what} `{url}` names no database (the part after the host). {fix}")
    return text


def check_base_url(url: str | None) -> str | None:
    """A mirror base URL for ``data pull``: http(s)://host[/path] or file:///folder."""
    if url is None:
        return None
    parsed = urlparse(str(url))
    fix = "Give a mirror that serves <source>/<file>, e.g. https://example.org/raw or file:///srv/raw."
    if parsed.scheme in ("http", "https"):
        _check_network_url(str(url), "--base-url", fix)
    elif parsed.scheme == "file":
        if not Path(parsed.path).is_dir():
            raise PreflightError(f"--base-url `{url}`: the folder {parsed.path} does not exist. {fix}")
    else:
        raise PreflightError(f"--base-url `{url}` is not an http(s):// or file:// URL. {fix}")
    return str(url)


def check_countries(countries, what: str = "`countries`") -> list[str] | None:
    """``countries`` is None, one string, or an iterable of strings (ISO3 codes or names).

    Numbers are refused (``392`` is Japan's ISO numeric code, but a number is ambiguous: say 'JPN').
    """
    if countries is None:
        return None
    if isinstance(countries, str):
        return [countries]
    if isinstance(countries, (bytes, int, float, bool)) or not isinstance(countries, Iterable):
        raise InputTypeError(f"{what} must be an ISO3 code or English name (a string), or a list of them. "
                             f"Got {type(countries).__name__} {countries!r}; write e.g. 'JPN' or ['JPN', 'MEX'].")
    values = list(countries)
    bad = [v for v in values if not isinstance(v, str)]
    if bad:
        raise InputTypeError(f"{what} must hold strings (ISO3 codes or English names). Got "
                             f"{', '.join(f'{type(v).__name__} {v!r}' for v in bad[:5])}; write e.g. 'JPN'.")
    return values


def check_model_ref(model: str | None) -> str | None:
    """``--model``: an MLflow URI (``runs:/``, ``models:/``, ``scheme://``) or an existing local folder."""
    if model is None:
        return None
    text = str(model)
    if text.startswith(("runs:/", "models:/")) or "://" in text:
        return text
    path = Path(text).expanduser()
    if not path.exists():
        raise PreflightError(f"--model {text}: no such folder. Give a bundle folder (written by `train --out`) or "
                             "an MLflow model URI such as runs:/<run_id>/model or models:/<name>@<alias>.")
    if not path.is_dir():
        raise PreflightError(f"--model {text} is a file: give the model folder (written by `train --out`) or an "
                             "MLflow model URI.")
    return text


#: Seconds to wait for a TCP connection to a tracking server before giving up (a live server answers
#: in milliseconds; MLflow's own retries would take minutes).
CONNECT_TIMEOUT = 3.0
_DEFAULT_PORTS = {"http": 80, "https": 443, "postgresql": 5432, "mysql": 3306, "mssql": 1433}


def check_reachable(uri: str, what: str = "MLFLOW_TRACKING_URI", timeout: float = CONNECT_TIMEOUT) -> None:
    """A network URI's host accepts a TCP connection within ``timeout`` seconds (else PreflightError).

    Only opens and closes a socket: no request is sent, so nothing is logged on the server.
    """
    parsed = urlparse(uri)
    scheme = parsed.scheme.lower().split("+", 1)[0]
    host, port = parsed.hostname, parsed.port or _DEFAULT_PORTS.get(scheme)
    if not host or not port:
        return
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        reason = "no answer" if isinstance(exc, TimeoutError) else (exc.strerror or type(exc).__name__)
        raise PreflightError(f"{what} `{uri}`: cannot connect to {host}:{port} ({reason}; waited at most "
                             f"{timeout:g} s). Start the tracking server, point {what} at a running one, or "
                             "pass --no-track.") from None


def check_panel_dir() -> Path | None:
    """``HALLYU_PANEL_DIR``, when set, names a folder holding a readable panel (checked up front:
    an empty or missing folder is an error, never a silent fallback to the embedded panel)."""
    folder = os.environ.get(PANEL_DIR_ENV)
    if not folder:
        return None
    try:
        panel = panel_dir_file(Path(folder).expanduser())
    except DataError as exc:
        raise PreflightError(str(exc)) from None
    return check_input_file(panel, what=f"The panel of {PANEL_DIR_ENV}", kind="parquet")


def check_bundle_out(path: str | os.PathLike, what: str = "--out") -> Path:
    """A folder a model bundle will be written to: writable, and if it exists, empty or a bundle
    (save_bundle replaces a bundle, and refuses anything else: say so before training, not after)."""
    target = check_output_dir(path, what=what)
    if target.is_dir() and not (target / "meta.json").is_file() and any(target.iterdir()):
        raise PreflightError(f"{what} {target} exists and holds files but no model bundle (meta.json); it would be "
                             "refused after training. Choose a new or empty folder, or an existing bundle to replace.")
    return target


# ------------------------------------------------------------------------------ the CLI's checks
def _panel_dir_default() -> Path:
    return default_panel_dir()


def check_cli_args(args) -> None:
    """Run the checks that apply to a parsed CLI command (``args`` from ``build_parser()``).

    Called by :func:`hallyu_forecast.cli.main` before the command's function, so every
    command fails in milliseconds on an unusable path, URI or input file. Commands not listed
    here simply have nothing to check up front.
    """
    command = getattr(args, "command", None)
    tracked = not getattr(args, "no_track", True)
    sub = getattr(args, "data_command", None)
    # `data build` without --out writes to HALLYU_PANEL_DIR (it may not exist yet); `pull`, `verify` and
    # `describe --panel` read no panel of HALLYU_PANEL_DIR
    reads_no_panel = command == "data" and (sub in ("pull", "verify") or (sub == "build" and not args.out)
                                            or (sub == "describe" and getattr(args, "panel", None)))
    if not reads_no_panel:
        check_panel_dir()
    if command == "data":
        sub = getattr(args, "data_command", None)
        if sub == "pull":
            check_output_dir(args.dest if args.dest else default_cache_dir(),
                             what="--dest" if args.dest else "The download cache (HALLYU_CACHE_DIR)")
            check_base_url(args.base_url)
        elif sub == "build":

            resolve_data_dir(args.data_dir)
            if args.out:
                check_output_dir(args.out, what="--out")
            else:
                check_output_dir(_panel_dir_default(), what="The panel folder (HALLYU_PANEL_DIR)")
        elif sub == "describe" and getattr(args, "panel", None):
            panel = check_input_file(args.panel, what="--panel", kind="parquet")
            check_input_file(panel.with_name("dictionary.csv"),
                             what="The data dictionary next to --panel (written by `data build`)")
        elif sub == "verify":

            resolve_data_dir(args.data_dir)
    elif command == "train":
        if args.params:
            check_input_file(args.params, what="--params", kind="json")
        if args.out:
            check_bundle_out(args.out, what="--out")
        if args.save_default:
            check_output_dir(Path(__file__).parent / "data" / "model",
                             what="--save-default (the package's model folder)")
    elif command == "backtest":
        if args.out:
            check_output_dir(args.out, what="--out")
    elif command == "tune":
        check_storage_url(args.storage)
        if args.out:
            check_output_file(args.out, what="--out", create_parent=True, example="params.json")
        else:
            check_output_dir("tuned", what="The default parameter folder (./tuned; --out to change)")
    elif command in ("predict", "drivers"):
        if getattr(args, "csv", None):
            check_output_file(args.csv, what="--csv", example=f"{command}.csv")
    elif command == "report":
        check_output_file(args.out, what="--out", create_parent=True, example="report.html")
    if command in ("predict", "explain", "report"):
        check_model_ref(getattr(args, "model", None))
    if command in ("train", "backtest", "tune", "report") and tracked:
        check_tracking_uri()


def resolve_countries(countries, codes: Iterable[str] | None = None, what: str = "`countries`") -> list[str]:
    """ISO3 codes from codes or names, validated: a thin alias of
    :func:`hallyu_forecast.countries.resolve_countries` (the one resolver of the CLI, API and report:
    ISO3, ISO2, English names and short forms, raw-file names; case and accents ignored; ambiguous
    names list the candidates).

    ``codes`` are the ISO3 codes allowed (e.g. the countries of the panel in use); default the
    embedded country table. Korea, the destination, is refused; an empty selection is an error.
    """
    countries = check_countries(countries, what)  # 392 or [392] -> InputTypeError, not a TypeError deep inside
    if countries is None:
        raise ConfigError(f"{what} is None here: name at least one country (an ISO3 code or English name).")
    return _resolve_countries(countries, codes=codes, destination=DESTINATION, what=what)
