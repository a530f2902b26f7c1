// A simulated disk that stores what the node's SQLite store would: the participant and
// coordinator records, the slot claims and the coordinator's booking rows, written the way
// the real group-commit writer writes them (storage/group-commit-writer.ts, write-batch.ts):
// - a write joins the open batch unless that batch is being committed or already holds
//   WRITE_BATCH_MAX rows (a record counts one, each claim change one);
// - the head batch starts committing at the end of the step that filled it, and becomes
//   durable as one transaction, all of it or none of it, after the fsync's delay;
// - a crash (power cut) loses every batch not yet durable, and their promises never settle;
// - a failed commit rejects every write of its batch (the node must stop: fail-stop);
// - rows follow the SQL: a participant row changes only while it is prepared; claims are
//   deleted and re-inserted per slot, and an insert into a slot another row holds is refused
//   by the primary key.
import type { LogEntry } from '../../coordinator-2pc/src/engine.js';
import type { AcceptorRecord, CoordinatorRecord, ParticipantRecord } from '../../coordinator-2pc/src/ports.js';
import type { Claim, ClaimChange } from '../../federation-node/src/domain/slot-table.js';
import type { UndecidedTransaction } from '../../federation-node/src/recovery.js';
import type { Prng } from './prng.js';
import type { Trace } from './trace.js';

export interface Scheduler {
  nowUs(): number;
  /** Run `action` after `delayMs` of simulated time. */
  after(delayMs: number, action: () => void): void;
}

/** An injected write failure (an I/O error, a full disk): the engine must stop the node (fail-stop). */
export class DiskWriteError extends Error {
  override name = 'DiskWriteError';
}

export interface DiskBehaviour {
  syncMaxMs: number;
  /** The real writer's WRITE_BATCH_MAX. */
  batchMax: number;
  /** Chance that a batch fails when it commits (only while faults are on). */
  writeFailureProbability: () => number;
  /** Test-only fault: the disk acknowledges a write before it is durable (a lying fsync). */
  acknowledgeBeforeSync: boolean;
  /** Test-only fault: the writer of old, which went on committing the batches after a failed one. */
  commitsAfterFailure: boolean;
}

export type DiskWrite =
  | { type: 'log'; entry: LogEntry }
  /** The coordinator's booking row, written when a transaction begins (status PENDING). */
  | { type: 'booking-begun'; booking: UndecidedTransaction }
  /** The booking row no longer pending: the client was told it was aborted. */
  | { type: 'booking-settled'; txId: string };

/** The durable tables. */
export interface StoredTables {
  participants: Map<string, ParticipantRecord>;
  coordinators: Map<string, CoordinatorRecord>;
  claims: Map<string, Claim>;
  pendingBookings: Map<string, UndecidedTransaction>;
  acceptors: Map<string, AcceptorRecord>;
}

interface Batch {
  writes: DiskWrite[];
  size: number;
  waiters: Array<{ resolve: () => void; reject: (error: Error) => void }>;
}

export class SimDisk {
  tables: StoredTables = emptyTables();
  /** Full disk: every commit fails until it is no longer full (set by the simulator). */
  full = false;
  /**
   * Nearly full: the node's free-space guard (storage/disk-guard.ts, DISK_FREE_MIN_MB) has
   * tripped. Commits still succeed (the margin), but the node refuses new work with 503.
   */
  low = false;
  /**
   * The store must reconcile before it serves bookings (the store_identity row's reconciliation
   * columns, left by `npm run store -- restore|new-disk`), from this instant of the node's clock.
   */
  reconcileRequired: { reason: string; sinceMs: number } | undefined;
  /** Runs a commit's completion; the node defers it while its process is stopped. */
  gate: (action: () => void) => void = (action) => action();
  private queue: Batch[] = [];
  private committing = false;
  private commitScheduled = false;
  private generation = 0;
  /** The first failed commit of this process: every later write fails with it (as the real writer's). */
  private failure: DiskWriteError | undefined;

  constructor(
    private readonly nodeId: string,
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    private readonly behaviour: DiskBehaviour,
    private readonly trace: Trace,
    /** Told of every group commit the moment it becomes durable, with its writes in order. */
    private readonly onDurable: (writes: DiskWrite[]) => void,
    /** A write that SQLite would refuse because of a broken invariant (a claim's primary key). */
    private readonly report: (problem: string) => void,
  ) {}

