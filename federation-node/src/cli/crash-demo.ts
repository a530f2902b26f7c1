// `npm run demo:crash`: three observatories, a booking at all three, one node killed
// mid-commit (SIGKILL at a named fault point), what the survivors see, the restart, the
// recovery, and a consistency check of every node's SQLite file. Ends with PASS or FAIL.
//   --role coordinator|participant   which node dies (default: coordinator)
//   --point <fault point>           where (default: coordinator.decided.before-commit, or
//                                    participant.voted-yes for --role participant)
//   --lose-coordinator               the coordinator dies after the acceptors chose commit and
//                                    never comes back (its data directory is deleted): the other
//                                    two finish the booking on their own (docs/PROTOCOL.md §20)
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import axios from 'axios';
import { FAULT_POINTS } from '../../../coordinator-2pc/src/index.js';
import { settled, snapshot, violations } from '../local/federation-audit.js';
import { LocalFederation, NODE_MAIN } from '../local/local-federation.js';

const { values } = parseArgs({ options: { role: { type: 'string', default: 'coordinator' }, point: { type: 'string' }, 'lose-coordinator': { type: 'boolean', default: false } } });
const loseCoordinator = values['lose-coordinator'] === true;
const role = values.role === 'participant' ? 'participant' : 'coordinator';
const point = values.point ?? (role === 'coordinator' ? 'coordinator.decided.before-commit' : 'participant.voted-yes');
const COORDINATOR = 'atacama';
const victim = role === 'coordinator' ? COORDINATOR : 'la-palma';
const FAST = { IN_DOUBT_QUERY_AFTER_MS: '1000', DECISION_RESEND_INITIAL_MS: '300', DECISION_RESEND_MAX_MS: '2000', LOG_LEVEL: 'info' };

const EXPLANATION: Record<string, string> = {
  'coordinator.decided.before-commit': 'its commit decision was forced to disk before it died, so on restart it re-sends commit to every participant',
  'coordinator.committed-at-one': 'its decision is on disk and one participant acknowledged; it re-sends commit to the others',
  'participant.prepared.before-vote': 'its hold was on disk but it never voted; it asks the coordinator, which aborted (presumed abort), and releases',
  'participant.voted-yes': 'it voted yes and never decides alone: it asks the coordinator (which also re-sends its commit) and commits',
  'participant.committed.before-ack': 'its commit was on disk; the coordinator re-sends commit and it acknowledges',
  'participant.aborted.before-ack': 'its abort was on disk; the coordinator re-sends abort and it acknowledges',
};
const say = (text: string) => console.log(`\n=== ${text}`);
const show = (text: string) => console.log(`    ${text}`);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<boolean> {
  if (loseCoordinator) return loseTheCoordinator();
  if (!(FAULT_POINTS as readonly string[]).includes(point.split('@')[0]!)) throw new Error(`unknown fault point ${point}; known: ${FAULT_POINTS.join(', ')}`);
  say(`1. Starting three observatories as separate processes; ${victim} is set to die at fault point "${point}"`);
  const federation = await LocalFederation.start({ env: FAST, nodeEnv: { [victim]: { FAULT_POINTS: point } } });
  try {
    for (const node of federation.nodes.values()) show(`${node.id} at ${node.url}, data in ${node.dataDir}`);
    const items = simultaneousObservation();
    say(`2. A scientist asks ${COORDINATOR} for one target observed from all three sites, ${items[0]!.start} – ${items[0]!.end}`);
    for (const i of items) show(`${i.telescopeId}`);
    const died = federation.exited(victim, 15_000);
    const asVera = { Authorization: `Bearer ${federation.tokens.scientists['vera-rubin']}` };
    const answer = await axios.post(`${federation.url(COORDINATOR)}/bookings`, { scientistId: 'vera-rubin', items }, { headers: asVera, validateStatus: () => true, timeout: 15_000 }).catch((e: Error) => e);
    const signal = await died;
    show(answer instanceof Error ? `the scientist got no answer (${answer.message}): the coordinator died` : `the scientist got ${answer.status}: ${answer.data.status ?? answer.data.detail}`);
    say(`3. ${victim} was killed (${signal}) at "${point}" — no cleanup, as in a power cut`);
    await describeSurvivors(federation, items);
    say(`4. Restarting ${victim} with the documented command: node ${path.relative(process.cwd(), NODE_MAIN)} (same NODE_ID, DATA_DIR)`);
    await federation.launch(victim, { FAULT_POINTS: '' });
    await pause(300);
    for (const line of recoveryLines(federation, victim)) show(line);
    show(EXPLANATION[point.split('@')[0]!] ?? 'recovery re-drives what the log says was decided, and asks about what it does not know');
    say('5. Waiting for every transaction to finish');
    await settled(federation, 30_000);
    await describeFinalState(federation, items);
    say('6. Checking consistency on every node\'s SQLite file');
    const problems = violations(await snapshot(federation));
    for (const p of problems) show(`VIOLATION: ${p}`);
    if (problems.length === 0) show('every booking all-or-nothing, no slot given twice, nothing in doubt, nothing pending');
    return problems.length === 0;
  } finally {
    await federation.stop();
  }
}

