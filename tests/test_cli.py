"""The command line, run in-process against the sandbox: exit codes and exact messages."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from harvester.cli import cli

README = Path(__file__).parents[1] / "README.md"


def test_harvest_prints_a_summary_per_catalog(portal, make_config, run_cli):
    config = make_config("cdmx", "zapopan")
    result = run_cli("harvest", config=config)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["catalog", "status", "mode", "added", "updated", "unchanged", "deleted", "failed",
                                "requests", "time"]
    cdmx = next(line.split() for line in lines if line.startswith("cdmx "))
    assert cdmx[1:3] == ["ok", "full"] and int(cdmx[3]) > 0
    zapopan = next(line.split() for line in lines if line.startswith("zapopan "))
    assert zapopan[1:3] == ["ok", "list"]
    assert "harvest cdmx: started" in result.stderr  # log lines when not on a terminal


def test_harvest_json_and_exit_code_when_some_catalogs_fail(portal, make_config, run_cli):
    portal.faults("veracruz").html_200 = True
    config = make_config("cdmx", "veracruz")
    result = run_cli("harvest", "--json", config=config)
    assert result.exit_code == 3
    data = {r["catalog_id"]: r for r in json.loads(result.stdout)}
    assert data["cdmx"]["status"] == "ok" and data["veracruz"]["status"] == "failed"
    assert data["veracruz"]["error"].startswith("blocked or not a CKAN API")


def test_exit_code_when_every_catalog_fails(portal, make_config, run_cli):
    portal.faults("veracruz").html_200 = True
    result = run_cli("harvest", "veracruz", config=make_config("veracruz"))
    assert result.exit_code == 4
    assert f"veracruz: blocked or not a CKAN API: {portal.api_url('veracruz')}" in result.stderr


def test_unknown_catalog_is_a_one_line_error(make_config, run_cli):
    result = run_cli("harvest", "atlantis", config=make_config("cdmx"))
    assert result.exit_code == 1
    assert result.stderr == "Error: unknown catalog 'atlantis' (configured: cdmx)\n"


def test_bad_config_is_a_one_line_error(tmp_path, run_cli):
    path = tmp_path / "catalogs.toml"
    path.write_text('[catalogs.cdmx]\ntitle = "x"\napi_url = "https://x/api/3/action/"\ntimeout = "soon"\n')
    result = run_cli("harvest", config=path)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: {path}: [catalogs.cdmx] timeout: expected a number above 0, "
                             "got 'soon'\n")  # a timeout of 0 fails every request: above 0 (issue 15)


def test_search_is_accent_and_case_insensitive_and_ranked(portal, make_config, run_cli):
    config = make_config("cdmx", "federal")
    assert run_cli("harvest", config=config).exit_code == 0
    result = run_cli("search", "genero", "--json", config=config)
    assert result.exit_code == 0
    hits = json.loads(result.stdout)
    assert hits and all(set(h) >= {"catalog_id", "name", "title", "organization", "formats", "metadata_modified"}
                        for h in hits)
    gendered = [d for d in portal.datasets("cdmx") + portal.datasets("federal") if d.get("type") != "harvest"
                and re.search("género|genero", json.dumps([d.get("title"), d.get("notes"), d.get("tags")],
                                                          ensure_ascii=False), re.I)]
    assert gendered, "the snapshot should hold datasets about género"
    assert {h["name"] for h in hits} >= {d["name"] for d in gendered[:5]} or len(hits) == 20

    upper = json.loads(run_cli("search", "GÉNERO", "--json", config=config).stdout)
    assert [h["name"] for h in upper] == [h["name"] for h in hits]

    both = json.loads(run_cli("search", "movilidad mujeres", "--json", config=config).stdout)
    assert both and both[0]["matched_terms"] == 2
    assert [h["matched_terms"] for h in both] == sorted((h["matched_terms"] for h in both), reverse=True)

    table = run_cli("search", "movilidad mujeres", config=config)
    assert table.stdout.splitlines()[0].split() == ["catalog", "dataset", "title", "organization", "formats",
                                                    "last", "change"]


def test_quiet_and_json_work_before_or_after_the_command_name(portal, make_config, run_cli):
    config = make_config("cdmx")
    quiet = run_cli("harvest", "--quiet", config=config)  # before, "no such option: --quiet"
    assert quiet.exit_code == 0, quiet.output
    assert quiet.stderr == "" and "cdmx" in quiet.stdout  # no progress lines, the summary still printed
    orders = [("search", "movilidad", "--json"), ("--json", "search", "movilidad"),
              ("--quiet", "search", "movilidad", "--json"), ("search", "movilidad", "--json", "--quiet")]
    answers = []
    for args in orders:
        result = run_cli(*args, config=config)
        assert result.exit_code == 0, (args, result.output)
        answers.append(json.loads(result.stdout))
    assert answers[0] and all(a == answers[0] for a in answers)
    literal = run_cli("search", "--", "--quiet", config=config)  # after --, a word, not a flag
    assert literal.exit_code == 0 and "No dataset matches '--quiet'" in literal.stdout


def test_search_before_any_harvest_says_what_to_do(make_config, run_cli):
    result = run_cli("search", "metro", config=make_config("cdmx"))
    assert result.exit_code == 1
    assert "no store yet (run `harvester harvest` first)" in result.stderr


def test_catalogs_probe_reports_version_search_and_count(portal, make_config, run_cli):
    config = make_config("cdmx", "zapopan", "mardelplata")
    result = run_cli("catalogs", "--probe", "--json", config=config)
    assert result.exit_code == 0
    data = {c["id"]: c["probe"] for c in json.loads(result.stdout)}
    cdmx_count = len([d for d in portal.datasets("cdmx") if d.get("type") != "harvest"])
    assert data["cdmx"]["reachable"] and data["cdmx"]["ckan_version"].startswith("2.10")
    assert data["cdmx"]["package_search"] is True and data["cdmx"]["datasets"] == cdmx_count
    assert data["zapopan"]["package_search"] is None and data["zapopan"]["ckan_version"] is None
    assert data["zapopan"]["datasets"] == len([d for d in portal.datasets("zapopan") if d.get("type") != "harvest"])
    assert data["mardelplata"]["reachable"] and data["mardelplata"]["error"] is None


def test_catalogs_probe_names_an_unreachable_portal(portal, make_config, run_cli, tmp_path):
    config = make_config("cdmx", cdmx={"api_url": "http://127.0.0.1:9/api/3/action/", "retries": 0})
    result = run_cli("catalogs", "--probe", config=config)
    assert result.exit_code == 0
    assert "cannot reach http://127.0.0.1:9/api/3/action/status_show" in result.stdout


def test_every_command_has_help_with_an_example():
    for name, command in cli.commands.items():
        assert command.help and "Example:" in command.help, name


def test_readme_commands_exist():
    text = README.read_text(encoding="utf-8")
    used = set(re.findall(r"^\$ harvester (?:--?\S+ \S+ )*([a-z]+)", text, re.M))
    assert used and used <= set(cli.commands)


@pytest.mark.timeout(300)
def test_demo_runs_every_stage_into_a_fresh_folder(demo):
    out, result = demo
    assert result.exit_code == 0, result.output
    assert "Sandbox portal on http://127.0.0.1:" in result.stdout
    assert (out / "catalog.duckdb").exists() and (out / "catalogs.toml").exists()
    for cid in ("cdmx", "federal", "xalapa", "infocdmx", "veracruz", "zapopan", "puebla", "mardelplata"):
        assert re.search(rf"^{cid}\s+ok\s", result.stdout, re.M), cid
    assert 'Search "movilidad mujeres"' in result.stdout


def test_ci_runs_the_readme_test_command():
    text = README.read_text(encoding="utf-8")
    commands = re.findall(r"^((?:sh scripts/install-chromium && bash scripts/ckan/install && )?python3 -m venv .*)$",
                          text, re.M)
    assert len(commands) == 2 and commands[0].endswith("harvester demo") and commands[1].endswith("pytest")
    assert commands[1] in (README.parent / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert commands[1].startswith("sh scripts/install-chromium && ")  # the browser tests' Chromium
    assert " && bash scripts/ckan/install && " in commands[1]  # the real CKAN the real-portal tests run


def test_deploy_examples_run_the_nightly_job_with_its_exit_codes():
    from harvester.exitcodes import ExitCode
    EXIT_ALL_FAILED, EXIT_BUSY, EXIT_SOME_FAILED = ExitCode.ALL_FAILED, ExitCode.BUSY, ExitCode.SOME_FAILED
    import yaml
    deploy = README.parent / "deploy"
    cron = (deploy / "crontab.example").read_text(encoding="utf-8")
    assert re.search(r"^\S+ \S+ \S+ \S+ \S+ .*harvester --config catalogs.toml nightly", cron, re.M)
    service = (deploy / "harvester-nightly.service").read_text(encoding="utf-8")
    assert "harvester --config catalogs.toml nightly" in service
    assert {f"SuccessExitStatus={EXIT_SOME_FAILED}", f"SuccessExitStatus={EXIT_BUSY}"} <= set(service.splitlines())
    assert "OnCalendar=" in (deploy / "harvester-nightly.timer").read_text(encoding="utf-8")
    workflow = yaml.safe_load((deploy / "github-actions-nightly.yml").read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"] and "nightly" in json.dumps(workflow["jobs"])
    steps = workflow["jobs"]["nightly"]["steps"]
    uses = [s.get("uses", "").split("@")[0] for s in steps]
    assert "actions/upload-pages-artifact" in uses and "actions/deploy-pages" in uses  # the site is published
    assert any("datasets/site" in s.get("run", "") for s in steps)
    text = README.read_text(encoding="utf-8")
    assert f"`{EXIT_SOME_FAILED}` some catalogs or stages failed" in text and f"`{EXIT_ALL_FAILED}` nothing" in text
    assert f"`{EXIT_BUSY}` another nightly run is in progress" in text
