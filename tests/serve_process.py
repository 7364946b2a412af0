"""A real `onduty serve` process on a loopback port, for the tests that need one
(browser tests, the restart test, several instances): start it, wait until healthy, stop,
kill, pause or resume it."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ParamSpec, TypeVar

import httpx

from onduty.cli.admin import create_user
from onduty.storage.database import resolve
from onduty.web.schemas import CreatedUser

P = ParamSpec("P")
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def on_a_thread(work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """`work(*args, **kwargs)` on a thread of its own: for what runs an event loop (asyncio.run), which
    the browser tests' thread cannot (Playwright's sync API marks its loop as running there)."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(work, *args, **kwargs).result()


class ServeProcess:
    def __init__(self, database: str, workdir: Path, *options: str, name: str = "serve") -> None:
        self.database, self.workdir, self.options = database, workdir, options
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{name}.log"  # a name of its own for each of several processes
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """Started and not dead (a paused process is running)."""
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 30) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    *(sys.executable, "-m", "onduty", "serve", "--port", str(self.port)),
                    *("--database", self.database, *self.options),
                ],
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert self.process.poll() is None, self.log.read_text()
            time.sleep(0.1)
        raise AssertionError(f"onduty serve did not start: {self.log.read_text()}")

    def onduty(self, *args: str) -> str:
        """Another `onduty` command on the same database (as an operator runs one beside it)."""
        done = subprocess.run(
            [sys.executable, "-m", "onduty", *args, "--database", self.database],
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def add_user(self, name: str, role: str, *, team: str | None = None, password: str | None = None) -> CreatedUser:
        """A user made by `onduty users add`'s own code, in this process: set-up that does not
        pay for another interpreter (its imports cost ten times the work)."""
        return on_a_thread(asyncio.run, create_user(resolve(self.database), name, role, team, None, password))

    def stop(self) -> bool:
        """A clean stop (SIGTERM), as an operator would; False when it did not stop within
        10 s and was killed (after its tasks were dumped to its log: what it was stuck on)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.dump_tasks()
                self.process.kill()
                self.process.wait(timeout=10)
                return False
        return True

    def dump_tasks(self, timeout: float = 5.0) -> None:
        """SIGUSR1: the server logs what each of its asyncio tasks waits on (task_dump.py);
        waits (a while at most) until its log has the new dump."""
        if self.process is None or self.process.poll() is not None:
            return
        before = self.log.read_text().count("asyncio tasks")
        self.process.send_signal(signal.SIGUSR1)
        end = time.monotonic() + timeout
        while time.monotonic() < end and self.log.read_text().count("asyncio tasks") == before:
            time.sleep(0.05)
        time.sleep(0.2)  # the tasks' own lines follow the heading

    def kill(self) -> None:
        """A crash: SIGKILL, no chance to clean up."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def pause(self) -> None:
        """SIGSTOP: frozen as a long GC pause or a stalled VM would freeze it; its sockets
        stay open and what is sent to it waits."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """SIGCONT: it goes on from where it stopped, unaware of the time that passed."""
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)
