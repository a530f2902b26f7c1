// A simulated disk behind EnginePorts.writeLog(). Writes wait in a queue until the disk
// syncs, which makes a prefix of them durable and resolves their promises in FIFO order.
// A crash loses every write not yet synced (their promises never settle). The durable log
// survives crashes: it is what a restarted node reads back.
import type { LogEntry } from '../../coordinator-2pc/src/engine.js';
import type { Prng } from './prng.js';
import type { Trace } from './trace.js';

export interface Scheduler {
  nowUs(): number;
  /** Run `action` after `delayMs` of simulated time. */
  after(delayMs: number, action: () => void): void;
}

/** An injected write failure: the engine must stop the node (fail-stop). */
export class DiskWriteError extends Error {
  override name = 'DiskWriteError';
}

export interface DiskBehaviour {
  syncMaxMs: number;
  partialSyncProbability: number;
  /** Chance that a write fails when the disk syncs it (only while faults are on). */
  writeFailureProbability: () => number;
  /** Test-only fault: the disk acknowledges a write before it is durable (a lying fsync). */
  acknowledgeBeforeSync: boolean;
}

interface PendingWrite {
  entry: LogEntry;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class SimDisk {
  /** Everything ever made durable, in write order. */
  readonly durable: LogEntry[] = [];
  private pending: PendingWrite[] = [];
  private generation = 0;
  private syncScheduled = false;

  constructor(
    private readonly nodeId: string,
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    private readonly behaviour: DiskBehaviour,
    private readonly trace: Trace,
    /** Told of every entry the moment it becomes durable. */
    private readonly onDurable: (entry: LogEntry) => void,
  ) {}

  write(entry: LogEntry): Promise<void> {
    const copy = JSON.parse(JSON.stringify(entry)) as LogEntry;
    const written = new Promise<void>((resolve, reject) => this.pending.push({ entry: copy, resolve, reject }));
    this.trace.add(this.nodeId, () => `disk write ${describeEntry(copy)} (${this.pending.length} pending)`);
    this.scheduleSync();
    if (!this.behaviour.acknowledgeBeforeSync) return written;
    written.catch(() => undefined); // a lying disk loses a failed write without a word
    return Promise.resolve();
  }

  /** The machine died: unsynced writes are gone and their promises never settle. */
  crash(): number {
    const lost = this.pending.length;
    this.pending = [];
    this.generation++;
    this.syncScheduled = false;
    return lost;
  }

  private scheduleSync(): void {
    if (this.syncScheduled) return;
    this.syncScheduled = true;
    const generation = this.generation;
    this.scheduler.after(this.prng.between(0.01, this.behaviour.syncMaxMs), () => {
      if (generation === this.generation) this.sync();
    });
  }

  private sync(): void {
    this.syncScheduled = false;
    const partial = this.pending.length > 1 && this.prng.chance(this.behaviour.partialSyncProbability);
    const count = partial ? this.prng.int(1, this.pending.length - 1) : this.pending.length;
    const synced = this.pending.splice(0, count);
    const failed = synced.findIndex(() => this.prng.chance(this.behaviour.writeFailureProbability()));
    if (failed >= 0) this.pending = synced.splice(failed).concat(this.pending);
    this.trace.add(this.nodeId, () => `disk sync ${synced.length} durable: ${synced.map((w) => describeEntry(w.entry)).join(', ')}`);
    for (const write of synced) {
      this.durable.push(write.entry);
      this.onDurable(write.entry);
      write.resolve();
    }
    if (failed >= 0) return this.fail();
    if (this.pending.length > 0) this.scheduleSync();
  }

  /** The next write fails; the node is expected to stop, so the disk syncs nothing more. */
  private fail(): void {
    const write = this.pending.shift()!;
    this.trace.add(this.nodeId, () => `disk write FAILED: ${describeEntry(write.entry)}`);
    write.reject(new DiskWriteError(`write of ${describeEntry(write.entry)} failed`));
  }
}

export function describeEntry(entry: LogEntry): string {
  if (entry.role === 'participant') return `participant ${entry.record.txId} ${entry.record.state}`;
  return `coordinator ${entry.record.txId} ${entry.record.decision} ${entry.record.state}`;
}
