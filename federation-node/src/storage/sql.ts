// The node's own port to its database: the repositories, the transaction log and the checks
// speak SQL with `?` placeholders and camelCase aliases, and an adapter runs it on the engine
// the node was started on (SQLite by default, PostgreSQL with DATABASE_URL). Where the two
// engines' SQL differs, the repositories ask `dialect` (a few clauses only).
import type { DataSource, QueryRunner } from 'typeorm';

export type Dialect = 'sqlite' | 'postgres';

/** Reads committed data (the read-only connection or pool). */
export interface SqlReader {
  readonly dialect: Dialect;
  /** Rows are typed by each caller, as with TypeORM's own query. */
  query<T = any>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** Inside one write transaction (the group commit's): reads, writes, and how many rows a write changed. */
export interface SqlSession extends SqlReader {
  execute(sql: string, params?: unknown[]): Promise<number>;
}

/**
 * SQLite's placeholders and aliases as PostgreSQL wants them: `?` becomes `$1`, `$2`, …, and
 * an alias with capitals is quoted (PostgreSQL folds unquoted names to lower case). Text in
 * single quotes is left alone. The statements are this project's own.
 */
export function toPostgres(sql: string): string {
  let index = 0;
  return sql
    .split("'")
    .map((piece, i) => {
      if (i % 2 === 1) return piece; // inside a string literal
      return piece
        .replace(/\?/g, () => `$${(index += 1)}`)
        .replace(/\bAS ([a-z][a-zA-Z0-9]*[A-Z][a-zA-Z0-9]*)\b/g, 'AS "$1"');
    })
    .join("'");
}

/** A reader over a TypeORM DataSource of either engine. */
export function readerOf(dataSource: DataSource, dialect: Dialect): SqlReader {
  const translate = dialect === 'postgres' ? toPostgres : (sql: string) => sql;
  return {
    dialect,
    query: <T>(sql: string, params: unknown[] = []) => dataSource.query(translate(sql), params) as Promise<T[]>,
  };
}

/** A session over the writer's query runner, inside the group commit's transaction. */
export function sessionOf(runner: QueryRunner, dialect: Dialect): SqlSession {
  const translate = dialect === 'postgres' ? toPostgres : (sql: string) => sql;
  return {
    dialect,
    query: <T>(sql: string, params: unknown[] = []) => runner.query(translate(sql), params) as Promise<T[]>,
    async execute(sql: string, params: unknown[] = []) {
      const result = (await runner.query(translate(sql), params, true)) as { affected?: number | null };
      return Number(result.affected ?? 0);
    },
  };
}
