// A graceful stop (SIGTERM/SIGINT), in an order that lets nothing touch SQLite after it has
// closed — engine timers, the pruner or a late request writing through a closed DataSource
// was what logged SQLITE_MISUSE on stop (issue 10):
// 1. no new work: every request that may write is refused with 503 at the door, and the
//    background timers stop (clock sync, reconciliation, membership, disk guard, pruning —
//    a pruning round in progress is awaited);
// 2. no new connections; the requests in progress get SHUTDOWN_GRACE_MS to finish (the
//    protocol engine keeps running meanwhile, so transactions in flight can end), then the
//    rest are answered 503 and their connections closed;
// 3. the engine's timers wake nothing more, and a protocol write refused by the closed writer
//    is not a failure: the next start's recovery finishes that transaction, as after a crash;
// 4. the group-commit writer drains what is staged and refuses anything later;
// 5. the database closes.
import type http from 'node:http';
import type { AdmittingHandler } from './http/admission.js';
import type { GroupCommitWriter } from './storage/group-commit-writer.js';

export interface StopState {
  /** Set at step 1: writes are refused at the door. */
  stopping: boolean;
  /** Set at step 3: the engine's timers wake nothing, a write refused by the closed writer is expected. */
  engineStopped: boolean;
}

export interface StoppableNode {
  state: StopState;
  graceMs: number;
  /** Background timers that do not touch the store after they return. */
  timers: Array<{ stop(): void }>;
  /** Background work that may be touching the store now: awaited. */
  pruner: { stop(): Promise<void> };
  server: http.Server;
  admitting: AdmittingHandler;
  writer: GroupCommitWriter;
  closeDatabase: () => Promise<void>;
  /** The answer of the requests still in progress when the grace ends. */
  unfinishedDetail: string;
}

/** How often the stop looks whether the requests in progress have finished. */
const HANDLING_POLL_MS = 20;

export async function stopGracefully(node: StoppableNode): Promise<void> {
  node.state.stopping = true;
  for (const timer of node.timers) timer.stop();
  await node.pruner.stop();
  const closed = new Promise<void>((resolve) => node.server.close(() => resolve()));
  node.server.closeIdleConnections();
  await until(() => node.admitting.handling() === 0, node.graceMs);
  node.admitting.answerInFlight(node.unfinishedDetail);
  node.server.closeAllConnections();
  await closed;
  node.state.engineStopped = true;
  await node.writer.close();
  await node.closeDatabase();
}

function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const endAtMs = Date.now() + timeoutMs;
  return new Promise((resolve) => {
    const look = () => (condition() || Date.now() >= endAtMs ? resolve() : setTimeout(look, HANDLING_POLL_MS));
    look();
  });
}
