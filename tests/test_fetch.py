"""`data pull` downloads for real from a throwaway HTTP server on 127.0.0.1 serving a mirror."""

from __future__ import annotations

import functools
import http.server
import shutil
import threading

import pytest

from hallyu_forecast.errors import ChecksumError, DataError
from hallyu_forecast.fetch import pull, sha256_file, verify
from hallyu_forecast.sources import get_source


@pytest.fixture()
def serve():
    servers = []

    def start(directory):
        handler = functools.partial(_QuietHandler, directory=str(directory))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep test output clean
        pass


def test_pull_downloads_and_verifies(raw_dir, serve, tmp_path):
    base = serve(raw_dir)
    lines = []
    results = pull(["hofstede", "cepii"], dest=tmp_path, base_url=base, progress=lines.append)
    assert [r.status for r in results] == ["downloaded"] * 3
    for name in ("hofstede", "cepii"):
        for raw in get_source(name).files:
            assert sha256_file(tmp_path / name / raw.path) == raw.sha256
    again = pull(["hofstede"], dest=tmp_path, base_url=base)
    assert [r.status for r in again] == ["cached"]
    assert verify(tmp_path, sources=["hofstede", "cepii"])["hofstede"]


def test_checksum_mismatch_discards_the_download(raw_dir, serve, tmp_path):
    mirror = tmp_path / "mirror" / "hofstede"
    mirror.mkdir(parents=True)
    name = get_source("hofstede").files[0].path
    data = (raw_dir / "hofstede" / name).read_bytes()
    (mirror / name).write_bytes(data.replace(b"60", b"61", 1))
    base = serve(tmp_path / "mirror")
    dest = tmp_path / "cache"
    with pytest.raises(ChecksumError, match=r"Checksum mismatch for hofstede/6-dimensions-for-website-2015-08-16.csv"):
        pull(["hofstede"], dest=dest, base_url=base)
    assert not (dest / "hofstede" / name).exists()
    assert list((dest / "hofstede").iterdir()) == []  # no partial file left behind


def test_corrupt_cached_file_is_replaced_and_reported(raw_dir, serve, tmp_path):
    base = serve(raw_dir)
    name = get_source("hofstede").files[0].path
    (tmp_path / "hofstede").mkdir()
    (tmp_path / "hofstede" / name).write_text("truncated")
    results = pull(["hofstede"], dest=tmp_path, base_url=base)
    assert results[0].status == "replaced"
    assert results[0].detail == "cached copy had a different checksum"


def test_missing_file_on_server_is_a_clear_error(serve, tmp_path):
    base = serve(tmp_path)  # empty mirror
    with pytest.raises(DataError, match=r"Download of hofstede/.* failed \(HTTP Error 404"):
        pull(["hofstede"], dest=tmp_path / "cache", base_url=base)


def test_hand_compiled_files_have_no_url(tmp_path):
    results = pull(["events"], dest=tmp_path, base_url=None)
    assert {r.status for r in results} == {"unavailable"}


def test_verify_names_changed_files(raw_dir, tmp_path):
    shutil.copytree(raw_dir / "hofstede", tmp_path / "hofstede")
    name = get_source("hofstede").files[0].path
    with open(tmp_path / "hofstede" / name, "ab") as fh:
        fh.write(b"\n")
    with pytest.raises(ChecksumError, match=r"hofstede/6-dimensions-for-website-2015-08-16.csv: sha256"):
        verify(tmp_path, sources=["hofstede"])


def _zip_source(tmp_path, serve, members: dict[str, bytes], registered: dict[str, bytes]):
    """A synthetic source whose files exist only inside a ZIP served on 127.0.0.1 (like the WDI CSVs)."""
    import hashlib
    import zipfile

    from hallyu_forecast.sources import RawFile, Source

    site = tmp_path / "site"
    site.mkdir()
    with zipfile.ZipFile(site / "indicator.zip", "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    base = serve(site)
    files = tuple(RawFile(name, hashlib.sha256(data).hexdigest(), None, archive=f"{base}/indicator.zip")
                  for name, data in registered.items())
    return Source(name="wdi", title="synthetic", publisher="test", license="-", citation="-", homepage="-",
                  files=files, variables=(), loader=lambda folder: None)


def test_pull_extracts_zip_members_and_verifies_them(serve, tmp_path, monkeypatch):
    import hallyu_forecast.fetch as fetch

    members = {"API_X_DS2.csv": b"synthetic,api\n1,2\n", "Metadata_Country_X.csv": b"synthetic,meta\n",
               "unrelated.txt": b"not requested"}
    source = _zip_source(tmp_path, serve, members, {k: v for k, v in members.items() if k != "unrelated.txt"})
    monkeypatch.setattr(fetch, "get_source", lambda name: source)
    lines = []
    results = pull(["wdi"], dest=tmp_path / "cache", base_url=None, progress=lines.append)
    assert [r.status for r in results] == ["downloaded", "downloaded"]
    assert (tmp_path / "cache" / "wdi" / "API_X_DS2.csv").read_bytes() == members["API_X_DS2.csv"]
    assert not (tmp_path / "cache" / "wdi" / "unrelated.txt").exists()
    assert [r.status for r in pull(["wdi"], dest=tmp_path / "cache")] == ["cached", "cached"]


def test_zip_member_with_another_checksum_is_discarded(serve, tmp_path, monkeypatch):
    import hallyu_forecast.fetch as fetch

    source = _zip_source(tmp_path, serve, {"API_X.csv": b"changed by the publisher\n"}, {"API_X.csv": b"original\n"})
    monkeypatch.setattr(fetch, "get_source", lambda name: source)
    with pytest.raises(ChecksumError, match=r"Checksum mismatch for wdi/API_X\.csv downloaded from "
                                            r"http://127\.0\.0\.1:\d+/indicator\.zip \(member API_X\.csv\)"):
        pull(["wdi"], dest=tmp_path / "cache")
    assert list((tmp_path / "cache" / "wdi").iterdir()) == []


def test_zip_without_the_member_is_a_clear_error(serve, tmp_path, monkeypatch):
    import hallyu_forecast.fetch as fetch

    source = _zip_source(tmp_path, serve, {"other.csv": b"x"}, {"API_X.csv": b"original\n"})
    monkeypatch.setattr(fetch, "get_source", lambda name: source)
    with pytest.raises(DataError, match=r"The ZIP http://127\.0\.0\.1:\d+/indicator\.zip has no member API_X\.csv"):
        pull(["wdi"], dest=tmp_path / "cache")


def test_every_wdi_file_has_a_public_home():
    files = get_source("wdi").files
    assert all(f.url or f.archive for f in files)
    assert sum(f.archive is not None for f in files) == 37  # 18 indicators x 2 + Metadata_Country
    assert all(f.archive.startswith("https://raw.githubusercontent.com/saeed-amiri/CrossBorderML/9086f44")
               for f in files if f.archive)
    hand = [(s, f.path) for s in ("kcc", "working_holiday", "events") for f in get_source(s).files]
    assert all(path.endswith("_from_pages.csv") for _, path in hand)
