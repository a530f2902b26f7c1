// Rate limits that fit a federation (docs/SECURITY.md, "Limits"): probes are never limited,
// signed traffic is limited per observatory and not by address, badly signed requests per
// address, and behind a trusted reverse proxy each client is limited by its own address.
// Real nodes; distinct client addresses are distinct loopback addresses (127.0.0.x).
import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import axios from 'axios';
import { expect } from 'chai';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient, httpClient } from '../support/http-client.js';
import { RecordingProxy } from '../support/recording-proxy.js';
import { peerAuthFrom, signedClient } from '../support/signing.js';
import { item } from '../support/slots.js';

/** A client whose connections come from `address` (any 127.0.0.x is this machine). */
function clientFrom(address: string, baseURL: string) {
  return axios.create({ baseURL, validateStatus: () => true, timeout: 30_000, maxRedirects: 0, httpAgent: new http.Agent({ keepAlive: true, localAddress: address }) });
}

async function statusesOf(count: number, request: () => Promise<{ status: number }>): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i += 1) statuses.push((await request()).status);
  return statuses;
}

describe('edge: rate limits that fit a federation', function () {
  this.timeout(90_000);

  it('with 127.0.0.1 throttled at a node by public traffic, bookings touching that node still succeed and its /health and /ready still answer', async () => {
    const federation = await LocalFederation.start({ observatories: ['atacama', 'la-palma'], nodeEnv: { 'la-palma': { RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '20' } } });
    try {
      const public127 = httpClient(federation.url('la-palma'));
      const statuses = await statusesOf(25, () => public127.get('/time'));
      expect(statuses.slice(0, 20).every((s) => s === 200) && statuses.slice(20).every((s) => s === 429), statuses.join(',')).to.equal(true);
      expect((await public127.get('/health')).status).to.equal(200);
      const ready = await public127.get('/ready');
      expect(ready.status).to.equal(200);
      expect(ready.data.status).to.equal('ready');
      const seenFromAtacama = await httpClient(federation.url('atacama')).get('/ready');
      expect(seenFromAtacama.data.checks.peers['la-palma'], 'atacama\'s probe of la-palma').to.deep.equal({ ok: true, detail: 'reachable' });
      const api = federationClient(federation, 'atacama');
      for (let day = 60; day < 63; day += 1) {
        const booked = await api.post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', day, 5), item('la-palma-gtc', day, 5)] });
        expect(booked.status, JSON.stringify(booked.data)).to.equal(201);
        expect((await api.delete(`/bookings/${booked.data.id}`)).status).to.equal(200);
      }
      expect((await public127.get('/time')).status, 'la-palma still throttles public traffic from 127.0.0.1').to.equal(429);
    } finally {
      await federation.stop();
    }
  });

  describe('one node with tight limits behind a trusted reverse proxy', () => {
    let node: LocalFederation;
    let proxy: RecordingProxy;
    const env = { RATE_LIMIT_PER_ADDRESS_PER_MINUTE: '10', RATE_LIMIT_PER_PEER_PER_MINUTE: '10', TRUSTED_PROXIES: '127.0.0.1' };

    before(async () => {
      node = await LocalFederation.start({ observatories: ['la-palma'], listedOnly: ['atacama', 'mauna-kea'], env });
      proxy = await RecordingProxy.start(() => node.url('la-palma'), { forwardedFor: true });
    });
    after(async () => {
      await proxy?.stop();
      await node?.stop();
    });

    it('limits one noisy client behind the proxy by its own address: the others go on, and a forged X-Forwarded-For does not help it', async () => {
      const noisy = clientFrom('127.0.0.2', proxy.url);
      const quiet = clientFrom('127.0.0.3', proxy.url);
      expect(await statusesOf(12, () => noisy.get('/time'))).to.deep.equal([...Array(10).fill(200), 429, 429]);
      expect((await noisy.get('/time', { headers: { 'X-Forwarded-For': '10.9.9.9' } })).status, 'a forged hop before the real one').to.equal(429);
      expect(await statusesOf(5, () => quiet.get('/time'))).to.deep.equal([200, 200, 200, 200, 200]);
      const audit = readFileSync(path.join(node.node('la-palma').dataDir, 'logs', 'la-palma.audit.jsonl'), 'utf8');
      expect(audit).to.contain('"event_type":"RATE_LIMITED"').and.contain('"address":"127.0.0.2"');
    });

    it('ignores X-Forwarded-For from a client that is not a trusted proxy', async () => {
      const direct = clientFrom('127.0.0.4', node.url('la-palma'));
      const statuses = await statusesOf(12, () => direct.get('/time', { headers: { 'X-Forwarded-For': `10.0.0.${Math.floor(Math.random() * 250)}` } }));
      expect(statuses.slice(10)).to.deep.equal([429, 429]);
    });

    it('limits signed traffic per observatory, whatever its address: a noisy peer gets 429, another peer at the same address does not', async () => {
      const asAtacama = signedClient(node.url('la-palma'), peerAuthFrom(node.keys.secretsFile, 'atacama'), 'la-palma');
      const asMaunaKea = signedClient(node.url('la-palma'), peerAuthFrom(node.keys.secretsFile, 'mauna-kea'), 'la-palma');
      const unknownTx = (n: number) => `/federation/v1/transactions/atacama.rateLimit${String(n).padStart(4, '0')}`;
      const atacama = await statusesOf(12, () => asAtacama.get(unknownTx(1)));
      expect(atacama, 'more than RATE_LIMIT_PER_PEER_PER_MINUTE from atacama').to.deep.equal([...Array(10).fill(404), 429, 429]);
      const refused = await asAtacama.get(unknownTx(2));
      expect(refused.data.detail).to.contain('RATE_LIMIT_PER_PEER_PER_MINUTE');
      expect(refused.headers.signature, 'the refusal is signed, as every answer to a peer').to.be.a('string');
      expect(await statusesOf(5, () => asMaunaKea.get(unknownTx(3)))).to.deep.equal([404, 404, 404, 404, 404]);
    });

    it('counts badly signed requests per address and refuses that address past the limit, before checking any more signatures', async () => {
      const forger = clientFrom('127.0.0.5', node.url('la-palma'));
      const statuses = await statusesOf(12, () => forger.get('/federation/v1/transactions/atacama.forged0001', { headers: { Signature: 'fed=:AAAA:', 'Signature-Input': 'fed=();keyid="atacama"' } }));
      expect(statuses).to.deep.equal([...Array(10).fill(401), 429, 429]);
      const peerElsewhere = signedClient(node.url('la-palma'), peerAuthFrom(node.keys.secretsFile, 'mauna-kea'), 'la-palma');
      expect((await peerElsewhere.get('/federation/v1/transactions/atacama.forged0001')).status, 'a peer at another address').to.equal(404);
    });
  });
});
