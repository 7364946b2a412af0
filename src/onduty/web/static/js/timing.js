// When work runs: after a quiet spell (debounce), one run at a time (coalesced), and a
// page's events held while its state loads (loadHolding).

// Run `fn` once calls have stopped for `ms`: a burst of events makes one request.
export function debounce(fn, ms) {
  let timer = null;
  return () => {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  };
}

// One run of `work` at a time; a call while it runs makes it run once more right
// after, so the last call always sees a run that started after it. `work` handles its
// own failures: one that throws ends the round.
export function coalesced(work) {
  let running = false;
  let again = false;
  return async function run() {
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      do {
        again = false;
        await work();
      } while (again);
    } finally {
      running = false;
    }
  };
}

// A page's state read from the API while its events keep coming: `read` (handling its
// own failures) one at a time, as `coalesced`; the events that arrive meanwhile are held
// and applied after it, in order, so none is lost nor applied to the state it replaces.
// Returns `load` and `onEvent` (the stream's handler).
export function loadHolding(read, apply) {
  let loading = false;
  let held = [];
  const load = coalesced(async () => {
    loading = true;
    held = [];
    try {
      await read();
    } finally {
      loading = false;
      const later = held;
      held = [];
      for (const event of later) apply(event);
    }
  });
  const onEvent = (event) => (loading ? held.push(event) : apply(event));
  return { load, onEvent };
}
