// What one seed simulates: the federation's size, the protocol's timeouts, the workload and
// how hostile the network, the disks and the machines are. Each seed draws its own mix
// (swarm testing, as TigerBeetle's VOPR does), so that some seeds are calm and some brutal.
import type { CoordinatorConfig } from '../../coordinator-2pc/src/coordinator.js';
import type { ParticipantConfig } from '../../coordinator-2pc/src/participant.js';
import type { Prng } from './prng.js';

export interface NetworkProfile {
  delayMinMs: number;
  delayMaxMs: number;
  lossProbability: number;
  duplicateProbability: number;
  /** A message stuck in some queue: delivered after up to longDelayMaxMs. */
  longDelayProbability: number;
  longDelayMaxMs: number;
  /** How often (on average) a partition starts, and how long one lasts. */
  partitionEveryMs: number;
  partitionLastsMaxMs: number;
  /** The client side of a request gives up after this long (an HTTP client timeout). */
  requestTimeoutMs: number;
  /** A message signed further than this from the receiver's clock is refused (SIGNATURE_MAX_SKEW_S). */
  signatureWindowMs: number;
  /**
   * A prepare whose deadline is further ahead of the receiver's clock is refused before the
   * participant core sees it (the node's peer admission, PEER_DEADLINE_AHEAD_MAX_MS): it bounds
   * how long a forgotten tombstone could still be needed.
   */
  deadlineAheadMaxMs: number;
  /**
   * When set, a message's delay from one node to another (wide-area latency per pair of
   * sites, with jitter), instead of a draw between delayMinMs and delayMaxMs; long delays
   * still apply while faults last. Set by the scale profile (scale.ts), never by drawProfile.
   */
  pairDelayMs?: (from: string, to: string) => number;
}

export interface SimulationProfile {
  nodeCount: number;
  slotsPerNode: number;
  /** Per-node clock offsets from the simulator's true time, in ms. */
  clockSkewMaxMs: number;
  /** Timers fire late by up to this much (a busy event loop). */
  timerLateMaxMs: number;
  /** Clients begin transactions during this phase; faults happen only during it. */
  faultPhaseMs: number;
  transactionCount: number;
  cancelProbability: number;
  prepareTimeoutMs: number;
  participant: Omit<ParticipantConfig, 'selfId'>;
  coordinator: Omit<CoordinatorConfig, 'selfId'>;
  network: NetworkProfile;
  /** Chance, at every step of the fault phase, that a random live node crashes. */
  crashProbabilityPerStep: number;
  downtimeMaxMs: number;
  diskSyncMaxMs: number;
  /** Rows per group commit (the node's WRITE_BATCH_MAX): small values put related writes in different batches. */
  writeBatchMax: number;
  /** Chance that a group commit fails (the node must then stop itself). */
  writeFailureProbability: number;
  /** How often (on average) some node is paused (SIGSTOP), and for how long at most. */
  pauseEveryMs: number;
  pauseMaxMs: number;
  /** How often (on average) some node's clock jumps, by up to how much, and how long until it resynchronises. */
  clockJumpEveryMs: number;
  clockJumpMaxMs: number;
  clockResyncAfterMaxMs: number;
  /** How often (on average) some node's disk fills up, and how long until space returns. */
  diskFullEveryMs: number;
  diskFullLastsMaxMs: number;
  /** After faults stop: how long the federation gets to finish everything. */
  quiescentMaxMs: number;
  /** Acceptors per transaction that involves another node (ACCEPTORS_PER_TRANSACTION: 1 is plain 2PC). */
  acceptorsPerTransaction: number;
  /**
   * When one node is lost for good (crashed, never restarted, its disk gone), or Infinity. Only
   * with 3 or more acceptors: the promise is that nothing blocks as long as at most one node is lost.
   */
  loseNodeAtMs: number;
  /** Rather a node that coordinates something at that moment (the coordinator lost forever at any point). */
  loseCoordinatorFirst: boolean;
  /**
   * One node's acceptor table comes back from an older snapshot (restore) or empty (new disk)
   * at its next restart, at `acceptorLossAtMs`; it knows it (store identity) and takes no part
   * in transactions begun before. Only in seeds where no node is lost for good.
   */
  acceptorStoreLoss: 'none' | 'restore' | 'empty';
  acceptorSnapshotAtMs: number;
  acceptorLossAtMs: number;
  /**
   * One node's WHOLE store (records, claims, booking rows, acceptor table) comes back from an
   * older snapshot (restore) or empty (new disk) at `storeLossAtMs`, marked as `npm run store`
   * marks it: it reconciles with every peer before it serves bookings. Drawn by drawStoreLoss.
   */
  storeLoss: 'none' | 'restore' | 'empty';
  storeSnapshotAtMs: number;
  storeLossAtMs: number;
  /** A reconciling node asks a peer that did not answer again after this long (RECONCILIATION_RETRY_MS). */
  reconciliationRetryMs: number;
}

