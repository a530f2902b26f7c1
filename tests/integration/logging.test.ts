// The two log streams of a real node, as docs/LOGGING.md describes them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient } from '../support/http-client.js';
import { item } from '../support/slots.js';

const APP_LINE = /^(ERROR|WARN|INFO|DEBUG):\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z:atacama:(\[req=[^\] ]+( tx=[^\]]+)?\] )?\S/;

describe('logging: application log and JSON audit trail', function () {
  this.timeout(60_000);
  let federation: LocalFederation;

  before(async () => {
    federation = await LocalFederation.start({ observatories: ['atacama'] });
  });
  after(async () => federation?.stop());

  const logFile = (suffix: string) => readFileSync(path.join(federation.node('atacama').dataDir, 'logs', `atacama.${suffix}`), 'utf8').trim().split('\n');

  it('writes every application line as LEVEL:timestamp:service:message, with the request and transaction ids', async () => {
    const res = await federationClient(federation, 'atacama').post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 20, 3)] }, { headers: { 'X-Request-Id': 'docs-example-1' } });
    expect(res.status).to.equal(201);
    expect(res.headers['x-request-id']).to.equal('docs-example-1');
    const lines = logFile('app.log');
    for (const line of lines) expect(line).to.match(APP_LINE);
    const ours = lines.filter((l) => l.includes('[req=docs-example-1 '));
    expect(ours.length).to.be.at.least(2);
    for (const line of ours) expect(line).to.contain(`tx=${res.data.id}`);
    expect(ours.some((l) => l.includes(`booking ${res.data.id} confirmed`))).to.equal(true);
  });

  it('writes the audit trail as one JSON object per line with timestamp_utc, level AUDIT, event_type, service and details', async () => {
    const res = await federationClient(federation, 'atacama').post('/bookings', { scientistId: 'carl-sagan', items: [item('atacama-ut1', 21, 3)] }, { headers: { 'X-Request-Id': 'docs-example-2' } });
    const events = logFile('audit.jsonl').map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const event of events) {
      expect(event).to.include({ level: 'AUDIT', service: 'atacama' });
      expect(Date.parse(String(event.timestamp_utc))).to.be.a('number').and.not.NaN;
      expect(event.event_type).to.be.a('string');
      expect(event.details).to.be.an('object');
    }
    const ofBooking = events.filter((e) => e.tx_id === res.data.id).map((e) => e.event_type);
    expect(ofBooking).to.include.members(['TX_PREPARED', 'TX_DECIDED', 'TX_COMMITTED', 'BOOKING_CREATED']);
    const created = events.find((e) => e.event_type === 'BOOKING_CREATED' && e.tx_id === res.data.id)!;
    expect(created).to.include({ request_id: 'docs-example-2' });
    expect(created.details).to.deep.include({ bookingId: res.data.id, scientistId: 'carl-sagan' });
  });

  it('audits a rejected booking with its reasons', async () => {
    const api = federationClient(federation, 'atacama');
    await api.post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut2', 22, 3)] });
    const refused = await api.post('/bookings', { scientistId: 'carl-sagan', items: [item('atacama-ut2', 22, 3)] });
    expect(refused.status).to.equal(409);
    const rejected = logFile('audit.jsonl').map((l) => JSON.parse(l)).find((e) => e.event_type === 'BOOKING_REJECTED' && e.tx_id === refused.data.bookingId);
    expect(rejected.details.reasons[0]).to.include({ code: 'conflict', node: 'atacama' });
  });
});
