"""The `onduty` command group. Each command lives in its own module and is added here."""

from __future__ import annotations

import logging

import click

from onduty import __version__
from onduty.cli.admin import migrate, users
from onduty.cli.serve import serve
from onduty.cli.simulate import simulate
from onduty.logs import configure_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="onduty")
def main() -> None:
    """onduty: presence and routing for customer-support teams."""
    # Logs go to stderr, and only warnings outside `serve`: stdout is for what a command prints
    # (`users add` prints exactly one JSON object).
    configure_logging(level=logging.WARNING)


main.add_command(serve)
main.add_command(users)
main.add_command(migrate)
main.add_command(simulate)