function simultaneousObservation() {
  const day = Date.now() - (Date.now() % 86_400_000) + 30 * 86_400_000;
  const start = new Date(day + 5 * 3_600_000).toISOString();
  const end = new Date(day + 6 * 3_600_000).toISOString();
  return ['atacama-ut1', 'mauna-kea-keck1', 'la-palma-gtc'].map((telescopeId) => ({ telescopeId, start, end }));
}

async function describeSurvivors(federation: LocalFederation, items: ReturnType<typeof simultaneousObservation>): Promise<void> {
  for (const node of federation.nodes.values()) {
    if (node.id === victim) continue;
    const asOperator = { Authorization: `Bearer ${federation.tokens.operators[node.id]}` };
    const txs = await axios.get(`${node.url}/admin/transactions`, { headers: asOperator, timeout: 5_000 }).then((r) => r.data.transactions as Array<Record<string, unknown>>);
    show(`${node.id} sees ${txs.length} unfinished transaction(s):`);
    for (const t of txs) show(`  ${t.txId}: ${t.role} ${t.phase}${t.phase === 'prepared' ? ' — IN DOUBT: voted yes, waiting to hear the outcome' : ''}`);
    await showSlot(node.url, node.id, items);
  }
}

async function showSlot(url: string, nodeId: string, items: ReturnType<typeof simultaneousObservation>): Promise<void> {
  const item = items.find((i) => i.telescopeId.startsWith(nodeId))!;
  const res = await axios.get(`${url}/telescopes/${item.telescopeId}/availability`, { params: { from: item.start, to: item.end }, timeout: 5_000 });
  const state = res.data.slots[0]?.state as string;
  const meaning = state === 'held' ? 'neither free nor confirmed' : state === 'booked' ? 'confirmed' : state;
  show(`  slot ${item.telescopeId} ${item.start}: ${state} (${meaning})`);
}

function recoveryLines(federation: LocalFederation, id: string): string[] {
  const node = federation.node(id);
  const log = readFileSync(path.join(node.dataDir, 'logs', `${id}.app.log`), 'utf8').split('\n');
  const lastStart = log.map((l, i) => (l.includes('recovery:') ? i : -1)).filter((i) => i >= 0).pop() ?? 0;
  return log.slice(lastStart).filter((l) => /recovery|listening/.test(l)).map((l) => `${id} log: ${l}`);
}

async function describeFinalState(federation: LocalFederation, items: ReturnType<typeof simultaneousObservation>): Promise<void> {
  const bookings = await axios.get(`${federation.url(COORDINATOR)}/bookings`, { params: { scientist: 'vera-rubin' }, headers: { Authorization: `Bearer ${federation.tokens.scientists['vera-rubin']}` }, timeout: 5_000 });
  for (const b of bookings.data.bookings as Array<{ id: string; status: string; observatories: Array<{ observatoryId: string; state: string }> }>) {
    show(`booking ${b.id}: ${b.status} (${b.observatories.map((o) => `${o.observatoryId} ${o.state}`).join(', ')})`);
  }
  for (const node of federation.nodes.values()) await showSlot(node.url, node.id, items);
}

/** Timings that let the audience see each step: a recovery ballot 3 s after a participant prepared. */
const LOSE_FAST = { PREPARE_TIMEOUT_MS: '2000', RECOVERY_BALLOT_AFTER_MS: '3000', IN_DOUBT_QUERY_AFTER_MS: '1000', IN_DOUBT_QUERY_MAX_INTERVAL_MS: '1000', LOG_LEVEL: 'info' };
const SURVIVORS = ['mauna-kea', 'la-palma'];

