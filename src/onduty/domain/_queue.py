"""The general queue (R1): priority first, then oldest arrival, then id.

A heap with lazy deletion: a thread leaving the queue from the middle (closed,
transferred) leaves a dead entry behind that is skipped when it reaches the
top. Every push gets a fresh sequence number, so a thread that is queued again
never revives an old entry.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator

from onduty.domain.model import Thread
from onduty.domain.types import ThreadId, ThreadState

_Entry = tuple[int, float, ThreadId, int]  # (-priority, arrival, id, seq)


class GeneralQueue:
    __slots__ = ("_heap", "_seq", "_size", "_threads")

    def __init__(self, threads: dict[ThreadId, Thread]) -> None:
        self._threads = threads
        self._heap: list[_Entry] = []
        self._seq = 0
        self._size = 0  # live threads queued

    def __len__(self) -> int:
        return self._size

    def push(self, thread: Thread) -> None:
        seq = self._seq = self._seq + 1
        thread.state = ThreadState.QUEUED
        thread.queue_seq = seq
        heapq.heappush(self._heap, (-thread.priority, thread.created_at, thread.id, seq))
        self._size += 1

    def discard(self, thread: Thread) -> None:
        """Forget a queued thread that leaves by another door than the front."""
        if self._is_live(thread):
            thread.queue_seq = 0
            self._size -= 1
            if len(self._heap) > 64 and len(self._heap) > 4 * self._size:
                self._compact()

    def peek(self) -> Thread | None:
        heap = self._heap
        while heap:
            _, _, thread_id, seq = heap[0]
            thread = self._threads.get(thread_id)
            if thread is not None and thread.queue_seq == seq:
                return thread
            heapq.heappop(heap)
        return None

    def pop(self) -> Thread | None:
        heap, threads = self._heap, self._threads
        while heap:
            _, _, thread_id, seq = heapq.heappop(heap)
            thread = threads.get(thread_id)
            if thread is not None and thread.queue_seq == seq:
                thread.queue_seq = 0
                self._size -= 1
                return thread
        return None

    def in_order(self) -> Iterator[Thread]:
        """The queue in routing order (for display; sorts, so not for hot paths)."""
        for _, _, thread_id, seq in sorted(self._heap):
            thread = self._threads.get(thread_id)
            if thread is not None and thread.queue_seq == seq:
                yield thread

    def first(self, n: int) -> list[Thread]:
        """The first `n` threads in routing order, without sorting the whole queue."""
        want = n
        while True:
            entries = heapq.nsmallest(want, self._heap)
            live = [t for e in entries if (t := self._threads.get(e[2])) is not None and t.queue_seq == e[3]]
            if len(live) >= n or len(entries) == len(self._heap):
                return live[:n]
            want *= 2

    def oldest_arrival(self) -> float | None:
        """The earliest arrival waiting (not the head when priorities differ)."""
        threads = self._threads
        return min(
            (e[1] for e in self._heap if (t := threads.get(e[2])) is not None and t.queue_seq == e[3]),
            default=None,
        )

    def _is_live(self, thread: Thread) -> bool:
        return thread.queue_seq != 0 and self._threads.get(thread.id) is thread

    def _compact(self) -> None:
        self._heap = [e for e in self._heap if (t := self._threads.get(e[2])) is not None and t.queue_seq == e[3]]
        heapq.heapify(self._heap)
