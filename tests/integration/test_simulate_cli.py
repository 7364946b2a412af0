"""`onduty simulate` through click, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from click.testing import CliRunner

from onduty.cli.main import main

SHORT = ["--agents", "5", "--arrivals-per-hour", "50", "--hours", "2"]


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["simulate", *args])
    return result.exit_code, result.output


def test_json_prints_one_object_with_the_documented_figures() -> None:
    code, output = run(*SHORT, "--json")
    assert code == 0
    report = json.loads(output)
    for key in ("threads", "answered", "waited_fraction", "mean_wait_seconds", "service_level", "occupancy"):
        assert isinstance(report[key], int | float), key
    assert report["answered"] == report["threads"] > 0
    assert report["erlang_c"]["overloaded"] is False
    for key in ("p_wait", "mean_wait_seconds", "service_level", "occupancy"):
        assert report["erlang_c"][key] >= 0, key


def test_json_says_overloaded_when_the_load_exceeds_the_team() -> None:
    code, output = run("--agents", "2", "--arrivals-per-hour", "60", "--hours", "1", "--json")
    assert code == 0
    erlang = json.loads(output)["erlang_c"]
    assert erlang["overloaded"] is True
    assert erlang["p_wait"] is None


def test_the_same_options_give_the_same_json() -> None:
    assert run(*SHORT, "--seed", "7", "--json") == run(*SHORT, "--seed", "7", "--json")


def test_the_table_sets_each_figure_beside_erlang_c() -> None:
    code, output = run(*SHORT, "--capacity", "2", "--strategy", "round_robin")
    assert code == 0
    assert "Erlang C" in output
    for row in ("threads arrived", "waited in the queue", "mean wait", "service level (within 20 s)", "occupancy"):
        assert row in output


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--agents", "0"], "--agents"),
        (["--agents", "-3"], "--agents"),
        (["--arrivals-per-hour", "-5"], "--arrivals-per-hour"),
        (["--arrivals-per-hour", "0"], "--arrivals-per-hour"),
        (["--handle-time", "0"], "--handle-time"),
        (["--hours", "-1"], "--hours"),
        (["--hours", "nan"], "--hours"),
        (["--capacity", "0"], "--capacity"),
        (["--target-seconds", "-1"], "--target-seconds"),
        (["--strategy", "fastest"], "--strategy"),
        (["--agents", "ten"], "--agents"),
    ],
)
def test_a_bad_option_is_a_usage_error_naming_it(args: list[str], option: str) -> None:
    code, output = run(*args)
    assert code == 2
    assert f"Invalid value for '{option}'" in output
    assert "Traceback" not in output


def test_python_dash_m_onduty_runs_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "onduty", "simulate", *SHORT, "--json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(done.stdout) == json.loads(run(*SHORT, "--json")[1])
