"""The GitHub Action runs the check in a locked-down container and never splices inputs."""

from __future__ import annotations

from pathlib import Path

import yaml

ACTION = Path(__file__).resolve().parents[2] / "action.yml"


def test_the_check_step_is_locked_down_and_takes_inputs_only_from_the_environment() -> None:
    action = yaml.safe_load(ACTION.read_text())
    step = next(s for s in action["runs"]["steps"] if "check-change" in s["run"])
    script = step["run"]
    assert "${{" not in script, "inputs must reach the script through env, never spliced"
    for flag in ("--network none", "--read-only", "--cap-drop ALL", "no-new-privileges", ":/work:ro", "--pids-limit"):
        assert flag in script, flag
    assert step["env"]["DS_TIMEOUT"] == "${{ inputs.timeout }}" and '--timeout "$DS_TIMEOUT"' in script
