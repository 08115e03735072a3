"""Data safety: conflicting duplicate rows fail, `data build` never overwrites the package silently,
keeps a backup and reports a per-column diff; hints match where each file can be had."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest

import hallyu_forecast as hf
from hallyu_forecast import cli
from hallyu_forecast.errors import DataError, DuplicateRowError
from hallyu_forecast.panel import PanelData, default_panel_dir, diff_panels, load_panel, write_panel
from hallyu_forecast.sources import get_source
from hallyu_forecast.sources._io import check_duplicate_rows

from helpers import copy_source

POLITY_JPN_2010 = "0,7402010,740,JPN,Japan,2010,0,0,10,0,10,10,58,"


def _mirror_with(raw_dir: Path, tmp_path: Path, name: str) -> Path:
    """A data dir linking every mirror folder except ``name``, which is a writable copy."""
    root = tmp_path / "raw"
    root.mkdir()
    for child in raw_dir.iterdir():
        if child.is_dir() and child.name != name:
            (root / child.name).symlink_to(child)
    copy_source(raw_dir, root, name)
    return root


def _add_line_after(path: Path, prefix: str, transform) -> int:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith(prefix))
    lines.insert(index + 1, transform(lines[index]))
    path.write_text("".join(lines), encoding="utf-8")
    return index + 1  # 1-based line number of the original row


def test_conflicting_duplicate_row_fails_data_build(raw_dir, tmp_path, capsys, monkeypatch):
    root = _mirror_with(raw_dir, tmp_path, "polity5")
    file = root / "polity5" / "p5v2018.csv"
    # synthetic damage: a second Japan 2010 row whose polity and polity2 say -10
    line = _add_line_after(file, POLITY_JPN_2010, lambda row: row.replace(",10,0,10,10,58,", ",10,0,-10,-10,58,", 1))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    code = cli.main(["data", "build", "--allow-changed-files", "--data-dir", str(root), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == (
        f"error: {file}: conflicting duplicate rows for scode=JPN, year=2010 (lines {line} and {line + 1}): "
        "polity = 10 vs -10; polity2 = 10.0 vs -10.0. Each (scode, year) must appear once: remove the wrong row, "
        "or restore the original file.")
    assert not (tmp_path / "out" / "panel.parquet").exists()


def test_identical_duplicate_rows_are_dropped_with_a_count(raw_dir, tmp_path, monkeypatch):
    root = _mirror_with(raw_dir, tmp_path, "polity5")
    file = root / "polity5" / "p5v2018.csv"
    _add_line_after(file, POLITY_JPN_2010, lambda row: row)
    monkeypatch.setenv("HALLYU_DATA_DIR", str(root))  # to_iso3 reads the concordance from the data dir
    with pytest.warns(UserWarning, match=r"p5v2018\.csv: dropped 1 identical duplicate row\(s\) \(same scode, year"):
        frame = get_source("polity5").load(root)
    expected = get_source("polity5").load(raw_dir)
    pd.testing.assert_frame_equal(frame, expected)


def test_duplicate_helper_on_synthetic_rows():
    synthetic = pd.DataFrame({"code": ["JPN", "JPN", "MEX", "MEX"], "year": [2010, 2010, 2011, 2011],
                              "score": [10.0, -10.0, 1.0, float("nan")]})
    with pytest.raises(DuplicateRowError, match=r"^x\.csv: conflicting duplicate rows for code=JPN, year=2010 "
                                                r"\(lines 2 and 3\): score = 10\.0 vs -10\.0 \(2 such keys in all\)"):
        check_duplicate_rows(synthetic, ["code", "year"], Path("x.csv"), line_offset=2)
    same = pd.DataFrame({"code": ["A", "A", "B"], "v": [float("nan")] * 3})
    with pytest.warns(UserWarning, match="dropped 1 identical"):
        assert len(check_duplicate_rows(same, ["code"], Path("y.csv"))) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        unique = same.iloc[1:]
        assert check_duplicate_rows(unique, ["code"], Path("y.csv")) is unique


def _synthetic_panel(values) -> PanelData:
    frame = pd.DataFrame({"iso3": ["JPN", "JPN", "MEX"], "year": [2010, 2011, 2010], "polity2": values})
    dictionary = pd.DataFrame({"name": ["iso3", "year", "polity2"], "source": ["countrycode"] * 2 + ["polity5"],
                               "unit": ["code", "year", "score"], "description": ["k", "y", "p"],
                               "role": ["key", "key", "local_conditions"]})
    countries = pd.DataFrame({"iso3": ["JPN", "MEX"], "name": ["Japan", "Mexico"]})
    return PanelData(frame, dictionary, countries, {"synthetic": True})


def test_default_destination_is_a_user_folder_not_the_package(tmp_path, monkeypatch):
    monkeypatch.delenv("HALLYU_PANEL_DIR", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_panel_dir() == tmp_path / "xdg" / "hallyu_forecast" / "panel"
    shipped = Path(hf.__file__).parent / "data" / "panel.parquet"
    before = shipped.stat().st_mtime_ns
    dest = write_panel(_synthetic_panel([10.0, 9.0, 8.0]))
    assert dest == default_panel_dir() and (dest / "panel.parquet").is_file()
    assert shipped.stat().st_mtime_ns == before
    monkeypatch.setenv("HALLYU_PANEL_DIR", str(tmp_path / "mine"))
    assert default_panel_dir() == tmp_path / "mine"


def test_rewrite_keeps_a_backup_and_reports_a_per_column_diff(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    dest = tmp_path / "panel"
    write_panel(_synthetic_panel([10.0, 9.0, 8.0]), dest)
    new = _synthetic_panel([-10.0, 9.0, 8.0])
    new.frame = pd.concat([new.frame, pd.DataFrame({"iso3": ["MEX"], "year": [2011], "polity2": [7.0]})])
    new.frame["fdi"] = 1.0
    lines = []
    write_panel(new, dest, progress=lines.append)
    assert lines[0].startswith("Previous panel backed up to ")
    backup = Path(lines[0].removeprefix("Previous panel backed up to "))
    assert load_panel(backup / "panel.parquet")["polity2"].tolist() == [10.0, 9.0, 8.0]
    assert lines[1] == ("Changes against the previous panel:\n  rows added: 1\n  columns added (1): fdi (4 values)\n"
                        "  columns changed (1): polity2 (1 cells)")
    assert load_panel(dest)["polity2"].tolist() == [-10.0, 9.0, 8.0, 7.0]


def test_hallyu_panel_dir_points_the_readers_at_a_built_panel(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    write_panel(_synthetic_panel([1.0, 2.0, 3.0]), tmp_path / "built")
    monkeypatch.setenv("HALLYU_PANEL_DIR", str(tmp_path / "built"))
    assert hf.load_panel()["polity2"].tolist() == [1.0, 2.0, 3.0]
    assert hf.panel_metadata() == {"synthetic": True}
    assert list(hf.load_dictionary()["name"]) == ["iso3", "year", "polity2"]
    monkeypatch.delenv("HALLYU_PANEL_DIR")
    assert len(hf.load_panel()) > 1000  # the embedded panel again


def test_diff_of_identical_panels_is_empty():
    frame = _synthetic_panel([1.0, float("nan"), 3.0]).frame
    assert diff_panels(frame, frame.copy()).empty


def test_missing_hand_compiled_file_says_where_it_can_be_had(raw_dir, tmp_path):
    root = _mirror_with(raw_dir, tmp_path, "kcc")
    (root / "kcc" / "kcc_openings_from_pages.csv").unlink()
    with pytest.raises(DataError) as info:
        get_source("kcc").load(root)
    message = str(info.value)
    assert "compiled by hand from public pages (each row cites its page URL) and has no download" in message
    assert "copy it from a hallyu_forecast data mirror" in message
    assert "Re-download" not in message


def test_wdi_files_are_not_called_hand_compiled(tmp_path):
    from hallyu_forecast.fetch import restore_hint

    for raw in get_source("wdi").files:
        hint = restore_hint("wdi", raw)
        assert "by hand" not in hint
        assert hint.startswith("Re-download it with `hallyu-forecast data pull --source wdi`")
    kcc = get_source("kcc").files[0]
    assert "compiled by hand" in restore_hint("kcc", kcc)


def test_damaged_downloadable_file_says_re_download(raw_dir, tmp_path, monkeypatch):
    root = _mirror_with(raw_dir, tmp_path, "polity5")
    (root / "polity5" / "p5v2018.csv").write_text("")
    with pytest.raises(DataError, match=r"p5v2018\.csv: the file is empty\. Re-download it with "
                                        r"`hallyu-forecast data pull --source polity5` \(from its public URL\)"):
        get_source("polity5").load(root)


def test_conflicting_vdem_row_is_found_after_the_loader_filters_rows(raw_dir, tmp_path, monkeypatch):
    root = _mirror_with(raw_dir, tmp_path, "vdem")
    file = root / "vdem" / "vdem3.csv"
    frame = pd.read_csv(file)
    row = frame[(frame["country_text_id"] == "JPN") & (frame["year"] == 2010) & frame["country_id"].notna()]
    assert len(row) == 1
    bad = row.assign(v2x_polyarchy=0.01)
    pd.concat([frame, bad], ignore_index=True).to_csv(file, index=False)
    monkeypatch.setenv("HALLYU_DATA_DIR", str(root))
    original = row["v2x_polyarchy"].iloc[0]
    with pytest.raises(DuplicateRowError, match=rf"vdem3\.csv: conflicting duplicate rows for country_text_id=JPN, "
                                                rf"year=2010 \(lines {row.index[0] + 2} and {len(frame) + 2}\): "
                                                rf"v2x_polyarchy = {original} vs 0\.01\."):
        get_source("vdem").load(root)