export function drawProfile(prng: Prng): SimulationProfile {
  const faultPhaseMs = prng.int(300, 2000);
  const participant = {
    waitMaxMs: prng.int(2, 40),
    inDoubtQueryAfterMs: prng.int(10, 100),
    queryBackoffMaxMs: prng.int(100, 400),
    finishedRetentionMs: prng.int(100, 2000),
    recoveryBallotAfterMs: 0, // drawn in drawPaxos
  };
  const coordinator = {
    resendInitialMs: prng.int(10, 100),
    resendMaxMs: prng.int(100, 400),
    abortedRetentionMs: prng.int(100, 2000),
  };
  const prepareTimeoutMs = prng.int(20, 150);
  return withSafeRetention({
    nodeCount: prng.int(3, 5),
    slotsPerNode: prng.int(2, 8),
    clockSkewMaxMs: prng.pick([0, 1, 5, 50]),
    timerLateMaxMs: prng.pick([0, 0, 2, 20]),
    faultPhaseMs,
    transactionCount: prng.int(5, 60),
    cancelProbability: prng.pick([0, 0.1, 0.3]),
    prepareTimeoutMs,
    participant,
    coordinator,
    network: drawNetwork(prng, prepareTimeoutMs),
    crashProbabilityPerStep: prng.pick([0, 0.001, 0.003, 0.01]),
    downtimeMaxMs: prng.int(1, 300),
    diskSyncMaxMs: prng.chance(0.1) ? prng.between(10, 100) : prng.between(0.05, 3),
    writeFailureProbability: prng.pick([0, 0, 0.002, 0.01]),
    quiescentMaxMs: 20_000,
    ...drawNodeFaults(prng),
    ...drawPaxos(prng, faultPhaseMs, prepareTimeoutMs, participant),
    storeLoss: 'none', storeSnapshotAtMs: 0, storeLossAtMs: 0, reconciliationRetryMs: 100, // drawn by drawStoreLoss
  });
}

/** Paxos Commit's parameters and the loss of a node for good (drawn last: the other draws stay as they were). */
function drawPaxos(prng: Prng, faultPhaseMs: number, prepareTimeoutMs: number, participant: { recoveryBallotAfterMs?: number }): Pick<SimulationProfile, 'acceptorsPerTransaction' | 'loseNodeAtMs' | 'loseCoordinatorFirst' | 'acceptorStoreLoss' | 'acceptorSnapshotAtMs' | 'acceptorLossAtMs'> {
  // Mostly after the prepare deadline, as the node's config demands; sometimes before, to make leaders duel with the coordinator.
  participant.recoveryBallotAfterMs = prng.chance(0.2) ? prng.int(1, prepareTimeoutMs) : prng.int(prepareTimeoutMs + 1, 3 * prepareTimeoutMs + 50);
  const acceptorsPerTransaction = prng.pick([1, 3, 3, 3, 5]);
  const loses = acceptorsPerTransaction >= 3 && prng.chance(0.3);
  const loseCoordinatorFirst = prng.chance(0.7);
  const acceptorStoreLoss = !loses && acceptorsPerTransaction >= 3 && prng.chance(0.3) ? prng.pick(['restore', 'empty'] as const) : 'none';
  const acceptorSnapshotAtMs = prng.between(0, faultPhaseMs / 2);
  const acceptorLossAtMs = acceptorSnapshotAtMs + prng.between(0, faultPhaseMs / 2);
  return { acceptorsPerTransaction, loseNodeAtMs: loses ? prng.between(0, faultPhaseMs) : Infinity, loseCoordinatorFirst, acceptorStoreLoss, acceptorSnapshotAtMs, acceptorLossAtMs };
}

