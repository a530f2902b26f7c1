// The federation's invariants, checked on what is on disk at every node (each SQLite file or PostgreSQL database)
// — used by the integration and chaos tests and by the crash demo.
import axios from 'axios';
import { readCatalog } from '../../../seeds/catalog.js';
import type { LocalFederation } from './local-federation.js';
import { queryNode } from './store-query.js';

export interface ClaimRow { telescope_id: string; slot_start: string; slot_end: string; booking_id: string; tx_id: string; state: string }
export interface BookingRow { id: string; status: string; items_json: string }
export interface ParticipantRow { tx_id: string; kind: string; state: string; coordinator_id: string }
export interface CoordinatorRow { tx_id: string; kind: string; decision: string; state: string }

export interface NodeSnapshot {
  claims: ClaimRow[];
  bookings: BookingRow[];
  participantTxs: ParticipantRow[];
  coordinatorTxs: CoordinatorRow[];
}

export type Snapshot = Map<string, NodeSnapshot>;

/** `only`: the nodes to read (the others' files may be gone: a node lost for good). */
export async function snapshot(federation: LocalFederation, only?: string[]): Promise<Snapshot> {
  const result: Snapshot = new Map();
  for (const [id, node] of federation.nodes) {
    if (only && !only.includes(id)) continue;
    result.set(id, {
      claims: await queryNode<ClaimRow>(node, 'SELECT * FROM slot_claims'),
      bookings: await queryNode<BookingRow>(node, 'SELECT id, status, items_json FROM bookings'),
      participantTxs: await queryNode<ParticipantRow>(node, 'SELECT tx_id, kind, state, coordinator_id FROM participant_transactions'),
      coordinatorTxs: await queryNode<CoordinatorRow>(node, 'SELECT tx_id, kind, decision, state FROM coordinator_transactions'),
    });
  }
  return result;
}

export interface Expectations {
  /** Bookings the API answered 201 for and the test did not cancel: they must be CONFIRMED. */
  confirmed?: Iterable<string>;
  /** Bookings the test cancelled successfully (200): they must be CANCELLED. */
  cancelled?: Iterable<string>;
  /** Nodes lost for good: a slot of a booking they coordinated must be held by a transaction committed where it is. */
  lostCoordinators?: Iterable<string>;
}