/** --lose-coordinator: the coordinator is gone for good after the acceptors chose COMMIT; the participants finish alone. */
async function loseTheCoordinator(): Promise<boolean> {
  say(`1. Starting three observatories; ${COORDINATOR} will coordinate a booking of mauna-kea and la-palma and die right after its decision`);
  const federation = await LocalFederation.start({ env: LOSE_FAST, nodeEnv: { [COORDINATOR]: { FAULT_POINTS: 'coordinator.decided.before-commit' } } });
  try {
    const items = simultaneousObservation().filter((i) => !i.telescopeId.startsWith(COORDINATOR));
    say(`2. A scientist asks ${COORDINATOR} for ${items.map((i) => i.telescopeId).join(' and ')}, ${items[0]!.start} – ${items[0]!.end}`);
    show(`acceptors of the decision: ${COORDINATOR}, mauna-kea, la-palma (a majority of two decides)`);
    const died = federation.exited(COORDINATOR, 15_000);
    const asVera = { Authorization: `Bearer ${federation.tokens.scientists['vera-rubin']}` };
    const answer = await axios.post(`${federation.url(COORDINATOR)}/bookings`, { scientistId: 'vera-rubin', items }, { headers: asVera, validateStatus: () => true, timeout: 15_000 }).catch((e: Error) => e);
    await died;
    show(answer instanceof Error ? `the scientist got no answer (${answer.message})` : `the scientist got ${answer.status}`);
    say(`3. ${COORDINATOR} was killed (SIGKILL) after a majority of the acceptors accepted COMMIT, before it told anyone`);
    rmSync(federation.node(COORDINATOR).dataDir, { recursive: true, force: true });
    show(`its data directory ${federation.node(COORDINATOR).dataDir} is deleted: ${COORDINATOR} never comes back`);
    const started = Date.now();
    say('4. Watching the two participants finish the booking without it');
    const committed = await watchSurvivors(federation, items, 30_000);
    show(committed ? `both committed on their own, ${((Date.now() - started) / 1000).toFixed(1)} s after the coordinator was lost` : 'they did not finish within 30 s');
    for (const id of SURVIVORS) for (const line of ballotLines(federation, id)) show(line);
    for (const id of SURVIVORS) await showSlot(federation.url(id), id, items);
    say('5. Checking consistency on the surviving nodes\' SQLite files');
    await settled(federation, 30_000, SURVIVORS);
    const problems = violations(await snapshot(federation, SURVIVORS), { lostCoordinators: [COORDINATOR] });
    for (const p of problems) show(`VIOLATION: ${p}`);
    if (problems.length === 0) show('no slot held, nothing in doubt, every claim booked by a committed transaction');
    return committed && problems.length === 0;
  } finally {
    await federation.stop();
  }
}

/** What the node's audit trail says of the ballots it took part in (TX_BALLOT_STARTED, TX_ACCEPTED, TX_CHOSEN). */
function ballotLines(federation: LocalFederation, id: string): string[] {
  const file = path.join(federation.node(id).dataDir, 'logs', `${id}.audit.jsonl`);
  const events = readFileSync(file, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { event_type: string; details?: Record<string, unknown> });
  return events.filter((e) => ['TX_ACCEPTED', 'TX_BALLOT_STARTED', 'TX_CHOSEN', 'TX_COMMITTED'].includes(e.event_type)).map((e) => `${id} audit: ${e.event_type} ${JSON.stringify(e.details)}`);
}

/** Prints each survivor's state whenever it changes, until both committed (true) or time runs out. */
async function watchSurvivors(federation: LocalFederation, items: ReturnType<typeof simultaneousObservation>, timeoutMs: number): Promise<boolean> {
  const last = new Map<string, string>();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    let done = 0;
    for (const id of SURVIVORS) {
      const asOperator = { Authorization: `Bearer ${federation.tokens.operators[id]}` };
      const txs = await axios.get(`${federation.url(id)}/admin/transactions`, { headers: asOperator, timeout: 5_000 }).then((r) => r.data.transactions as Array<Record<string, unknown>>, () => []);
      const mine = txs.find((t) => t.role === 'participant');
      const line = mine ? `${mine.phase}: ${mine.stuck as string}` : 'finished (nothing unfinished here)';
      if (!mine) done += 1;
      if (last.get(id) !== line) show(`${id} ${new Date().toISOString().slice(11, 23)}  ${line}`);
      last.set(id, line);
    }
    if (done === SURVIVORS.length) return items.length > 0;
    await pause(500);
  }
  return false;
}

main().then(
  (ok) => {
    console.log(ok ? '\nPASS: the federation converged to one consistent outcome' : '\nFAIL: the federation is not consistent');
    process.exit(ok ? 0 : 1);
  },
  (error: unknown) => {
    console.error(`\nFAIL: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