/**
 * The whole-store fault, drawn from a generator of its own (so that seeds without it replay as
 * before it existed). Only with 3 or more acceptors and no other loss in the seed: the restored
 * node is the one acceptor a transaction may lose (F = 1), and plain 2PC blocks by design when
 * the coordinator's decision is lost (docs/PROTOCOL.md §18).
 */
export function drawStoreLoss(prng: Prng, profile: SimulationProfile): void {
  const eligible = profile.acceptorsPerTransaction >= 3 && !Number.isFinite(profile.loseNodeAtMs) && profile.acceptorStoreLoss === 'none';
  profile.storeLoss = eligible && prng.chance(0.5) ? prng.pick(['restore', 'restore', 'empty'] as const) : 'none';
  profile.storeSnapshotAtMs = prng.between(0, profile.faultPhaseMs / 2);
  profile.storeLossAtMs = profile.storeSnapshotAtMs + prng.between(0, profile.faultPhaseMs / 2);
  profile.reconciliationRetryMs = prng.int(20, 500);
}

/**
 * The production condition for forgetting a finished transaction safely: a participant keeps
 * it longer than any prepare for it can still be admitted — the admitted deadline span plus
 * the clock error between the nodes (skew, and jumps until the clock is resynchronised).
 * Without it a stale prepare whose coordinator's clock ran ahead meets no tombstone (found by
 * seed 53624: a HELD claim stored against an aborted row).
 */
function withSafeRetention(profile: SimulationProfile): SimulationProfile {
  const jumpMs = Number.isFinite(profile.clockJumpEveryMs) ? profile.clockJumpMaxMs : 0;
  const clockErrorMs = 2 * (profile.clockSkewMaxMs + jumpMs);
  const neededMs = profile.network.deadlineAheadMaxMs + clockErrorMs + 1;
  profile.participant.finishedRetentionMs = Math.max(profile.participant.finishedRetentionMs, neededMs);
  return profile;
}

/** Faults of one node's process, clock and disk. */
function drawNodeFaults(prng: Prng): Pick<SimulationProfile, 'writeBatchMax' | 'pauseEveryMs' | 'pauseMaxMs' | 'clockJumpEveryMs' | 'clockJumpMaxMs' | 'clockResyncAfterMaxMs' | 'diskFullEveryMs' | 'diskFullLastsMaxMs'> {
  return {
    writeBatchMax: prng.pick([1, 2, 3, 8, 512]),
    pauseEveryMs: prng.pick([Infinity, Infinity, 800, 300]),
    pauseMaxMs: prng.int(20, 4000),
    clockJumpEveryMs: prng.pick([Infinity, Infinity, 1000, 400]),
    clockJumpMaxMs: prng.int(50, 8000),
    clockResyncAfterMaxMs: prng.int(50, 3000),
    diskFullEveryMs: prng.pick([Infinity, Infinity, Infinity, 1000, 300]),
    diskFullLastsMaxMs: prng.int(5, 2000),
  };
}

function drawNetwork(prng: Prng, prepareTimeoutMs: number): NetworkProfile {
  const delayMinMs = prng.between(0.05, 1);
  return {
    delayMinMs,
    delayMaxMs: delayMinMs + prng.pick([0.5, 5, 30]),
    lossProbability: prng.pick([0, 0.01, 0.05, 0.2]),
    duplicateProbability: prng.pick([0, 0.02, 0.1]),
    longDelayProbability: prng.pick([0, 0.005, 0.02]),
    longDelayMaxMs: prng.int(100, 3000),
    partitionEveryMs: prng.pick([Infinity, 500, 150]),
    partitionLastsMaxMs: prng.int(10, 400),
    requestTimeoutMs: prepareTimeoutMs + prng.int(10, 300),
    signatureWindowMs: prng.pick([Infinity, Infinity, 500, 2000]),
    deadlineAheadMaxMs: prepareTimeoutMs + prng.int(0, 100),
  };
}
