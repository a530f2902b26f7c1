// Real SIGKILLs at named fault points: a node dies mid-transaction, is restarted with the
// documented command, and the federation converges to the one consistent outcome. Every fault
// point on SQLite; on PostgreSQL the three that exercise each durable write of the protocol
// after a crash (a participant's PREPARED record, the coordinator's decision, a release),
// to keep the added wall time modest.
import { expect } from 'chai';
import type { AxiosResponse } from 'axios';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { item } from '../support/slots.js';
import { settled, snapshot, violations } from '../support/consistency.js';
import { backendOptions, type Backend } from '../support/backends.js';

const FAST_RECOVERY = { IN_DOUBT_QUERY_AFTER_MS: '300', DECISION_RESEND_INITIAL_MS: '200', DECISION_RESEND_MAX_MS: '1000', PREPARE_TIMEOUT_MS: '1500' };

interface Scenario {
  title: string;
  victim: string;
  faultPoint: string;
  /** What the client hears: a status, or no answer at all (the coordinator died). */
  answer: number | 'none';
  outcome: 'CONFIRMED' | 'REJECTED' | 'CANCELLED';
  cancel?: boolean;
  conflictAt?: string;
}

const SCENARIOS: Scenario[] = [
  { title: 'a participant dies with its hold on disk before voting: the booking fails with 503 and the hold is released after restart', victim: 'la-palma', faultPoint: 'participant.prepared.before-vote', answer: 503, outcome: 'REJECTED' },
  { title: 'a participant dies right after voting yes: the booking is confirmed and the restarted participant commits', victim: 'la-palma', faultPoint: 'participant.voted-yes', answer: 201, outcome: 'CONFIRMED' },
  { title: 'the coordinator dies with its decision on disk before sending any commit: after restart it commits everywhere', victim: 'atacama', faultPoint: 'coordinator.decided.before-commit', answer: 'none', outcome: 'CONFIRMED' },
  // The client hears 201 as soon as the decision is on disk, before the first acknowledgement.
  { title: 'the coordinator dies after committing at one participant only: after restart the others commit too', victim: 'atacama', faultPoint: 'coordinator.committed-at-one', answer: 201, outcome: 'CONFIRMED' },
  { title: 'a participant dies with its commit on disk before acknowledging: the coordinator re-sends and the booking stays confirmed', victim: 'mauna-kea', faultPoint: 'participant.committed.before-ack', answer: 201, outcome: 'CONFIRMED' },
  { title: 'a participant dies with its abort on disk before acknowledging: nothing stays held anywhere', victim: 'la-palma', faultPoint: 'participant.aborted.before-ack', answer: 409, outcome: 'REJECTED', conflictAt: 'mauna-kea' },
  { title: 'cancellation: the coordinator dies with the release decided before sending it: after restart every slot is released', victim: 'atacama', faultPoint: 'coordinator.decided.before-commit@cancel', answer: 'none', outcome: 'CANCELLED', cancel: true },
  { title: 'cancellation: a participant dies after voting yes to the release: it releases after restart', victim: 'la-palma', faultPoint: 'participant.voted-yes@cancel', answer: 200, outcome: 'CANCELLED', cancel: true },
];

/** The fault points also run on PostgreSQL. */
const ON_POSTGRES = new Set(['participant.voted-yes', 'coordinator.decided.before-commit', 'coordinator.decided.before-commit@cancel']);

describe('crash recovery at every fault point (real processes, SIGKILL)', function () {
  this.timeout(180_000);
  SCENARIOS.forEach((scenario, index) => it(scenario.title, () => runOn('sqlite', scenario, index)));
});

describe('crash recovery at fault points, on PostgreSQL (one database per node)', function () {
  this.timeout(180_000);
  SCENARIOS.forEach((scenario, index) => {
    if (ON_POSTGRES.has(scenario.faultPoint)) it(scenario.title, () => runOn('postgres', scenario, index));
  });
});

async function runOn(backend: Backend, scenario: Scenario, index: number): Promise<void> {
  const federation = await LocalFederation.start({ env: FAST_RECOVERY, nodeEnv: { [scenario.victim]: { FAULT_POINTS: scenario.faultPoint } }, ...(await backendOptions(backend)) });
  try {
    await runScenario(federation, scenario, 140 + index);
  } finally {
    await federation.stop();
  }
}

async function runScenario(federation: LocalFederation, scenario: Scenario, day: number): Promise<void> {
  const atacama = federationClient(federation, 'atacama');
  const items = [item('atacama-ut1', day, 5), item('mauna-kea-keck1', day, 5), item('la-palma-gtc', day, 5)];
  if (scenario.conflictAt) {
    const taken = await federationClient(federation, scenario.conflictAt).post('/bookings', { scientistId: 'edwin-hubble', items: [items[1]] });
    expect(taken.status).to.equal(201);
  }
  let bookingId: string | undefined;
  if (scenario.cancel) {
    const booked = await atacama.post('/bookings', { scientistId: 'vera-rubin', items });
    expect(booked.status).to.equal(201);
    bookingId = booked.data.id;
  }
  const victimDied = federation.exited(scenario.victim, 15_000);
  const answer = await (scenario.cancel ? atacama.delete(`/bookings/${bookingId}`) : atacama.post('/bookings', { scientistId: 'vera-rubin', items })).catch(() => undefined);
  await victimDied;
  checkAnswer(answer, scenario);
  bookingId ??= answer?.data?.id ?? answer?.data?.bookingId;
  await federation.launch(scenario.victim, { FAULT_POINTS: '' });
  await settled(federation, 20_000);

  const snap = await snapshot(federation);
  expect(violations(snap)).to.deep.equal([]);
  const bookings = snap.get('atacama')!.bookings.filter((b) => b.items_json.includes(items[0]!.start) && b.id.startsWith('atacama.'));
  const statuses = bookings.map((b) => b.status);
  if (bookingId) expect(bookings.find((b) => b.id === bookingId)?.status).to.equal(scenario.outcome);
  else expect(statuses).to.deep.equal([scenario.outcome]);
}

function checkAnswer(answer: AxiosResponse | undefined, scenario: Scenario): void {
  if (scenario.answer === 'none') {
    expect(answer, 'the coordinator died before answering').to.equal(undefined);
    return;
  }
  expect(answer?.status, JSON.stringify(answer?.data)).to.equal(scenario.answer);
}
