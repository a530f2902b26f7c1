// The floor of a booking: what one loopback HTTP round trip and one durable SQLite commit
// cost on this machine, measured the same way the node does them.
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { DataSource } from 'typeorm';
import { PLAIN_SQLITE3 } from '../../federation-node/src/storage/database.js';

export interface Floor {
  httpRoundTripMs: number;
  sqliteCommitMs: number;
  floorMs: number;
}

export async function measureFloor(url: string, samples = 300): Promise<Floor> {
  const httpRoundTripMs = median(await timeEach(samples, () => get(`${url}/health`)));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-floor-'));
  const db = new DataSource({ type: 'sqlite', driver: PLAIN_SQLITE3, database: path.join(dir, 'floor.sqlite'), enableWAL: true });
  await db.initialize();
  try {
    await db.query('PRAGMA synchronous = FULL');
    await db.query('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    const runner = db.createQueryRunner();
    let id = 0;
    const sqliteCommitMs = median(await timeEach(samples, async () => {
      await runner.query('BEGIN IMMEDIATE');
      await runner.query('INSERT INTO t (id, v) VALUES (?, ?)', [++id, 'x'.repeat(200)]);
      await runner.query('COMMIT');
    }));
    await runner.release();
    return { httpRoundTripMs, sqliteCommitMs, floorMs: httpRoundTripMs + sqliteCommitMs };
  } finally {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

const agent = new http.Agent({ keepAlive: true });

function get(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    }).on('error', reject);
  });
}

async function timeEach(samples: number, action: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < 20; i += 1) await action(); // warm up
  const times: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const start = performance.now();
    await action();
    times.push(performance.now() - start);
  }
  return times;
}

export function median(values: number[]): number {
  return percentile(values, 0.5);
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}
