// Chaos: three real node processes under a concurrent load of random multi-observatory
// bookings and cancellations, while random nodes are SIGKILLed at random moments and
// restarted with the documented command. Bounded in kills and time; seeded. On SQLite with
// KILLS kills; on PostgreSQL (one database per node) with POSTGRES_KILLS, to keep the added
// wall time modest.
import { expect } from 'chai';
import type { AxiosInstance } from 'axios';
import { readCatalog, readScientists } from '../../seeds/catalog.js';
import { RequestGenerator, seededRandom } from '../../seeds/request-generator.js';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { settled, snapshot, violations } from '../support/consistency.js';
import { BACKENDS, backendOptions } from '../support/backends.js';

const KILLS = 20;
const POSTGRES_KILLS = 8;
const CLIENTS = 6;
const SEED = 4242;
const SETTLE_AFTER_LAST_RESTART_MS = 10_000;
/**
 * On PostgreSQL a restart takes longer (connections, the index check), so a coordinator's
 * decision resends have often backed off further, towards DECISION_RESEND_MAX_MS (30 s): seen
 * on a loaded machine, still resending 10 s after the last restart. Settling is then allowed
 * one full resend interval and a margin.
 */
const POSTGRES_SETTLE_AFTER_LAST_RESTART_MS = 40_000;

interface Ledger {
  confirmed: Set<string>;
  cancelled: Set<string>;
  /** Cancellations that got no answer, or 504 outcome unknown: the booking may be either. */
  uncertain: Set<string>;
  requests: number;
}

for (const backend of BACKENDS) describe(`chaos: random SIGKILLs of random nodes under load (${backend})`, function () {
  this.timeout(300_000);
  let federation: LocalFederation;
  const killsMax = backend === 'postgres' ? POSTGRES_KILLS : KILLS;
  const settleMs = backend === 'postgres' ? POSTGRES_SETTLE_AFTER_LAST_RESTART_MS : SETTLE_AFTER_LAST_RESTART_MS;

  before(async () => {
    federation = await LocalFederation.start({ env: { CLOCK_SYNC_INTERVAL_MS: '5000' }, ...(await backendOptions(backend)) });
  });
  after(async () => federation?.stop());

  it(`${killsMax} SIGKILLs and restarts under load: no slot given twice, all-or-nothing everywhere, every 201 still confirmed unless cancelled (a cancellation answered 503 included), nothing in doubt ${settleMs / 1000} s after the last restart`, async () => {
    const ledger: Ledger = { confirmed: new Set(), cancelled: new Set(), uncertain: new Set(), requests: 0 };
    const clients = [...federation.nodes.values()].map((n) => federationClient(federation, n.id));
    let running = true;
    const load = Array.from({ length: CLIENTS }, (_, i) => scientistLoop(clients, ledger, SEED + i, () => running));
    const kills = await killAndRestart(federation, seededRandom(SEED), killsMax);
    running = false;
    await Promise.all(load);

    await settled(federation, settleMs);
    const confirmed = [...ledger.confirmed].filter((id) => !ledger.cancelled.has(id) && !ledger.uncertain.has(id));
    expect(violations(await snapshot(federation), { confirmed, cancelled: ledger.cancelled })).to.deep.equal([]);
    expect(kills).to.equal(killsMax);
    expect(ledger.confirmed.size, 'bookings were confirmed during the chaos').to.be.greaterThan(10);
  });
});

async function scientistLoop(clients: AxiosInstance[], ledger: Ledger, seed: number, running: () => boolean): Promise<void> {
  const random = seededRandom(seed);
  const generator = new RequestGenerator({ seed, catalog: readCatalog(), scientists: readScientists(), firstDay: 200, days: 3 });
  while (running()) {
    ledger.requests += 1;
    const api = clients[Math.floor(random() * clients.length)]!;
    const cancellable = [...ledger.confirmed].filter((id) => !ledger.cancelled.has(id) && !ledger.uncertain.has(id));
    if (cancellable.length > 0 && random() < 0.2) {
      const id = cancellable[Math.floor(random() * cancellable.length)]!;
      const res = await api.delete(`/bookings/${id}`).catch(() => undefined);
      if (res?.status === 200) ledger.cancelled.add(id);
      // 503 promises that nothing changed (docs/API.md): the booking must stay confirmed, so it is not uncertain.
      else if (!res || (res.status >= 500 && res.status !== 503)) ledger.uncertain.add(id);
      continue;
    }
    const request = generator.next();
    const res = await api.post('/bookings', { scientistId: request.scientistId, items: request.items }).catch(() => undefined);
    if (res?.status === 201) ledger.confirmed.add(res.data.id);
    if (!res) await new Promise((resolve) => setTimeout(resolve, 20)); // a node is down: do not spin
  }
}

async function killAndRestart(federation: LocalFederation, random: () => number, killsMax: number): Promise<number> {
  const ids = [...federation.nodes.keys()];
  let kills = 0;
  for (let k = 0; k < killsMax; k += 1) {
    await new Promise((resolve) => setTimeout(resolve, 200 + random() * 600));
    const victim = ids[Math.floor(random() * ids.length)]!;
    await federation.kill(victim, 'SIGKILL');
    kills += 1;
    await federation.launch(victim);
  }
  return kills;
}
