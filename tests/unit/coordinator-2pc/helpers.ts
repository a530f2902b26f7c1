// Test doubles and builders shared by the coordinator-2pc unit tests: an in-memory slot
// resource manager, message and record builders, and the fake ports of the engine (a log
// whose writes are resolved by hand, a request() whose answers are given by hand, a clock).
import type {
  AbortReason,
  AckMessage,
  DecisionMessage,
  NodeId,
  PrepareMessage,
  ProtocolMessage,
  StatusQueryMessage,
  StatusReplyMessage,
  TxId,
  TxKind,
  VoteMessage,
} from '../../../coordinator-2pc/src/messages.js';
import type { Effect, HoldAttempt, ParticipantRecord, ResourceChanges, ResourceManager } from '../../../coordinator-2pc/src/ports.js';
import type { ParticipantConfig } from '../../../coordinator-2pc/src/participant.js';
import type { CoordinatorConfig } from '../../../coordinator-2pc/src/coordinator.js';
import type { EnginePorts, LogEntry, ReplyMessage, RequestMessage } from '../../../coordinator-2pc/src/engine.js';

export const COORD: NodeId = 'obs-a';
export const SELF: NodeId = 'obs-b';
export const OTHER: NodeId = 'obs-c';

/** A valid transaction id of coordinator obs-a: `obs-a.tx000001`. */
export function tx(n: number, coordinator: NodeId = COORD): TxId {
  return `${coordinator}.tx${String(n).padStart(6, '0')}`;
}

export const participantConfig: ParticipantConfig = {
  selfId: SELF,
  waitMaxMs: 200,
  inDoubtQueryAfterMs: 1000,
  queryBackoffMaxMs: 5000,
  finishedRetentionMs: 60_000,
  recoveryBallotAfterMs: 3000,
};

export const coordinatorConfig: CoordinatorConfig = {
  selfId: COORD,
  resendInitialMs: 500,
  resendMaxMs: 2000,
  abortedRetentionMs: 10_000,
};

export type RmCall = { op: 'tryHold' | 'confirm' | 'release'; txId: TxId };

/**
 * Telescope slots in memory. A payload is a non-empty array of slot keys; tryHold takes all
 * of them or none; a conflict names every holder and is `final` when one of them committed.
 * Each successful call returns one change, `<op> <txId>` (see changeOf), which the core must
 * carry in the persist effect of that same transaction.
 */
export class SlotResourceManager implements ResourceManager {
  readonly calls: RmCall[] = [];
  private readonly holders = new Map<string, { txId: TxId; committed: boolean }>();

  tryHold(txId: TxId, _kind: TxKind, payload: unknown, _nowMs: number): HoldAttempt {
    this.calls.push({ op: 'tryHold', txId });
    if (!Array.isArray(payload) || payload.length === 0 || !payload.every((s) => typeof s === 'string')) {
      return { ok: false, code: 'invalid', detail: 'payload is not a list of slots' };
    }
    const blockers: TxId[] = [];
    let final = false;
    for (const slot of payload as string[]) {
      const holder = this.holders.get(slot);
      if (!holder || holder.txId === txId) continue;
      if (!blockers.includes(holder.txId)) blockers.push(holder.txId);
      if (holder.committed) final = true;
    }
    if (blockers.length > 0) return { ok: false, code: 'conflict', detail: `held by ${blockers.join(', ')}`, blockers, final };
    for (const slot of payload as string[]) this.holders.set(slot, { txId, committed: false });
    return { ok: true, changes: [changeOf('hold', txId)] };
  }

  confirm(txId: TxId): ResourceChanges {
    this.calls.push({ op: 'confirm', txId });
    for (const holder of this.holders.values()) if (holder.txId === txId) holder.committed = true;
    return [changeOf('confirm', txId)];
  }

  release(txId: TxId): ResourceChanges {
    this.calls.push({ op: 'release', txId });
    for (const [slot, holder] of [...this.holders]) if (holder.txId === txId && !holder.committed) this.holders.delete(slot);
    return [changeOf('release', txId)];
  }

