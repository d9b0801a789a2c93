/** A hand-driven clock for tests: time moves only when the test says so. */
export function manualClock(start = Date.UTC(2026, 0, 5, 9, 0, 0)) {
  let now = start;
  return {
    now: () => now,
    advance(ms: number) {
      now += ms;
    },
    set(t: number) {
      now = t;
    },
  };
}
