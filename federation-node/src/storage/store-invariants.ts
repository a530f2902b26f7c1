// The pair invariants between the participant records and the slot claims, asserted at the
// storage boundary (TigerBeetle: assert data right before writing it and right after reading
// it back):
// - before a write: every claim change belongs to the record it is written with (made by the
//   same transaction, leaving each slot in a state that record allows: a slot changed twice in
//   one entry, as a reapplied outcome holds then confirms, is judged by its last change);
// - after loading: every HELD or RELEASING claim has its PREPARED participant record, and
//   every PREPARED record has all its claims.
// A violation is a StoreInvariantError naming the rows; the node stops on it (at start: it
// refuses to start), instead of serving a schedule that disagrees with its own log.
import type { LogEntry, ParticipantRecord } from '../../../coordinator-2pc/src/index.js';
import type { Claim, ClaimChange, SlotTable } from '../domain/slot-table.js';
import { canonicalInstant } from '../domain/slots.js';

export class StoreInvariantError extends Error {
  override name = 'StoreInvariantError';
}

/** How many offending rows one message names (the count of the others follows). */
const ROWS_NAMED_MAX = 5;

/** The entry's claim changes, once checked to belong to its record; throws when one does not. */
export function claimChangesOf(entry: LogEntry): ClaimChange[] {
  if (entry.role !== 'participant') return [];
  const { record } = entry;
  const changes = entry.changes as ClaimChange[];
  const last = new Map(changes.map((change) => [slotKey(change), change]));
  const problemOf = (change: ClaimChange) => changeProblem(change, record, last.get(slotKey(change)) !== change);
  const wrong = changes.filter((change) => problemOf(change) !== undefined);
  if (wrong.length === 0) return changes;
  const rows = wrong.map((change) => `${describeChange(change)}: ${problemOf(change)!}`);
  throw new StoreInvariantError(`refusing to write the ${record.state} record of ${record.txId} with ${listed(rows)}`);
}

function slotKey(change: ClaimChange): string {
  return change.op === 'delete' ? `${change.telescopeId}|${change.startMs}` : `${change.claim.telescopeId}|${change.claim.startMs}`;
}

/** `superseded`: a later change of the same entry sets the same slot again; only its last state is left. */
function changeProblem(change: ClaimChange, record: ParticipantRecord, superseded: boolean): string | undefined {
  if (change.txId !== record.txId) return `made by another transaction (${change.txId})`;
  if (change.op === 'delete') return record.state === 'prepared' ? 'a prepare only takes slots' : undefined;
  if (superseded) return undefined;
  const { state, txId } = change.claim;
  const pending = state === 'HELD' || state === 'RELEASING';
  if (record.state === 'prepared' && !(pending && txId === record.txId)) return `a prepared record holds its slots, not ${state} by ${txId}`;
  if (record.state !== 'prepared' && pending) return `a ${record.state} record leaves no slot ${state}`;
  return undefined;
}

/**
 * After loading: every HELD/RELEASING claim has its prepared record (of the matching kind),
 * and every prepared record all its claims. `slots` only resolves payloads to slots.
 */
export function checkLoadedStore(records: ParticipantRecord[], claims: Claim[], slots: SlotTable): void {
  const prepared = new Map(records.filter((r) => r.state === 'prepared').map((r) => [r.txId, r]));
  const problems: string[] = [];
  const claimed = new Map<string, Claim>();
  for (const claim of claims) {
    claimed.set(`${claim.telescopeId}|${claim.startMs}`, claim);
    if (claim.state === 'BOOKED') continue;
    const record = prepared.get(claim.txId);
    const kind = claim.state === 'HELD' ? 'book' : 'cancel';
    if (!record) problems.push(`slot_claims ${describeClaim(claim)} is ${claim.state} by ${claim.txId}, which has no prepared participant_transactions row`);
    else if (record.kind !== kind) problems.push(`slot_claims ${describeClaim(claim)} is ${claim.state} by ${claim.txId}, whose prepared record is a ${record.kind}`);
  }
  for (const record of prepared.values()) {
    const expected = slots.slotsOfPart(record.payload);
    if (typeof expected === 'string') {
      problems.push(`participant_transactions ${record.txId} is prepared with a payload naming no slot here: ${expected}`);
      continue;
    }
    const state = record.kind === 'book' ? 'HELD' : 'RELEASING';
    const missing = expected.filter((slot) => {
      const claim = claimed.get(`${slot.telescopeId}|${slot.startMs}`);
      return claim?.txId !== record.txId || claim.state !== state;
    });
    if (missing.length > 0) {
      problems.push(`participant_transactions ${record.txId} is prepared but slot_claims lacks ${state} for ${missing.map((s) => `${s.telescopeId} ${canonicalInstant(s.startMs)}`).join(', ')}`);
    }
  }
  if (problems.length > 0) throw new StoreInvariantError(`the store's claims and records disagree: ${listed(problems)}`);
}

function listed(rows: string[]): string {
  const more = rows.length > ROWS_NAMED_MAX ? `; and ${rows.length - ROWS_NAMED_MAX} more` : '';
  return `${rows.slice(0, ROWS_NAMED_MAX).join('; ')}${more}`;
}

function describeClaim(claim: Claim): string {
  return `(${claim.telescopeId}, ${canonicalInstant(claim.startMs)})`;
}

function describeChange(change: ClaimChange): string {
  if (change.op === 'delete') return `delete of slot (${change.telescopeId}, ${canonicalInstant(change.startMs)})`;
  return `${change.op} of slot ${describeClaim(change.claim)} ${change.claim.state}`;
}