  /** A slot taken outside the participant core (another booking path, or a restored hold). */
  seed(slot: string, txId: TxId, committed: boolean): void {
    this.holders.set(slot, { txId, committed });
  }

  holderOf(slot: string): { txId: TxId; committed: boolean } | undefined {
    const holder = this.holders.get(slot);
    return holder && { ...holder };
  }

  opsOf(txId: TxId): RmCall['op'][] {
    return this.calls.filter((c) => c.txId === txId).map((c) => c.op);
  }
}

export function prepareMsg(overrides: Partial<PrepareMessage> = {}): PrepareMessage {
  return {
    type: 'prepare',
    txId: tx(1),
    kind: 'book',
    coordinatorId: COORD,
    participants: [SELF, OTHER],
    timestampMs: 100,
    deadlineMs: 10_000,
    payload: ['t1@02:00'],
    ...overrides,
  };
}

export function commitMsg(txId: TxId, from: NodeId = COORD): DecisionMessage {
  return { type: 'commit', txId, from };
}

export function abortMsg(txId: TxId, from: NodeId = COORD): DecisionMessage {
  return { type: 'abort', txId, from };
}

export function statusReplyMsg(txId: TxId, outcome: StatusReplyMessage['outcome'], from: NodeId = COORD): StatusReplyMessage {
  return { type: 'status-reply', txId, from, outcome };
}

export function voteMsg(txId: TxId, from: NodeId, vote: 'yes' | 'no', reason?: AbortReason): VoteMessage {
  return { type: 'vote', txId, from, vote, ...(reason ? { reason } : {}) };
}

export function ackMsg(txId: TxId, from: NodeId, outcome: 'committed' | 'aborted'): AckMessage {
  return { type: 'ack', txId, from, outcome };
}

export function statusQueryMsg(txId: TxId, from: NodeId): StatusQueryMessage {
  return { type: 'status-query', txId, from };
}

/** The participant record a core builds from a prepare. */
export function recordOf(
  prepare: PrepareMessage,
  state: ParticipantRecord['state'],
  createdAtMs: number,
  extra: Partial<ParticipantRecord> = {},
): ParticipantRecord {
  return {
    txId: prepare.txId,
    kind: prepare.kind,
    coordinatorId: prepare.coordinatorId,
    participants: prepare.participants,
    timestampMs: prepare.timestampMs,
    deadlineMs: prepare.deadlineMs,
    payload: prepare.payload,
    state,
    createdAtMs,
    updatedAtMs: createdAtMs,
    ...extra,
  };
}

export function send(to: NodeId, message: ProtocolMessage): Effect {
  return { type: 'send', to, message };
}

export function audit(event: Extract<Effect, { type: 'audit' }>['event'], txId: TxId, details: Record<string, unknown>): Effect {
  return { type: 'audit', event, txId, details };
}

/** The change SlotResourceManager reports for one call. */
export function changeOf(op: 'hold' | 'confirm' | 'release', txId: TxId): string {
  return `${op} ${txId}`;
}

/** A persist effect; `changes` are the resource changes of the same transaction's step (none by default). */
export function persist(record: ParticipantRecord, changes: ResourceChanges = []): Effect {
  return { type: 'persist-participant', record, changes };
}

/** The resource change a finished participant record must carry. */
export function finishChange(txId: TxId, outcome: 'committed' | 'aborted'): string {
  return changeOf(outcome === 'committed' ? 'confirm' : 'release', txId);
}

/** The three effects of a yes vote at `atMs`: PREPARED record, audit, vote. */
export function preparedEffects(prepare: PrepareMessage, atMs: number, self: NodeId = SELF): Effect[] {
  return [
    persist(recordOf(prepare, 'prepared', atMs), [changeOf('hold', prepare.txId)]),
    audit('TX_PREPARED', prepare.txId, { coordinator: prepare.coordinatorId, kind: prepare.kind }),
    send(prepare.coordinatorId, voteMsg(prepare.txId, self, 'yes')),
  ];
}

