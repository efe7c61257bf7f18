"""The command line: summaries, JSON form, reports, and documented exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kb import cli

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cases" / "cg300-acute-approved.ttl"


def test_determine_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["determine", str(EXAMPLE)]) == cli.EXIT_OK
    out = capsys.readouterr().out
    assert "outcome:   APPROVED" in out and "CG300-ACU-DUR [met]" in out
    assert "lines:     CPT 64483 (L4-L5; ip:Left)" in out


def test_determine_json_has_stable_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["determine", "--json", str(EXAMPLE)]) == cli.EXIT_OK
    (item,) = json.loads(capsys.readouterr().out)
    assert set(item) == {
        "case",
        "request",
        "guideline",
        "guidelines",
        "phase",
        "cptCodes",
        "lines",
        "outcome",
        "reasonCategories",
        "decidingCriteria",
        "missingDocumentation",
        "satisfiedPathways",
        "pathways",
        "warnings",
        "criteria",
        "reportConforms",
    }
    assert item["outcome"] == "approved"


def test_report_prints_a_shacl_report(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", str(EXAMPLE)]) == cli.EXIT_OK
    assert "sh:ValidationReport" in capsys.readouterr().out


def test_report_as_json_ld(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", "--format", "json-ld", str(EXAMPLE)]) == cli.EXIT_OK
    assert json.loads(capsys.readouterr().out)


def test_malformed_file_exit_code_and_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.ttl"
    bad.write_text("@prefix ip: <https://w3id.org/ipkg/ontology#> .\n\nip:a ip:b ip:c .\nthis is not turtle\n")
    assert cli.main(["determine", str(bad)]) == cli.EXIT_INVALID_CASE
    err = capsys.readouterr().err
    assert f"{bad}, line 4: invalid Turtle" in err and "Traceback" not in err


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["determine", str(tmp_path / "nope.ttl")]) == cli.EXIT_INVALID_CASE
    assert "cannot read the file" in capsys.readouterr().err


def test_unknown_suffix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    odd = tmp_path / "case.xml"
    odd.write_text("<x/>")
    assert cli.main(["determine", str(odd)]) == cli.EXIT_INVALID_CASE
    assert "unknown file type" in capsys.readouterr().err


def test_unsupported_request_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    early = tmp_path / "early.ttl"
    early.write_text(EXAMPLE.read_text(encoding="utf-8").replace('"2024-06-10"^^xsd:date', '"2023-06-10"^^xsd:date'))
    assert cli.main(["determine", str(early)]) == cli.EXIT_UNSUPPORTED
    assert "implementation date" in capsys.readouterr().err


def test_no_cases_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["determine"]) == cli.EXIT_USAGE


def test_examples_are_all_determined(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["determine", "--examples", "--json"]) == cli.EXIT_OK
    items = json.loads(capsys.readouterr().out)
    assert len(items) == len(cli._example_files()) >= 1


def test_invalid_case_outranks_unsupported_request_in_any_order(tmp_path: Path) -> None:
    early = tmp_path / "early.ttl"
    early.write_text(EXAMPLE.read_text(encoding="utf-8").replace('"2024-06-10"^^xsd:date', '"2023-06-10"^^xsd:date'))
    bad = tmp_path / "bad.ttl"
    bad.write_text("not turtle")
    assert cli.main(["determine", str(early), str(bad)]) == cli.EXIT_INVALID_CASE
    assert cli.main(["determine", str(bad), str(early)]) == cli.EXIT_INVALID_CASE