  write(write: DiskWrite): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    const copy = JSON.parse(JSON.stringify(write)) as DiskWrite;
    const batch = this.openBatch();
    batch.writes.push(copy);
    batch.size += copy.type === 'log' ? 1 + changesOf(copy.entry).length : 1;
    const written = new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
    this.trace.add(this.nodeId, () => `disk write ${describeWrite(copy)} (batch ${this.queue.length}, ${batch.size} rows)`);
    this.scheduleCommit();
    if (!this.behaviour.acknowledgeBeforeSync) return written;
    written.catch(() => undefined); // a lying disk loses a failed write without a word
    return Promise.resolve();
  }

  /** The machine died: batches not yet durable are gone and their promises never settle. */
  crash(): number {
    const lost = this.queue.reduce((sum, batch) => sum + batch.writes.length, 0);
    this.queue = [];
    this.generation++;
    this.committing = false;
    this.commitScheduled = false;
    this.failure = undefined;
    return lost;
  }

  /** A deep copy of the durable tables, as a restarted node reads them. */
  read(): { participantRecords: ParticipantRecord[]; coordinatorRecords: CoordinatorRecord[]; claims: Claim[]; pendingBookings: UndecidedTransaction[]; acceptorRecords: AcceptorRecord[] } {
    const copy = <T>(values: Iterable<T>): T[] => JSON.parse(JSON.stringify([...values])) as T[];
    return {
      participantRecords: copy(this.tables.participants.values()),
      coordinatorRecords: copy(this.tables.coordinators.values()),
      claims: copy(this.tables.claims.values()),
      pendingBookings: copy(this.tables.pendingBookings.values()),
      acceptorRecords: copy(this.tables.acceptors.values()),
    };
  }

  /** A copy of the durable tables now (a backup). */
  snapshot(): StoredTables {
    const copy = <K, V>(map: Map<K, V>): Map<K, V> => new Map(JSON.parse(JSON.stringify([...map])) as Array<[K, V]>);
    const t = this.tables;
    return { participants: copy(t.participants), coordinators: copy(t.coordinators), claims: copy(t.claims), pendingBookings: copy(t.pendingBookings), acceptors: copy(t.acceptors) };
  }

  /**
   * The acceptor table replaced while the node is down: by a backup's (restore) or by nothing
   * (a new disk). The undecided booking rows of the proposals it loses go with it (a restored
   * store holds none of those begun after the backup): the node no longer knows it began them,
   * and its store identity says it may have lost them (answers `unknown`, never presumed abort).
   */
  replaceAcceptors(acceptors: Map<string, AcceptorRecord> | undefined): void {
    const kept = acceptors ?? new Map<string, AcceptorRecord>();
    for (const txId of this.tables.acceptors.keys()) if (!kept.has(txId)) this.tables.pendingBookings.delete(txId);
    this.tables.acceptors = kept;
  }

  /**
   * The whole store replaced while the node is down: by an older backup's tables (restore) or by
   * nothing (a new disk), marked as `npm run store -- restore|new-disk` marks it. A restored
   * store reconciles from its newest record (as StoreIdentityStore.beginIncarnation), a new one from 0.
   */
  replaceAll(backup: StoredTables | undefined, reason: string, marginMs: number): void {
    this.tables = backup ?? emptyTables();
    const created = [...this.tables.participants.values(), ...this.tables.coordinators.values()].map((r) => r.createdAtMs);
    // Less the margin for the peers' clocks: a peer's record stamped by a clock behind this one (seed 1028).
    this.reconcileRequired = { reason, sinceMs: backup ? Math.max(0, Math.max(0, ...created) - marginMs) : 0 };
  }

  private openBatch(): Batch {
    const last = this.queue[this.queue.length - 1];
    const writable = last && !(this.committing && last === this.queue[0]) && last.size < this.behaviour.batchMax;
    if (writable) return last;
    const fresh: Batch = { writes: [], size: 0, waiters: [] };
    this.queue.push(fresh);
    return fresh;
  }

  /** Like the real writer: the commit starts once the current step is over (its setImmediate). */
  private scheduleCommit(): void {
    if (this.committing || this.commitScheduled) return;
    this.commitScheduled = true;
    const generation = this.generation;
    this.scheduler.after(0, () => {
      if (generation !== this.generation) return;
      this.commitScheduled = false;
      if (!this.committing) this.commitHead();
    });
  }

  private commitHead(): void {
    const head = this.queue[0];
    if (!head) {
      this.committing = false;
      return;
    }
    this.committing = true;
    const generation = this.generation;
    this.scheduler.after(this.prng.between(0.01, this.behaviour.syncMaxMs), () => this.gate(() => {
      if (generation !== this.generation) return;
      this.queue.shift();
      if (this.full || this.prng.chance(this.behaviour.writeFailureProbability())) return this.fail(head);
      this.trace.add(this.nodeId, () => `disk commit durable: ${head.writes.map(describeWrite).join(', ')}`);
      for (const write of head.writes) this.apply(write);
      this.onDurable(head.writes);
      head.waiters.forEach((w) => w.resolve());
      this.commitHead();
    }));
  }

  /**
   * The batch is rolled back; the writer rejects its writes and every later one, and the node
   * stops (exit 70). The writer of old went on with the next batch, which SQLite's thread
   * could commit before the process was gone (the 'writer-continues-after-failure' bug).
   */
  private fail(batch: Batch): void {
    this.committing = false;
    const why = this.full ? 'disk full' : 'I/O error';
    this.trace.add(this.nodeId, () => `disk commit FAILED (${why}): ${batch.writes.map(describeWrite).join(', ')}`);
    const next = this.queue[0];
    if (next && this.behaviour.commitsAfterFailure && !this.full && this.prng.chance(0.5)) {
      this.queue.shift();
      this.trace.add(this.nodeId, () => `disk commit of the next batch still durable: ${next.writes.map(describeWrite).join(', ')}`);
      for (const write of next.writes) this.apply(write);
      this.onDurable(next.writes);
    }
    this.failure = new DiskWriteError(`a group commit of ${batch.writes.length} writes failed: ${why}`);
    const refused = [batch, ...this.queue.splice(0)];
    for (const { waiters } of refused) waiters.forEach((w) => w.reject(this.failure!));
  }

  private apply(write: DiskWrite): void {
    const { tables } = this;
    if (write.type === 'booking-begun') tables.pendingBookings.set(write.booking.txId, write.booking);
    else if (write.type === 'booking-settled') tables.pendingBookings.delete(write.txId);
    else if (write.entry.role === 'acceptor') tables.acceptors.set(write.entry.record.txId, write.entry.record);
    else if (write.entry.role === 'coordinator') {
      tables.coordinators.set(write.entry.record.txId, write.entry.record);
      tables.pendingBookings.delete(write.entry.record.txId); // its decision settles its booking row
    } else {
      const stored = tables.participants.get(write.entry.record.txId);
      if (!stored || stored.state === 'prepared') tables.participants.set(write.entry.record.txId, write.entry.record);
    }
    if (write.type === 'log') this.applyClaimChanges(changesOf(write.entry));
  }

  private applyClaimChanges(changes: ClaimChange[]): void {
    for (const change of changes) {
      const key = change.op === 'delete' ? keyOf(change.telescopeId, change.startMs) : keyOf(change.claim.telescopeId, change.claim.startMs);
      if (change.op === 'insert' && this.tables.claims.has(key)) {
        this.report(`${this.nodeId}: the store refuses a second claim of slot ${key} (primary key): ${JSON.stringify(change.claim)} over ${JSON.stringify(this.tables.claims.get(key))}`);
      }
      if (change.op === 'delete') this.tables.claims.delete(key);
      else this.tables.claims.set(key, change.claim);
    }
  }
}

