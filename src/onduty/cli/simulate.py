"""`onduty simulate`: run the real routing engine on a virtual clock (API.md)."""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from onduty.sim.config import STRATEGIES, SimConfig, SimConfigError, SimResult
from onduty.sim.erlang import ErlangC
from onduty.sim.simulator import simulate as run_simulation


@click.command()
@click.option("--agents", type=int, default=10, show_default=True, help="Simulated agents, active the whole time.")
@click.option("--arrivals-per-hour", type=float, default=100.0, show_default=True, help="Mean new threads per hour.")
@click.option(
    "--handle-time", type=float, default=300.0, show_default=True, help="Mean handling time in seconds (exponential)."
)
@click.option(
    "--hours", type=float, default=8.0, show_default=True, help="Simulated hours during which clients arrive."
)
@click.option("--capacity", type=int, default=1, show_default=True, help="Threads each agent holds at once.")
@click.option("--target-seconds", type=float, default=20.0, show_default=True, help="Service-level target in seconds.")
@click.option(
    "--strategy", type=click.Choice(STRATEGIES), default="least_busy", show_default=True, help="Routing (R2)."
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same result.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.pass_context
def simulate(
    ctx: click.Context,
    agents: int,
    arrivals_per_hour: float,
    handle_time: float,
    hours: float,
    capacity: int,
    target_seconds: float,
    strategy: str,
    seed: int,
    as_json: bool,
) -> None:
    """Run the routing engine on a virtual clock; compare with Erlang C.

    Simulated agents are active the whole time, answer each thread the moment
    it is assigned and close it after an exponential handling time.
    """
    try:
        config = SimConfig(agents, arrivals_per_hour, handle_time, hours, capacity, target_seconds, strategy, seed)
    except SimConfigError as error:
        # SimConfig is the one place that knows the limits; click turns this into a usage error (exit 2).
        param = next((p for p in ctx.command.params if p.name == error.option), None)
        raise click.BadParameter(error.problem, ctx=ctx, param=param) from None
    if as_json:
        click.echo(json.dumps(run_simulation(config).as_dict(), allow_nan=False))
        return
    Console().print(_table(_run_with_progress(config)))


def _run_with_progress(config: SimConfig) -> SimResult:
    columns = (
        TextColumn("simulating"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[clock]}"),
        TimeElapsedColumn(),
    )
    # On stderr, so that stdout carries only the table.
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("simulate", total=config.horizon, clock="")

        def update(done: float, total: float) -> None:
            progress.update(task, completed=done, clock=f"{done / 3600:.1f} h of {total / 3600:g} h")

        return run_simulation(config, progress=update)


def _table(result: SimResult) -> Table:
    config, erlang = result.config, result.erlang_c
    table = Table(
        title=(
            f"{config.agents} agents × {config.capacity}, {config.arrivals_per_hour:g} threads/h, "
            f"{config.handle_time:g} s handling, {config.hours:g} h, {config.strategy}, seed {config.seed}"
        ),
        caption=_caption(erlang),
    )
    table.add_column("figure")
    table.add_column("measured", justify="right")
    table.add_column("Erlang C predicted", justify="right")
    expected = config.arrivals_per_hour * config.hours
    table.add_row("threads arrived", f"{result.threads:,}", f"{expected:,.0f} expected")
    table.add_row("answered (reached an agent)", f"{result.answered:,}", "all")
    table.add_row("waited in the queue", _percent(result.waited_fraction), _percent(erlang.p_wait))
    table.add_row("mean wait, over all threads", _seconds(result.mean_wait_seconds), _seconds(erlang.mean_wait_seconds))
    table.add_row(
        f"service level (within {config.target_seconds:g} s)",
        _percent(result.service_level),
        _percent(erlang.service_level),
    )
    table.add_row("occupancy", _percent(result.occupancy), _percent(erlang.occupancy))
    table.add_row("longest wait", _seconds(result.max_wait_seconds), "")
    return table


def _caption(erlang: ErlangC) -> str:
    load = f"offered load {erlang.offered_load:.2f} erlangs"
    if erlang.overloaded:
        return (
            f"Erlang C: {load} ≥ {erlang.servers} servers: overloaded, no steady state "
            "(the queue grows for as long as clients arrive)."
        )
    return f"Erlang C: M/M/N with N = {erlang.servers} servers (agents × capacity), {load}."


def _percent(value: float | None) -> str:
    return "overloaded" if value is None else f"{value:.1%}"


def _seconds(value: float | None) -> str:
    return "overloaded" if value is None else f"{value:,.1f} s"
