/** Milliseconds since the epoch, as Sluice decides by. */
export type Clock = () => number;

/**
 * A clock that never goes backwards and does not follow steps of the wall clock: the wall
 * clock is read once, as an anchor, and from then on time is the anchor plus the elapsed
 * time of a monotonic source (performance.now, which NTP may slew but never steps). A
 * wall-clock step (an operator's `date -s`, a VM resumed, NTP correcting an hour) then
 * neither hands keys a fresh budget nor locks them out for the size of the step. The price:
 * the process's notion of the epoch stays as it was at start, however the wall clock is
 * corrected later (stores that outlive the process clamp state stamped ahead of now, see
 * Algorithm.ahead). Both sources can be injected, for tests.
 */
export function monotonicClock(wall: () => number = Date.now, elapsed: () => number = () => performance.now()): Clock {
  // The anchor is taken from a wall reading bracketed by two elapsed readings, the tightest of a
  // few tries: a process preempted between two single reads would start (and stay) behind the
  // wall clock by the pause — 8 ms was seen on a loaded machine.
  let anchor = 0;
  let bracket = Infinity;
  for (let i = 0; i < 5 && bracket > 0.5; i++) {
    const before = elapsed();
    const at = wall();
    const after = elapsed();
    if (after - before < bracket) {
      bracket = after - before;
      anchor = at - (before + after) / 2;
    }
  }
  // Whole milliseconds, like Date.now: fewer distinct stamps in sliding logs, same decisions.
  return () => Math.floor(anchor + elapsed());
}

/** The default clock of every Sluice in the process (one anchor, so engines and front doors agree). */
export const sluiceClock: Clock = monotonicClock();