function keyOf(telescopeId: string, startMs: number): string {
  return `${telescopeId}|${startMs}`;
}

export function describeWrite(write: DiskWrite): string {
  if (write.type === 'booking-begun') return `booking ${write.booking.txId} pending`;
  if (write.type === 'booking-settled') return `booking ${write.txId} settled`;
  const { entry } = write;
  const changes = changesOf(entry);
  const claims = changes.length > 0 ? ` +${changes.length} claim change(s) of ${[...new Set(changes.map(changeTxId))].join(',')}` : '';
  if (entry.role === 'participant') return `participant ${entry.record.txId} ${entry.record.state}${claims}`;
  if (entry.role === 'acceptor') return `acceptor ${entry.record.txId} promised ${entry.record.promised.round}/${entry.record.promised.node}${entry.record.accepted ? ` accepted ${entry.record.accepted.value}@${entry.record.accepted.ballot.round}/${entry.record.accepted.ballot.node}` : ''}`;
  return `coordinator ${entry.record.txId} ${entry.record.decision} ${entry.record.state}${claims}`;
}

function changeTxId(change: ClaimChange): string {
  return change.txId;
}

/** A coordinator entry carries changes only with the 'swept-changes' bug (the journal of old went with any write). */
function changesOf(entry: LogEntry): ClaimChange[] {
  return ((entry as { changes?: ClaimChange[] }).changes ?? []) as ClaimChange[];
}

function emptyTables(): StoredTables {
  return { participants: new Map(), coordinators: new Map(), claims: new Map(), pendingBookings: new Map(), acceptors: new Map() };
}
