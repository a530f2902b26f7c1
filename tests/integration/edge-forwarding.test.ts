// Reads and cancellations of a booking coordinated elsewhere (docs/SECURITY.md, "Forwarded
// requests"): the caller's bearer token never leaves the node it was sent to; the node passes
// the request on as a signed call naming the principal it verified, which the coordinator
// believes only from the principal's own observatory; and a cancellation whose answer never
// came back is reported as unknown, not as "nothing changed". Real processes, a recording
// relay between two of them, SIGSTOP and SIGKILL.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { LocalFederation } from '../support/federation-harness.js';
import { httpClient } from '../support/http-client.js';
import { RecordingProxy } from '../support/recording-proxy.js';
import { peerAuthFrom, signedClient } from '../support/signing.js';
import { item } from '../support/slots.js';

describe('edge: forwarded reads and cancellations carry no token, only a principal vouched for by its own observatory', function () {
  this.timeout(90_000);
  let federation: LocalFederation;
  let relay: RecordingProxy;
  const token = (scientistId: string) => federation.tokens.scientists[scientistId]!;
  const as = (node: string, scientistId: string) => httpClient(federation.url(node), token(scientistId));
  const auditOf = (node: string) => readFileSync(path.join(federation.node(node).dataDir, 'logs', `${node}.audit.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { event_type: string; details: Record<string, unknown> });
  const book = async (node: string, scientistId: string, items: ReturnType<typeof item>[]) => {
    const res = await as(node, scientistId).post('/bookings', { scientistId, items });
    expect(res.status, JSON.stringify(res.data)).to.equal(201);
    return res.data.id as string;
  };

  before(async () => {
    // Everything atacama sends mauna-kea goes through the relay, which keeps a copy.
    relay = await RecordingProxy.start(() => federation.url('mauna-kea'));
    federation = await LocalFederation.start({
      routeVia: { atacama: { 'mauna-kea': relay.url } },
      nodeEnv: { 'la-palma': { FORWARDED_REQUEST_TIMEOUT_MS: '1500' } },
    });
  });
  after(async () => {
    await federation?.stop();
    await relay?.stop();
  });

  it('passes a read and a cancellation through the scientist\'s home observatory as signed calls naming her: her token never reaches the coordinator', async () => {
    const id = await book('mauna-kea', 'vera-rubin', [item('mauna-kea-keck1', 50, 5), item('la-palma-gtc', 50, 5)]);
    const read = await as('atacama', 'vera-rubin').get(`/bookings/${id}`);
    expect(read.status, JSON.stringify(read.data)).to.equal(200);
    expect(read.data).to.include({ id, status: 'CONFIRMED', scientistId: 'vera-rubin' });
    const cancelled = await as('atacama', 'vera-rubin').delete(`/bookings/${id}`);
    expect(cancelled.status, JSON.stringify(cancelled.data)).to.equal(200);
    expect(cancelled.data.status).to.equal('CANCELLED');

    const forwarded = relay.seen.filter((r) => r.url.startsWith(`/federation/v1/bookings/${id}`));
    expect(forwarded.map((r) => `${r.method} ${r.url}`)).to.deep.equal([`GET /federation/v1/bookings/${id}?scientist=vera-rubin`, `DELETE /federation/v1/bookings/${id}?scientist=vera-rubin`]);
    for (const request of forwarded) expect(request.headers).to.include.keys('signature', 'signature-input', 'content-digest');
    const everything = relay.everything();
    expect(everything.includes(token('vera-rubin')), 'her token in what mauna-kea received').to.equal(false);
    expect(everything.toLowerCase()).not.to.contain('authorization').and.not.to.contain('bearer');
    expect(auditOf('atacama').some((e) => e.event_type === 'BOOKING_CANCEL_FORWARDED' && e.details.bookingId === id && e.details.status === 200)).to.equal(true);
    expect(auditOf('mauna-kea').some((e) => e.event_type === 'FORWARDED_CANCEL_RECEIVED' && e.details.bookingId === id && e.details.peer === 'atacama')).to.equal(true);
  });

  it('redirects a scientist who asks a node that is neither the coordinator nor her home, and sends nothing on her behalf', async () => {
    const id = await book('mauna-kea', 'vera-rubin', [item('mauna-kea-keck1', 51, 5)]);
    const before = relay.seen.length;
    for (const method of ['get', 'delete'] as const) {
      const answer = await as('la-palma', 'vera-rubin')[method](`/bookings/${id}`);
      expect(answer.status, JSON.stringify(answer.data)).to.equal(307);
      expect(answer.headers.location).to.equal(`${federation.url('mauna-kea')}/bookings/${id}`);
      expect(answer.data.detail).to.contain('may vouch only for its own scientists').and.contain('home observatory is atacama');
    }
    expect(relay.seen.length, 'nothing went to mauna-kea through atacama').to.equal(before);
    expect((await as('mauna-kea', 'vera-rubin').get(`/bookings/${id}`)).data.status).to.equal('CONFIRMED');
  });

  it('refuses a rogue member that names a scientist who is not its own, another operator, or its own scientist for another\'s booking: 403, audited, the booking stays confirmed', async () => {
    const id = await book('mauna-kea', 'vera-rubin', [item('mauna-kea-keck1', 52, 5)]);
    const rogue = signedClient(federation.url('mauna-kea'), peerAuthFrom(federation.keys.secretsFile, 'la-palma'), 'mauna-kea');
    const attempts: Array<[method: 'get' | 'delete', query: string, detail: string]> = [
      ['delete', 'scientist=vera-rubin', 'la-palma may vouch only for its own scientists; vera-rubin\'s home observatory is atacama'],
      ['get', 'scientist=vera-rubin', 'la-palma may vouch only for its own scientists'],
      ['delete', 'scientist=caroline-herschel', 'belongs to another scientist'],
      ['get', 'operator=atacama', 'la-palma may vouch only for its own operator'],
      ['get', 'operator=la-palma', 'holds no telescope of la-palma'],
      ['delete', 'operator=la-palma', 'only a scientist'],
    ];
    for (const [method, query, detail] of attempts) {
      const answer = await rogue[method](`/federation/v1/bookings/${id}?${query}`);
      expect(answer.status, `${method} ${query}: ${JSON.stringify(answer.data)}`).to.equal(403);
      expect(answer.data.detail).to.contain(detail);
    }
    const unsigned = await httpClient(federation.url('mauna-kea')).delete(`/federation/v1/bookings/${id}?scientist=vera-rubin`);
    expect(unsigned.status).to.equal(401);
    const malformed = await rogue.get(`/federation/v1/bookings/${id}?scientist=caroline-herschel&operator=la-palma`);
    expect(malformed.status).to.equal(400);
    expect((await as('mauna-kea', 'vera-rubin').get(`/bookings/${id}`)).data.status).to.equal('CONFIRMED');
    const refusals = auditOf('mauna-kea').filter((e) => e.event_type === 'PRINCIPAL_ASSERTION_REFUSED' && e.details.bookingId === id);
    expect(refusals.map((e) => e.details.principal)).to.deep.equal(['scientist vera-rubin', 'scientist vera-rubin', 'atacama\'s operator']);
    expect(refusals.every((e) => e.details.peer === 'la-palma')).to.equal(true);
  });

  it('refuses a replay of a signed forwarded call recorded on the way (401)', async () => {
    const id = await book('mauna-kea', 'vera-rubin', [item('mauna-kea-keck1', 53, 5)]);
    expect((await as('atacama', 'vera-rubin').get(`/bookings/${id}`)).status).to.equal(200);
    const recorded = relay.seen.filter((r) => r.url === `/federation/v1/bookings/${id}?scientist=vera-rubin`).at(-1)!;
    const headers = Object.fromEntries(['signature', 'signature-input', 'content-digest'].map((h) => [h, String(recorded.headers[h])]));
    const replay = await httpClient(federation.url('mauna-kea')).get(recorded.url, { headers });
    expect(replay.status, JSON.stringify(replay.data)).to.equal(401);
    expect(replay.data.detail).to.contain('already used');
  });

  it('answers 504 with outcome "unknown" and the booking\'s URL when the coordinator stops after receiving a cancellation — which it then carries out', async () => {
    const id = await book('mauna-kea', 'caroline-herschel', [item('mauna-kea-keck1', 54, 5), item('la-palma-gtc', 54, 5)]);
    const coordinator = federation.node('mauna-kea').child!;
    coordinator.kill('SIGSTOP');
    let answer;
    try {
      answer = await as('la-palma', 'caroline-herschel').delete(`/bookings/${id}`);
    } finally {
      coordinator.kill('SIGCONT');
    }
    expect(answer.status, JSON.stringify(answer.data)).to.equal(504);
    expect(answer.headers['content-type']).to.contain('application/problem+json');
    expect(answer.data).to.include({ type: 'urn:observatory-federation:problem:outcome-unknown', outcome: 'unknown', bookingId: id, coordinator: 'mauna-kea' });
    expect(answer.data._links.booking.href).to.equal(`${federation.url('mauna-kea')}/bookings/${id}`);
    expect(answer.data.detail).to.contain('may or may not have been cancelled');
    let status = '';
    for (let i = 0; i < 100 && status !== 'CANCELLED'; i += 1) {
      status = (await as('mauna-kea', 'caroline-herschel').get(`/bookings/${id}`)).data.status;
      if (status !== 'CANCELLED') await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(status, 'the coordinator went on to cancel it: a "nothing changed" 503 would have been false').to.equal('CANCELLED');
    expect(auditOf('la-palma').some((e) => e.event_type === 'BOOKING_CANCEL_FORWARDED' && e.details.bookingId === id && e.details.outcome === 'unknown')).to.equal(true);
  });

  it('answers 503 "nothing was changed" only when the cancellation could not be sent at all (the coordinator is down)', async () => {
    const id = await book('atacama', 'caroline-herschel', [item('atacama-ut1', 55, 5)]);
    await federation.kill('atacama');
    try {
      const answer = await as('la-palma', 'caroline-herschel').delete(`/bookings/${id}`);
      expect(answer.status, JSON.stringify(answer.data)).to.equal(503);
      expect(answer.data.detail).to.contain('could not be sent').and.contain('nothing was changed');
      expect(answer.headers['retry-after']).to.equal('5');
    } finally {
      await federation.launch('atacama');
    }
    expect((await as('atacama', 'caroline-herschel').get(`/bookings/${id}`)).data.status).to.equal('CONFIRMED');
  });
});
