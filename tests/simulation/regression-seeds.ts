// Seeds that once made the simulator find a real bug. Each must pass forever. A seed's
// scenario depends on the simulator's random draws: when those change, re-find a seed that
// fails with the bug put back and add it here (the old one is kept, it costs nothing).
import type { BugHook } from './sim-node.js';

export interface RegressionSeed {
  seed: number;
  found: string;
  fix: string;
  /** The bug hook that puts the bug back: with it, this seed must still fail. */
  bug?: Exclude<BugHook, 'none'>;
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
  {
    seed: 2840,
    found: 'the hold-orphan bug (issue 10): a HELD claim of obs-d.tx000015 was written with the abort record of obs-a.tx000014 (the node swept the slot journal into whichever write came next), its PREPARED record went into the next group commit (WRITE_BATCH_MAX 3), which failed; after the restart the transaction was presumed aborted and its claim stayed HELD for good',
    fix: 'slot changes travel in the persist effect of their own transaction (ports.ts ResourceChanges, participant.ts); TransactionLog asserts before writing and recovery after loading (store-invariants.ts). Replays with --bug swept-changes',
    bug: 'swept-changes',
  },
  {
    seed: 83,
    found: 'after a failed group commit the writer went on with the next batch: a local participant\'s commit became durable without its coordinator\'s decision (heuristic outcome after the restart)',
    fix: 'group-commit-writer.ts fails every write after its first failure',
  },
  {
    seed: 330,
    found: 'the same writer bug, with the simulator as it is now (seed 83 found it first); it is rare (3 of the first 800 seeds), so it has no blindness scan and is proven here instead',
    fix: 'as seed 83 (with the simulator of that time; acceptors changed its run, see seed 1374)',
  },
  {
    seed: 1454,
    found: 'the same writer bug, with the simulator of that time (acceptors, acceptor-table loss; seeds 330 and 1374 no longer reached it)',
    fix: 'as seed 83 (after merging main the seed no longer reaches it, see seed 82)',
  },
  {
    seed: 82,
    found: 'the same writer bug, with the simulator as it is now (acceptors, acceptor-table loss, cancellations right after their booking, capped timers): a later batch committed after a failed one leaves a prepared record without its claims',
    fix: 'as seed 83. Replays with --bug writer-continues-after-failure',
    bug: 'writer-continues-after-failure',
  },
  {
    seed: 2652,
    found: 'a coordinator whose acceptor table (and undecided booking rows) came back from an older backup presumed abort for a transaction whose COMMIT its acceptors had chosen while it was down (a participant committed, the coordinator aborted)',
    fix: 'start-up presumes abort only for transactions the store cannot have lost (recovery.ts mayHaveLost, from the store identity); the simulated store loss takes the booking rows with the acceptor table, as a restored SQLite file does',
  },
  {
    seed: 64,
    found: 'after losing its acceptor table, a coordinator node\'s own in-doubt participant asked its own coordinator core, which answered from memory by presumed abort; the participant aborted while the acceptors chose COMMIT',
    fix: 'engine.ts: a local status query the coordinator core does not hold is answered from the records (`unknown` before the horizon), and that participant may then lead a recovery ballot itself',
  },
  {
    seed: 51103,
    found: 'two participants of a transaction whose coordinator was lost for good led recovery ballots at the same in-doubt query times for ever (a Paxos duel: each outranked the other), so it stayed undecided after the quiescent period',
    fix: 'participant.ts leadRecovery: the k-th participant (other than the coordinator) leads only at every k-th in-doubt query',
  },
  {
    seed: 52919,
    found: 'the simulated acceptor-table loss also dropped the booking row of a transaction with no acceptors but its coordinator (a booking of its own slots), whose prepared record survived: nobody could decide it. A real restore loses both or neither',
    fix: 'sim-disk.ts replaceAcceptors drops only the booking rows of the proposals the lost table held (the model, not the node, was wrong)',
  },
  {
    seed: 9060,
    found: 'with disks whose fsync took 80-95 ms and group commits of 1-3 rows, each leader started a higher recovery ballot at every turn while its own previous one was still running, so every ballot was outranked by its own successor and the transaction stayed undecided (rounds past 100)',
    fix: 'leader.ts ballotStillCurrent: a leader keeps its ballot until it is chosen, outranked, or a patience that doubles with every attempt (BALLOT_PATIENCE_INITIAL_MS up to BALLOT_PATIENCE_MAX_MS) has passed',
  },
  {
    seed: 56631,
    found: 'the same self-outranking leaders as seed 9060, with four nodes',
    fix: 'leader.ts ballotStillCurrent (see seed 9060)',
  },
  {
    seed: 53624,
    found: 'a stale prepare whose coordinator\'s clock had jumped ahead (deadline far in the future) reached a participant that had already forgotten the tombstone of that aborted transaction (a tombstone of an unknown transaction has no deadline to wait for): it held the slot, and the store kept the aborted row while taking the HELD claim',
    fix: 'the simulated node admits a prepare only when its deadline is at most deadlineAheadMaxMs ahead (the node\'s peer admission, PEER_DEADLINE_AHEAD_MAX_MS), and keeps finished records longer than that plus the clock error (profile.ts withSafeRetention)',
  },
  {
    seed: 67054,
    found: 'a liveness bug: the cores kept their timers as instants of the federation clock, so when a node whose clock had jumped ahead (jumps piling up to ~25 s) was synchronised back, its decision re-sends waited for the step as well and the federation was still unsettled long after the faults stopped (found with the simulator of commit 4b62e02)',
    fix: 'nextWakeAtMs(nowMs) of both cores caps every timer at its longest interval (coordinator.ts capTimer, participant-entries.ts capTimers); the simulator lets jumps pile up again and its node checks every timer asked for against that bound. Replays with --bug uncapped-timers',
    bug: 'uncapped-timers',
  },
  {
    seed: 6,
    found: 'whole-store restore (issue 11): reconciliation applied each peer\'s report as it came; one peer\'s booking of a slot met the booking the backup still had there, whose cancellation another peer reported later: a conflict for an operator, bookings refused for good',
    fix: 'reconciliation-step.ts: every peer\'s report is gathered, then applied in the order the transactions began, pass after pass while anything more applies',
  },
  {
    seed: 1680,
    found: 'the same, when the peer that coordinated the earlier booking and its cancellation was unreachable at the first round: the later booking was applied before they were known',
    fix: 'reconciliation-step.ts inOrder: nothing is applied until every peer has answered',
  },
  {
    seed: 1028,
    found: 'a restored store reconciled from its newest record by its own clock; the peer that coordinated a later booking stamped its record by a clock 46 ms behind, so it was never reported and the restored participant lost a 201 booking\'s slot',
    fix: 'node.ts (and the simulated disk): a restored store reconciles from its newest record less RECONCILIATION_MARGIN_MS',
  },
  {
    seed: 45,
    found: 'a restored participant that had lost its prepared record acknowledged a commit for it at once (an ack for a record it did not have)',
    fix: 'a reconciling node answers commits 503 (federation-routes.ts checkDecision, sim-network.ts) until reconciliation has applied the outcome',
  },
  {
    seed: 822,
    found: 'a participant on a new disk reconciled before a transaction it had voted yes on was decided; the commit came later for a record it no longer had (its slot was free meanwhile)',
    fix: 'reconciliation pages name the transactions involving the asker that are still undecided; the asker is not reconciled with that peer until they are decided and applied',
  },
  {
    seed: 536,
    found: 'the same, for a commit decided in the coordinator\'s memory whose record was not yet durable when the page was made: neither reported nor undecided',
    fix: 'reconciliation-step.ts undecidedInvolving: a commit decided in memory counts as undecided until its record is durable',
  },
  {
    seed: 988,
    found: 'after an acceptor-table loss the simulator started passing the store\'s horizon to start-up recovery (as node.ts does): a cancellation of the node\'s own booking on its own telescope, undecided, was no longer presumed aborted and stayed in doubt for ever (no one else to ask)',
    fix: 'recovery.ts: a transaction of this node alone is presumed aborted even when its store may have lost it: no one else can hold a commit',
  },
  {
    seed: 507421,
    found: 'found by the 20,000-seed soak after the fix of seed 988: a booking of the restored node\'s own telescopes alone, begun before its backup and committed after it, was aborted at start-up (its decision lost with the store) — the checker had counted that as deciding it twice',
    fix: 'the model, not the node: that booking is lost with the store (docs/PROTOCOL.md §16, nothing else holds it); checker.ts ownLostOutcome excuses it and still checks every other part',
  },
  {
    seed: 510844,
    found: 'found by the soak: the node under test had a cancellation of its own in flight when its backup was taken; lost with the store (the simulated node cannot get it back), the cancelled booking came back and a later booking of its slots became a conflict',
    fix: 'the model: store-loss.ts takes the backup only when the node under test has nothing of its own in flight',
  },
  {
    seed: 567,
    found: 'a booking begun just before the backup\'s newest record and prepared at the restored node after it was not reported: a coordinator record carries the begin time, and the margin covered only the clocks',
    fix: 'the margin below the newest record covers the prepare window too (RECONCILIATION_MARGIN_MS, 120 s by default, is far above it; the simulator\'s margin now includes prepareTimeoutMs and deadlineAheadMaxMs)',
  },
  {
    seed: 517488,
    found: 'found by the soak: reports were applied in timestamp order, but a cancellation\'s coordinator clock ran behind its booking\'s, so the cancellation came first, failed, and a later booking took a slot before the bookings and cancellations it depended on were applied: a conflict for an operator',
    fix: 'reconciliation-step.ts inOrder: a cancellation is placed after the booking it gives back',
  },
  {
    seed: 807610,
    found: 'the checker counted as broken the ack of a commit by a node whose restored store had no record left of that cancellation: its reconciliation had found the cancellation already true (its booking not in the store) and applied nothing',
    fix: 'checker.ts lostWithStore: such an ack promises nothing more; the final states are checked as always',
  },
  {
    seed: 850259,
    found: 'a node restored from an empty disk got a booking and its cancellation from one peer and a later booking of the same slot from another, begun earlier by its clock: the later booking applied first, the cancelled one could not, and reconciliation waited for an operator for ever',
    fix: 'reconciliation-step.ts settle: a booking whose cancellation is reported committed too is no conflict (its slots end free either way); checker.ts cancelledPartLost excuses the records neither leaves',
  },
];

