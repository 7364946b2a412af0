// When work runs: after a quiet spell (debounce), or one run at a time (coalesced).

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
