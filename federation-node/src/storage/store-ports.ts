// The store as the rest of the node sees it, whichever engine runs it (database.ts opens one).
import type { DataSource } from 'typeorm';
import type { BatchCommitter } from './group-commit-writer.js';
import type { Dialect, SqlReader } from './sql.js';

/** Checked before every batch of an active node of an active/standby pair (ha/lease.ts). */
export interface LeaseFence {
  epoch: number;
  holderId: string;
}

/** What the engine's own check found (SQLite's integrity_check; PostgreSQL's amcheck where installed). */
export interface EngineCheck {
  problems: string[];
  /** What was checked, in words for the start-up log line. */
  checked: string;
}

export interface Database {
  dialect: Dialect;
  /** Runs the migrations; the committers write through it. */
  writer: DataSource;
  reader: SqlReader;
  /** Where the data lives, for messages: the SQLite file, or the PostgreSQL URL without its password. */
  file: string;
  /** The migrations this opening applied (empty: the schema was up to date). */
  migrated: string[];
  /** The one writer of the group commit; with a fence, every batch first checks the lease. */
  committer(fence?: () => LeaseFence): BatchCommitter;
  engineCheck(): Promise<EngineCheck>;
  close(): Promise<void>;
}
