"""`python -m simulator ...`: the same command as `datasurface simulate ...`."""

from __future__ import annotations

from datasurface.commands.simulate import simulate_command

if __name__ == "__main__":
    simulate_command.main(prog_name="python -m simulator")
