// The migrations are the same for both engines; only some column types differ. PostgreSQL's
// INTEGER is 32 bits (epoch milliseconds need BIGINT), its REAL is single precision, and the
// group commit writes flags as 1/0 literals, which a SMALLINT takes and a BOOLEAN refuses.
import type { QueryRunner } from 'typeorm';

export interface ColumnTypes {
  int: string;
  real: string;
  flag: string;
}

export function columnTypes(runner: QueryRunner): ColumnTypes {
  const postgres = runner.connection.options.type === 'postgres';
  return postgres ? { int: 'BIGINT', real: 'DOUBLE PRECISION', flag: 'SMALLINT' } : { int: 'INTEGER', real: 'REAL', flag: 'BOOLEAN' };
}
