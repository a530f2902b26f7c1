// The store's identity and incarnation (docs/PROTOCOL.md, "Store identity and incarnation").
// A store gets an id when it is created; every start is a new incarnation, written before the
// node does anything else. The store also says from when on it is complete: a restored backup
// or a new disk knows nothing of what happened before it came back, so a missing record of an
// earlier transaction is not evidence of an abort. This module owns the store_identity table.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { GroupCommitWriter } from '../storage/group-commit-writer.js';
import type { SqlReader } from '../storage/sql.js';

/** Left in the data directory by `npm run store -- restore|new-disk`: the next start must reconcile. */
export const RECONCILE_MARKER_FILE = 'reconcile-required.json';

export interface StoreIdentity {
  storeId: string;
  incarnation: number;
  createdAtMs: number;
  /** Records of transactions begun before this instant may be missing (restore, new disk). */
  completeSinceMs: number;
  /** The same for this node's own transaction ids, which carry their incarnation. */
  completeSinceIncarnation: number;
  /** Set while the store must reconcile with every peer before it serves bookings. */
  reconciliation: { reason: string; sinceMs: number } | null;
}

interface IdentityRow {
  storeId: string;
  incarnation: number;
  createdAtMs: number;
  completeSinceMs: number;
  completeSinceIncarnation: number;
  reconciliationReason: string | null;
  reconciliationSinceMs: number | null;
}

export class StoreIdentityStore {
  constructor(
    private readonly writer: GroupCommitWriter,
    private readonly reader: SqlReader,
    private readonly dataDir: string,
  ) {}

  /**
   * Begin a new incarnation: a new store gets its identity; a store left marked by the restore
   * or new-disk procedure becomes complete only from now on and must reconcile from
   * `restoredSinceMs` (the newest record it still holds).
   */
  async beginIncarnation(nowMs: number, restoredSinceMs: () => Promise<number>): Promise<StoreIdentity> {
    const marker = this.readMarker();
    const identity = await this.nextIncarnation(nowMs, marker?.reason, restoredSinceMs);
    await this.save(identity);
    if (marker) rmSync(path.join(this.dataDir, RECONCILE_MARKER_FILE), { force: true });
    return identity;
  }

  /**
   * The restore procedure for a store brought back by the database's own tools while every
   * process of the observatory is stopped (PostgreSQL: pg_restore, point-in-time recovery):
   * the mark is written in the store itself, so whichever process starts next reconciles.
   */
  async markRestored(reason: string, nowMs: number, restoredSinceMs: () => Promise<number>): Promise<StoreIdentity> {
    const identity = await this.nextIncarnation(nowMs, reason, restoredSinceMs);
    await this.save(identity);
    return identity;
  }

  /** A new incarnation; marked (`markReason`), it is complete only from now and must reconcile. */
  private async nextIncarnation(nowMs: number, markReason: string | undefined, restoredSinceMs: () => Promise<number>): Promise<StoreIdentity> {
    const previous = await this.read();
    if (!previous) {
      const identity: StoreIdentity = { storeId: randomUUID(), incarnation: 1, createdAtMs: nowMs, completeSinceMs: nowMs, completeSinceIncarnation: 1, reconciliation: null };
      if (markReason) identity.reconciliation = { reason: markReason, sinceMs: 0 };
      return identity;
    }
    const identity: StoreIdentity = { ...previous, incarnation: previous.incarnation + 1 };
    if (markReason) {
      identity.completeSinceMs = nowMs;
      identity.completeSinceIncarnation = identity.incarnation;
      // A second mark before the reconciliation ended keeps the earlier (wider) range to ask for.
      const sinceMs = await restoredSinceMs();
      identity.reconciliation = { reason: markReason, sinceMs: previous.reconciliation ? Math.min(previous.reconciliation.sinceMs, sinceMs) : sinceMs };
    }
    return identity;
  }

  /** Found out at run time (a peer knows of a transaction this store lost): complete only from now on. */
  async requireReconciliation(identity: StoreIdentity, reason: string, sinceMs: number, nowMs: number): Promise<void> {
    identity.completeSinceMs = nowMs;
    identity.completeSinceIncarnation = identity.incarnation;
    identity.reconciliation = { reason, sinceMs };
    await this.save(identity);
  }

  async reconciled(identity: StoreIdentity): Promise<void> {
    identity.reconciliation = null;
    await this.save(identity);
  }

  private async read(): Promise<StoreIdentity | undefined> {
    const rows: IdentityRow[] = await this.reader.query(
      `SELECT store_id AS storeId, incarnation, created_at_ms AS createdAtMs, complete_since_ms AS completeSinceMs,
        complete_since_incarnation AS completeSinceIncarnation, reconciliation_reason AS reconciliationReason,
        reconciliation_since_ms AS reconciliationSinceMs FROM store_identity WHERE singleton = 1`,
    );
    const row = rows[0];
    if (!row) return undefined;
    return {
      storeId: row.storeId,
      incarnation: Number(row.incarnation),
      createdAtMs: Number(row.createdAtMs),
      completeSinceMs: Number(row.completeSinceMs),
      completeSinceIncarnation: Number(row.completeSinceIncarnation),
      reconciliation: row.reconciliationReason === null ? null : { reason: row.reconciliationReason, sinceMs: Number(row.reconciliationSinceMs ?? 0) },
    };
  }

  private save(identity: StoreIdentity): Promise<void> {
    const values = [
      identity.storeId, identity.incarnation, identity.createdAtMs, identity.completeSinceMs, identity.completeSinceIncarnation,
      identity.reconciliation?.reason ?? null, identity.reconciliation?.sinceMs ?? null,
    ];
    return this.writer.write((batch) => batch.statement((session) => session.query(
      `INSERT INTO store_identity (singleton, store_id, incarnation, created_at_ms, complete_since_ms, complete_since_incarnation,
        reconciliation_reason, reconciliation_since_ms) VALUES (1, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (singleton) DO UPDATE SET store_id = excluded.store_id, incarnation = excluded.incarnation,
        created_at_ms = excluded.created_at_ms, complete_since_ms = excluded.complete_since_ms,
        complete_since_incarnation = excluded.complete_since_incarnation, reconciliation_reason = excluded.reconciliation_reason,
        reconciliation_since_ms = excluded.reconciliation_since_ms`,
      values,
    )));
  }

  private readMarker(): { reason: string } | undefined {
    const file = path.join(this.dataDir, RECONCILE_MARKER_FILE);
    if (!existsSync(file)) return undefined;
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as { reason?: unknown };
    return { reason: typeof parsed.reason === 'string' && parsed.reason ? parsed.reason : 'marked by the restore procedure' };
  }
}
