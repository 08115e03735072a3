"""One country resolver for the CLI and the API (issue 20): ISO3, ISO2, common English names and
short forms, case and accents ignored; ambiguous names list the candidates.

Uses the shipped model and its stored drivers result (no fitting), so every test runs in seconds.
"""

from __future__ import annotations

import json

import pytest

import hallyu_forecast as hf
from hallyu_forecast import cli
from hallyu_forecast.countries import resolve_countries, resolve_country
from hallyu_forecast.errors import ConfigError, InputTypeError
from hallyu_forecast.preflight import resolve_countries as preflight_resolve

# what a reader types -> the ISO3 code it means (the names the issue says failed before)
NAMES = {"Myanmar": "MMR", "Hong Kong": "HKG", "DR Congo": "COD", "UK": "GBR", "Türkiye": "TUR",
         "Viet Nam": "VNM", "JP": "JPN"}


@pytest.mark.parametrize("name,iso3", sorted(NAMES.items()))
def test_each_name_resolves(name, iso3):
    assert resolve_country(name) == iso3
    assert preflight_resolve([name]) == [iso3]  # the resolver predict/explain/simulate use


def test_case_accents_and_spacing_are_ignored():
    assert resolve_countries(["viet nam", "TURKIYE", "türkiye ", "hong-kong", "jp", "jpn"]) == ["VNM", "TUR", "HKG",
                                                                                             "JPN"]


@pytest.mark.parametrize("name,candidates", [("Congo", r"COD \(Congo - Kinshasa\), COG \(Congo - Brazzaville\)"),
                                             ("Korea", r"KOR \(South Korea\), PRK \(North Korea\)")])
def test_ambiguous_names_list_the_candidates(name, candidates):
    with pytest.raises(ConfigError, match=rf"^Country '{name}' is ambiguous: it may mean {candidates}\. Give the "
                                          r"ISO3 code\.$"):
        resolve_countries([name])


def test_unknown_and_wrong_types_are_clear():
    with pytest.raises(ConfigError, match=r"^Unknown country 'Atlantis'\. Use ISO3 codes such as 'MEX'"):
        resolve_countries(["Atlantis"])
    with pytest.raises(ConfigError, match=r"Did you mean VNM \(Vietnam\)\?"):
        resolve_countries(["Vietnamm"])
    with pytest.raises(InputTypeError, match=r"must be an ISO3 code or English name"):
        resolve_country(392)
    with pytest.raises(ConfigError, match=r"^Korea is the destination, not an origin country"):
        preflight_resolve(["South Korea"])


def test_predict_api_takes_the_names():
    out = hf.predict(list(NAMES))
    assert sorted(out["iso3"]) == sorted(NAMES.values())
    with pytest.raises(ConfigError, match=r"'Congo' is ambiguous: it may mean COD .*COG"):
        hf.predict("Congo")


def test_drivers_api_takes_the_names():
    result = hf.drivers()
    by_name = result.country("Viet Nam")
    assert set(by_name["iso3"]) == {"VNM"}
    assert result.format_country("VN") == result.format_country("VNM")
    assert result.format_country("Türkiye").startswith("TUR ")
    with pytest.raises(ConfigError, match=r"'Korea' is ambiguous"):
        result.format_country("Korea")


def _run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_predict_takes_the_names(capsys):
    argv = ["predict", "--json"]
    for name in NAMES:
        argv += ["--country", name]
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    assert sorted(r["iso3"] for r in json.loads(out)) == sorted(NAMES.values())
    code, _, err = _run(capsys, "predict", "--country", "Congo")
    assert code == 2 and "Traceback" not in err
    assert err.strip().splitlines() == [
        "error: Country 'Congo' is ambiguous: it may mean COD (Congo - Kinshasa), COG (Congo - Brazzaville). "
        "Give the ISO3 code."]


def test_cli_drivers_takes_the_names_and_json_has_the_country(capsys):
    code, out, err = _run(capsys, "drivers", "--country", "Viet Nam", "--country", "JP", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert set(doc["countries"]) == {"VNM", "JPN"}
    rows = doc["countries"]["VNM"]["youth_arrivals_per_capita"]["rows"]
    assert rows and {r["iso3"] for r in rows} == {"VNM"}
    code, out, _ = _run(capsys, "drivers", "--country", "Myanmar")
    assert code == 0 and "\nMMR " in out
    code, _, err = _run(capsys, "drivers", "--country", "Korea")
    assert code == 2 and err.startswith("error: Country 'Korea' is ambiguous: it may mean KOR")
