// Reading a node's store directly, as an auditor would, on either engine: its SQLite file, or
// its PostgreSQL database (one short connection per query; the tests check what is stored,
// not only what the API says).
import pg from 'pg';
import { toPostgres } from '../storage/sql.js';
import type { NodeHandle } from './local-federation.js';
import { queryFile } from './sqlite-file.js';

/** SQL in the node's own form (`?` placeholders), run on the node's engine. */
export async function queryNode<T = Record<string, unknown>>(node: Pick<NodeHandle, 'dbFile' | 'databaseUrl'>, sql: string, params: unknown[] = []): Promise<T[]> {
  if (!node.databaseUrl) return queryFile<T>(node.dbFile, sql, params);
  return queryDatabase<T>(node.databaseUrl, sql, params);
}

export async function queryDatabase<T = Record<string, unknown>>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(toPostgres(sql), params)).rows as T[];
  } finally {
    await client.end();
  }
}
