// A graceful stop under load (SIGTERM while bookings and cancellations are in flight through
// the node, as coordinator and as participant): the node stops its timers and takes no new
// work, lets the requests in progress finish, drains its group-commit writer, then closes
// SQLite — exit 0, and no SQLITE_MISUSE, no error and no FATAL line in its log or output.
import { expect } from 'chai';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { item } from '../support/slots.js';

const ROUNDS = 3;
const CLIENTS = 4;
/** How long the load runs before SIGTERM, each round. */
const LOAD_BEFORE_STOP_MS = 2_500;

describe('graceful stop (SIGTERM) under load', function () {
  this.timeout(240_000);
  let federation: LocalFederation;

  before(async () => {
    federation = await LocalFederation.start({ observatories: ['atacama', 'mauna-kea'] });
  });
  after(async () => federation?.stop());

  it(`exits 0 with no SQLITE_MISUSE, error or FATAL line, ${ROUNDS} times in a row, while bookings and cancellations are in flight`, async () => {
    for (let round = 0; round < ROUNDS; round += 1) {
      if (round > 0) await federation.launch('atacama');
      const handle = federation.node('atacama');
      const child = handle.child!;
      const exit = new Promise<number | string | null>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code)));
      let loading = true;
      const answers = new Map<string, number>();
      const load = Promise.all(Array.from({ length: CLIENTS }, (_, client) => clientLoop(round, client, () => loading, answers)));
      await sleep(LOAD_BEFORE_STOP_MS);
      // A loaded machine may need longer for the first booking; the stop must come under load.
      for (const deadline = Date.now() + 60_000; (answers.get('201') ?? 0) === 0 && Date.now() < deadline;) await sleep(100);
      expect(answers.get('201') ?? 0, `round ${round}: bookings succeeded before the stop`).to.be.greaterThan(0);
      child.kill('SIGTERM');
      const code = await exit;
      loading = false;
      await load;
      handle.child = undefined;
      const output = handle.output.join('');
      expect(code, `round ${round}: exit code of a graceful stop\n${output}`).to.equal(0);
      const bad = logLines(handle.dataDir).concat(output.split('\n')).filter((line) => /SQLITE_MISUSE|^ERROR:|^FATAL:|Database is closed|DataSource/i.test(line));
      expect(bad, `round ${round}: lines that a graceful stop must not write`).to.deep.equal([]);
      expect(logLines(handle.dataDir).some((line) => line.includes('observatory atacama stopped')), `round ${round}: the stop finished\n${logLines(handle.dataDir).slice(-8).join('\n')}`).to.equal(true);
    }
    await federation.launch('atacama'); // and it starts again on what it left behind
  });

  /** Book and cancel, alternately through each node, until told to stop; count the answers. */
  async function clientLoop(round: number, client: number, running: () => boolean, answers: Map<string, number>): Promise<void> {
    const apis = ['atacama', 'mauna-kea'].map((id) => federationClient(federation, id));
    for (let n = 0; running(); n += 1) {
      const api = apis[n % 2]!;
      const day = 40 + round * 10 + client;
      const hour = 5 + (n % 5); // hours both telescopes can be booked
      const count = (status: number | string) => answers.set(String(status), (answers.get(String(status)) ?? 0) + 1);
      const booked = await api.post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', day, hour), item('mauna-kea-keck1', day, hour)] }).catch(() => undefined);
      count(booked?.status ?? 'reset');
      if (booked?.status === 201) {
        const cancelled = await api.delete(`/bookings/${booked.data.id}`).catch(() => undefined);
        count(cancelled?.status ?? 'reset');
      } else {
        await sleep(50);
      }
    }
  }
});

function logLines(dataDir: string): string[] {
  const logs = path.join(dataDir, 'logs');
  return readdirSync(logs)
    .filter((file) => file.includes('.app-') && file.endsWith('.log'))
    .flatMap((file) => readFileSync(path.join(logs, file), 'utf8').split('\n'));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
