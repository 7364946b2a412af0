"""The server's memory under sustained load: RSS and Python's own allocations (docs/performance.md).

Starts a real `onduty serve` on a fresh SQLite database (a child of this script, which
starts `tracemalloc` in it first), logs its agents in, then drives it open-loop: status
changes at --rate per second, and new customer threads at --threads-per-second that
nobody answers, so that threads pile up, held by agents and then queued, as in a busy
day. Every --every seconds it prints the server's RSS (from /proc), the total that
tracemalloc traces (live Python allocations), what glibc's malloc counts as in use over
all its arenas and as free but kept (mallinfo2), and the part of it SQLite's own counter
claims (sqlite3_memory_used, every connection). Live Python objects, live C allocations
and allocator high-water are told apart by those figures, not guessed.

Snapshots of the allocations are taken at --compare (20 and 80 s by default) and the
largest growths between them are printed by traceback (the frames nearest to onduty's
code): what grows without bound shows there. --frames 0 runs without tracemalloc (its
own bookkeeping costs memory and CPU), for RSS alone.

Run: .venv/bin/python bench/bench_memory.py [--agents 1000] [--rate 500] [--threads-per-second 30]
                                            [--seconds 80] [--every 10] [--frames 10]
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import httpx

import loadgen
from bench_api import add_admin, add_agents, free_port, log_in, status_flips

SAMPLES = "samples.jsonl"


# -- in the server's process -------------------------------------------------------------------


def rss_kib(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost"
    )]  # fmt: skip


def malloc_in_use() -> tuple[int, int]:
    """glibc's own count over all its arenas: bytes handed out and in use (small and mmapped
    blocks), and bytes free but kept (not given back to the system). (0, 0) elsewhere."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
    except (OSError, AttributeError):
        return 0, 0
    info = libc.mallinfo2()
    return info.uordblks + info.hblkhd, info.fordblks


def sqlite_in_use() -> int:
    """What SQLite's own allocator counts as in use, all connections of the process (its page
    caches, prepared statements, schemas): 0 when the library cannot be reached."""
    try:
        library = ctypes.CDLL("libsqlite3.so.0")
        library.sqlite3_memory_used.restype = ctypes.c_int64
    except (OSError, AttributeError):
        return 0
    return int(library.sqlite3_memory_used())


def serve_child(argv: list[str]) -> None:
    """`onduty serve` in this process, with tracemalloc on (unless frames is 0) and a thread
    that writes a sample every second and takes a snapshot when asked (a file `want-LABEL`)."""
    frames, folder, serve_args = int(argv[0]), Path(argv[1]), argv[2:]
    if frames:
        tracemalloc.start(frames)

    def sampler() -> None:
        with (folder / SAMPLES).open("a") as out:
            while True:
                time.sleep(1.0)
                traced = tracemalloc.get_traced_memory()[0] if frames else 0
                in_use, kept = malloc_in_use()
                sample = {
                    "at": time.time(),
                    "rss_kib": rss_kib(),
                    "traced": traced,
                    "malloc": in_use,
                    "kept": kept,
                    "sqlite": sqlite_in_use(),
                }
                out.write(json.dumps(sample) + "\n")
                out.flush()
                for wanted in sorted(folder.glob("want-*")):
                    label = wanted.name.removeprefix("want-")
                    if frames:
                        tracemalloc.take_snapshot().dump(str(folder / f"snap-{label}"))
                    wanted.rename(folder / f"done-{label}")

    threading.Thread(target=sampler, daemon=True, name="memory-sampler").start()
    # Imported only now, so that tracemalloc (started above) sees the server's own allocations.
    from onduty.cli.main import main  # noqa: PLC0415

    main(["serve", *serve_args], prog_name="onduty")


# -- the driver ---------------------------------------------------------------------------------


def start_child(database: str, port: int, workdir: Path, frames: int) -> subprocess.Popen[bytes]:
    log = (workdir / "serve.log").open("wb")
    serve = ["--port", str(port), "--database", database]
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve-child", str(frames), str(workdir), *serve],
        cwd=workdir,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    for _ in range(600):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise SystemExit(f"server did not start; see {workdir / 'serve.log'}")


def mixed_load(tokens: list[str], admin: str, threads_every: int) -> Callable[[int], loadgen.Request]:
    """Status flips, and every `threads_every`-th request a new customer's first message."""
    flips = status_flips(tokens)

    def make(i: int) -> loadgen.Request:
        if i % threads_every == 0:
            body = {"client_id": f"client{i}", "text": "hello, is anyone there?"}
            return ("POST", "/api/v1/threads", {"Authorization": f"Bearer {admin}"}, body)
        return flips(i)

    return make


def last_sample(workdir: Path) -> dict[str, float]:
    lines = (workdir / SAMPLES).read_text().splitlines()
    sample: dict[str, float] = json.loads(lines[-1]) if lines else {"traced": 0}
    return sample