/** The three effects of a no vote at `atMs`: aborted record with the reason, audit, vote. */
export function refusedEffects(prepare: PrepareMessage, atMs: number, code: AbortReason['code'], detail: string, self: NodeId = SELF): Effect[] {
  const reason: AbortReason = { code, detail, node: self };
  return [
    persist(recordOf(prepare, 'aborted', atMs, { reason })),
    audit('TX_VOTED_NO', prepare.txId, { coordinator: prepare.coordinatorId, reason: code, detail }),
    send(prepare.coordinatorId, voteMsg(prepare.txId, self, 'no', reason)),
  ];
}

// ---------------------------------------------------------------- engine fakes

/** Let every pending promise callback run. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * A transaction log whose writes become durable only when the test says so. It keeps the
 * port's promise: a write resolves only after every earlier write did.
 */
export class ManualLog {
  readonly writes: Array<{ entry: LogEntry; durable: boolean; resolve: () => void; reject: (error: unknown) => void }> = [];
  private tail: Promise<void> = Promise.resolve();
  /** When true, every write is durable at once (still in order). */
  autoResolve = false;

  readonly writeLog = (entry: LogEntry): Promise<void> => {
    let resolve!: () => void;
    let reject!: (error: unknown) => void;
    const own = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const write = { entry, durable: false, resolve: () => { write.durable = true; resolve(); }, reject };
    this.writes.push(write);
    if (this.autoResolve) write.resolve();
    const previous = this.tail;
    const result = previous.then(() => own);
    this.tail = result.catch(() => undefined);
    return result;
  };

  resolveAll(): void {
    for (const write of this.writes) if (!write.durable) write.resolve();
  }

  /** Role and state of every write, in order: `participant:prepared`, `coordinator:decided`... */
  summary(): string[] {
    return this.writes.map((w) => `${w.entry.role}:${w.entry.record.txId}:${'state' in w.entry.record ? w.entry.record.state : `${w.entry.record.accepted?.value ?? 'promised'}@${w.entry.record.promised.round}`}`);
  }
}

/** The network as seen by one engine: every request waits for the test to answer it. */
export class ManualNetwork {
  readonly requests: Array<{ to: NodeId; message: RequestMessage; resolve: (reply: ReplyMessage) => void; reject: (error: unknown) => void }> = [];

  readonly request = (to: NodeId, message: RequestMessage): Promise<ReplyMessage> =>
    new Promise((resolve, reject) => this.requests.push({ to, message, resolve, reject }));

  /** `to:type` of every request made so far. */
  summary(): string[] {
    return this.requests.map((r) => `${r.to}:${r.message.type}`);
  }

  find(to: NodeId, type: RequestMessage['type']) {
    const found = this.requests.find((r) => r.to === to && r.message.type === type);
    if (!found) throw new Error(`no ${type} request to ${to}; requests: ${this.summary().join(' ')}`);
    return found;
  }
}

export class FakePorts implements EnginePorts {
  nowValue = 1000;
  readonly wakes: Array<number | undefined> = [];
  readonly audits: Array<Extract<Effect, { type: 'audit' }>> = [];
  readonly fatals: unknown[] = [];

  constructor(
    readonly log: ManualLog = new ManualLog(),
    readonly network: { request: EnginePorts['request'] } = new ManualNetwork(),
  ) {}

  writeLog(entry: LogEntry): Promise<void> {
    return this.log.writeLog(entry);
  }
  request(to: NodeId, message: RequestMessage): Promise<ReplyMessage> {
    return this.network.request(to, message);
  }
  nowMs(): number {
    return this.nowValue;
  }
  scheduleWake(atMs: number | undefined): void {
    this.wakes.push(atMs);
  }
  audit(effect: Extract<Effect, { type: 'audit' }>): void {
    this.audits.push(effect);
  }
  fatal(error: unknown): void {
    this.fatals.push(error);
  }

  auditEvents(): string[] {
    return this.audits.map((a) => a.event);
  }
}

/** Track whether a promise has settled, without awaiting it. */
export function track<T>(promise: Promise<T>): { settled: boolean; value?: T } {
  const state: { settled: boolean; value?: T } = { settled: false };
  promise.then((value) => {
    state.settled = true;
    state.value = value;
  });
  return state;
}
