// Seeds that once made the simulator find a real bug. Each must pass forever. A seed's
// scenario depends on the simulator's random draws: when those change, re-find a seed that
// fails with the bug put back and add it here (the old one is kept, it costs nothing).
import type { BugHook } from './sim-node.js';

export interface RegressionSeed {
  seed: number;
  found: string;
  fix: string;
}

export const REGRESSION_SEEDS: readonly RegressionSeed[] = [
  {
    seed: 1,
    found: 'wake storm: CoordinatorCore.nextWakeAtMs asked for the prepare deadline, but tick aborts only once the clock is past it, so the engine was woken again and again at the same instant',
    fix: 'coordinator.ts nextWakeAtMs: a collecting transaction wakes at deadlineMs + 1',
  },
  {
    seed: 661,
    found: 'a late duplicate prepare, arriving after the participant had forgotten the committed transaction, wrote an aborted tombstone over its durable committed record (committed at the coordinator, aborted at the participant)',
    fix: 'participant.ts onPrepare: a prepare past its deadline is refused with a vote no and no record',
  },
  { seed: 2, found: 'the same wake storm (seed 1 found it first; this seed finds it with the simulator as it is now)', fix: 'as seed 1' },
  { seed: 369, found: 'the same stale-prepare tombstone over a committed record, caught by the durable slot ledger', fix: 'as seed 661' },
  { seed: 5053, found: 'the same stale-prepare tombstone over a committed record', fix: 'as seed 661' },
  { seed: 5853, found: 'the same stale-prepare tombstone over a committed record', fix: 'as seed 661' },
];

/** The deliberately broken nodes the checker must catch, and how many seeds it may take. */
export const BLINDNESS_CHECKS: ReadonlyArray<{ bug: Exclude<BugHook, 'none'>; what: string; seedsMax: number }> = [
  { bug: 'forgetful-participant', what: 'a participant that forgets its records and holds when it restarts', seedsMax: 50 },
  { bug: 'forgetful-coordinator', what: 'a coordinator that forgets its durable commit decisions when it restarts', seedsMax: 50 },
  { bug: 'lying-disk', what: 'a disk that acknowledges writes before they are durable (a commit sent before its decision is)', seedsMax: 50 },
];