/** The deliberately broken nodes the checker must catch, and how many seeds it may take. */
export const BLINDNESS_CHECKS: ReadonlyArray<{ bug: Exclude<BugHook, 'none'>; what: string; seedsMax: number }> = [
  { bug: 'forgetful-participant', what: 'a participant that forgets its records and holds when it restarts', seedsMax: 50 },
  { bug: 'forgetful-coordinator', what: 'a coordinator that forgets its durable commit decisions when it restarts', seedsMax: 50 },
  { bug: 'lying-disk', what: 'a disk that acknowledges writes before they are durable (a commit sent before its decision is)', seedsMax: 50 },
  { bug: 'swept-changes', what: 'slot changes swept up by the next write instead of travelling with their own record (the hold-orphan bug)', seedsMax: 50 },
  { bug: 'early-commit', what: 'a coordinator that tells commit before a majority of the acceptors accepted it (Paxos Commit)', seedsMax: 50 },
  { bug: 'blind-leader', what: 'a recovery leader that ignores the values the acceptors\' promises report and proposes abort', seedsMax: 100 },
  { bug: 'forgetful-acceptor', what: 'an acceptor that forgets what it promised and accepted when it restarts', seedsMax: 400 },
  { bug: 'uncapped-timers', what: 'core timers left uncapped, so that a clock stepped back delays every re-send and query by the step', seedsMax: 50 },
  { bug: 'cancel-dies-behind-own-booking', what: 'a cancellation sent right after its booking\'s 201 that dies under wait-die behind its own booking\'s hold', seedsMax: 50 },
  { bug: 'skips-reconciliation', what: 'a node whose whole store was restored or replaced that serves bookings without reconciling (its forgotten 201 bookings lose their slots)', seedsMax: 50 },
  { bug: 'coordinates-after-backup', what: 'a node that coordinates transactions between its backup and its restore, which the simulated node cannot get back (it does not model the restored coordinator\'s pass of docs/PROTOCOL.md §16): their own parts are lost (first caught at seed 769, as a reconciliation left waiting for an operator)', seedsMax: 800 },
];