async def watch(
    workdir: Path, pid: int, started: float, seconds: float, every: float, compare: list[float], frames: int
) -> list[tuple[float, int, float]]:
    """Prints RSS and the traced total every `every` seconds; asks for the snapshots."""
    rows: list[tuple[float, int, float]] = []
    marks = sorted({*(t for t in compare if t <= seconds), *[every * k for k in range(1, int(seconds // every) + 1)]})
    for mark in marks:
        await asyncio.sleep(max(0.0, started + mark - time.monotonic()))
        if mark in compare and frames:
            (workdir / f"want-{mark:g}").touch()
        rss = rss_kib(pid)
        sample = last_sample(workdir)
        rows.append((mark, rss, sample["traced"]))
        print(f"  {mark:5.0f} s  {_figures(rss, sample)}", flush=True)
    return rows


async def drive(
    port: int, workdir: Path, pid: int, make: Callable[[int], loadgen.Request], args: argparse.Namespace
) -> loadgen.Result:
    started = time.monotonic()
    watcher = asyncio.create_task(watch(workdir, pid, started, args.seconds, args.every, args.compare, args.frames))
    result = await loadgen.run_rate(
        "127.0.0.1", port, make, rate=args.rate + args.threads_per_second, seconds=args.seconds, connections=64
    )
    await watcher
    return result


def _figures(rss_kib: int, sample: dict[str, float]) -> str:
    mib = 2**20
    return (
        f"RSS {rss_kib / 1024:6.1f} MiB  traced by tracemalloc {sample['traced'] / mib:6.1f} MiB  "
        f"malloc in use {sample.get('malloc', 0) / mib:6.1f} MiB (SQLite's {sample.get('sqlite', 0) / mib:5.1f}), "
        f"free but kept {sample.get('kept', 0) / mib:5.1f} MiB"
    )


def wait_for(path: Path, timeout: float = 120.0) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > end:
            raise SystemExit(f"no {path.name} from the server")
        time.sleep(0.2)


def compare(workdir: Path, first: str, last: str, top: int) -> None:
    wait_for(workdir / f"done-{first}")
    wait_for(workdir / f"done-{last}")
    before = tracemalloc.Snapshot.load(str(workdir / f"snap-{first}"))
    after = tracemalloc.Snapshot.load(str(workdir / f"snap-{last}"))
    ignore = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap*>"),
    ]
    before, after = before.filter_traces(ignore), after.filter_traces(ignore)
    print(f"  traced at {first} s: {sum(s.size for s in before.statistics('filename')) / 2**20:.1f} MiB, "
          f"at {last} s: {sum(s.size for s in after.statistics('filename')) / 2**20:.1f} MiB")  # fmt: skip
    print(f"  largest growths from {first} s to {last} s, by line:")
    for stat in after.compare_to(before, "lineno")[:top]:
        where = f"{_short(stat.traceback[0].filename)}:{stat.traceback[0].lineno}"
        print(f"    {stat.size_diff / 1024:+9.0f} KiB {stat.count_diff:+8d} blocks  {where}")
    print("  largest growths by traceback (the onduty frames nearest to the allocation):")
    for stat in after.compare_to(before, "traceback")[:top]:
        ours = [f for f in stat.traceback if "/onduty/" in f.filename][-3:] or list(stat.traceback)[-2:]
        where = " <- ".join(f"{_short(f.filename)}:{f.lineno}" for f in reversed(ours))
        print(f"    {stat.size_diff / 1024:+9.0f} KiB {stat.count_diff:+8d} blocks  {where}")


def _short(filename: str) -> str:
    for marker in ("/src/", "/site-packages/", "/lib/python"):
        if marker in filename:
            return filename.split(marker, 1)[1]
    return filename


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--serve-child":
        serve_child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agents", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=500, help="status changes per second")
    parser.add_argument("--threads-per-second", type=float, default=30, help="new customer threads per second")
    parser.add_argument("--seconds", type=float, default=80)
    parser.add_argument("--every", type=float, default=10, help="print RSS every so many seconds")
    parser.add_argument("--compare", type=lambda text: [float(n) for n in text.split(",")], default=[20.0, 80.0])
    parser.add_argument("--frames", type=int, default=10, help="tracemalloc frames (0: tracemalloc off)")
    parser.add_argument("--after", type=float, default=10, help="seconds to watch after the load stops")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        database = f"sqlite:///{workdir / 'bench.db'}"
        admin = add_admin(database, workdir)
        tokens = add_agents(database, args.agents)
        port = free_port()
        server = start_child(database, port, workdir, args.frames)
        try:
            asyncio.run(log_in(port, tokens))
            print(f"memory under load: {args.agents:,} agents, {args.rate:g} status changes/s and "
                  f"{args.threads_per_second:g} new threads/s for {args.seconds:g} s, SQLite, "
                  f"tracemalloc {'off' if not args.frames else f'{args.frames} frames'}")  # fmt: skip
            print(f"      0 s  RSS {rss_kib(server.pid) / 1024:6.1f} MiB (agents logged in)")
            every = max(2, round((args.rate + args.threads_per_second) / max(args.threads_per_second, 1e-9)))
            make = mixed_load(tokens, admin, every)
            result = asyncio.run(drive(port, workdir, server.pid, make, args))
            print(f"  answered {len(result.latencies):,} ({result.rate:,.0f}/s), statuses {result.statuses}, "
                  f"p99 {result.percentile(0.99) * 1000:.1f} ms")  # fmt: skip
            queue = httpx.get(f"http://127.0.0.1:{port}/api/v1/queue", headers={"Authorization": f"Bearer {admin}"})
            print(f"  threads queued at the end: {queue.json()['length']:,}")
            time.sleep(args.after)
            print(f"  {args.after:g} s idle after: {_figures(rss_kib(server.pid), last_sample(workdir))}")
            if args.frames and len(args.compare) >= 2:
                compare(workdir, f"{args.compare[0]:g}", f"{args.compare[-1]:g}", args.top)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:  # still dumping a snapshot: not left behind in the folder
                server.kill()
                server.wait()


if __name__ == "__main__":
    main()