/** Every violation of the federation's invariants, as readable lines (empty when consistent). */
export function violations(snap: Snapshot, expect: Expectations = {}): string[] {
  const problems: string[] = [];
  const slotMinutes = new Map(readCatalog().observatories.flatMap((o) => o.telescopes.map((t) => [t.id, t.slotMinutes] as const)));
  const bookings = new Map<string, BookingRow & { coordinator: string }>();
  for (const [node, s] of snap) for (const b of s.bookings) bookings.set(b.id, { ...b, coordinator: node });
  const claimsByBooking = new Map<string, Array<ClaimRow & { node: string }>>();
  for (const [node, s] of snap) {
    for (const c of s.claims) {
      claimsByBooking.set(c.booking_id, [...(claimsByBooking.get(c.booking_id) ?? []), { ...c, node }]);
      if (c.state !== 'BOOKED') problems.push(`${node}: slot ${c.telescope_id} ${c.slot_start} is still ${c.state} by ${c.tx_id}`);
      const owner = bookings.get(c.booking_id);
      const lost = new Set(expect.lostCoordinators ?? []);
      if (!owner && lost.has(c.booking_id.split('.')[0]!)) {
        const record = s.participantTxs.find((t) => t.tx_id === c.tx_id);
        if (record?.state !== 'committed') problems.push(`${node}: slot ${c.telescope_id} ${c.slot_start} belongs to ${c.booking_id} of a lost coordinator, but its transaction is ${record?.state ?? 'unknown'} here`);
      } else if (!owner) problems.push(`${node}: slot ${c.telescope_id} ${c.slot_start} belongs to ${c.booking_id}, unknown to its coordinator`);
      else if (owner.status !== 'CONFIRMED') problems.push(`${node}: slot ${c.telescope_id} ${c.slot_start} taken by ${c.booking_id}, which is ${owner.status}`);
    }
    for (const t of s.participantTxs) if (t.state === 'prepared') problems.push(`${node}: transaction ${t.tx_id} still in doubt (prepared)`);
    for (const t of s.coordinatorTxs) if (t.state !== 'ended') problems.push(`${node}: coordinator transaction ${t.tx_id} not ended (${t.state})`);
  }
  for (const b of bookings.values()) {
    const claims = claimsByBooking.get(b.id) ?? [];
    if (b.status === 'PENDING') problems.push(`${b.coordinator}: booking ${b.id} still PENDING`);
    if (b.status !== 'CONFIRMED') continue;
    const items = JSON.parse(b.items_json) as Array<{ telescopeId: string; observatoryId: string; start: string; end: string }>;
    for (const item of items) {
      const step = (slotMinutes.get(item.telescopeId) ?? 60) * 60_000;
      for (let at = Date.parse(item.start); at < Date.parse(item.end); at += step) {
        const start = new Date(at).toISOString();
        const held = claims.some((c) => c.node === item.observatoryId && c.telescope_id === item.telescopeId && c.slot_start === start);
        if (!held) problems.push(`booking ${b.id} is CONFIRMED but ${item.observatoryId} has no claim on ${item.telescopeId} ${start} (not all-or-nothing)`);
      }
    }
  }
  for (const id of expect.confirmed ?? []) {
    const status = bookings.get(id)?.status;
    if (status !== 'CONFIRMED') problems.push(`booking ${id} was answered 201 but is ${status ?? 'missing'} at its coordinator`);
  }
  for (const id of expect.cancelled ?? []) {
    const status = bookings.get(id)?.status;
    if (status !== 'CANCELLED') problems.push(`booking ${id} was cancelled (200) but is ${status ?? 'missing'}`);
  }
  return problems;
}

/**
 * Wait until no node has an unfinished transaction — in memory (decided, acknowledged,
 * released) and on disk (the lazily written end records included).
 */
export async function settled(federation: LocalFederation, timeoutMs = 20_000, only?: string[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  // An active/standby pair answers at one of its URLs: the first 200 counts.
  const clients = [...federation.nodes.values()].filter((n) => !only || only.includes(n.id)).map((n) => ({
    id: n.id,
    apis: federation.urlsOf(n.id).map((url) => axios.create({ baseURL: url, validateStatus: () => true, timeout: 5_000, headers: { Authorization: `Bearer ${federation.tokens.operators[n.id]}` } })),
  }));
  let pending: string[] = [];
  while (Date.now() < deadline) {
    pending = [];
    for (const { id, apis } of clients) {
      let res;
      for (const api of apis) {
        res = await api.get('/admin/transactions').catch(() => undefined);
        if (res?.status === 200) break;
      }
      if (!res || res.status !== 200) pending.push(`${id} not answering`);
      else for (const t of res.data.transactions as Array<{ txId: string; phase: string; role: string }>) pending.push(`${id}: ${t.role} ${t.txId} ${t.phase}`);
    }
    if (pending.length === 0) pending = unfinishedOnDisk(await snapshot(federation, only));
    if (pending.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the federation did not settle within ${timeoutMs} ms: ${pending.slice(0, 10).join('; ')}`);
}

function unfinishedOnDisk(snap: Snapshot): string[] {
  const pending: string[] = [];
  for (const [node, s] of snap) {
    for (const t of s.coordinatorTxs) if (t.state !== 'ended') pending.push(`${node}: coordinator ${t.tx_id} ${t.state} on disk`);
    for (const t of s.participantTxs) if (t.state === 'prepared') pending.push(`${node}: participant ${t.tx_id} prepared on disk`);
    for (const b of s.bookings) if (b.status === 'PENDING') pending.push(`${node}: booking ${b.id} PENDING on disk`);
  }
  return pending;
}
