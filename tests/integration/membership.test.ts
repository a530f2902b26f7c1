// Live membership through real processes: a fourth observatory joins a running federation and
// books across all four with no other node restarting; an observatory's key is rotated under
// concurrent load and not one booking is refused; a retired key is refused afterwards.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import type { ObservatorySeed } from '../../seeds/catalog.js';
import { addNextKey, retireOldKeys, switchToNextKey } from '../../federation-node/src/local/membership-tools.js';
import { readSigningKey } from '../../federation-node/src/security/key-ring.js';
import { signingKeyFile } from '../../federation-node/src/security/local-keys.js';
import { signRequest } from '../../federation-node/src/security/message-signatures.js';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient, httpClient } from '../support/http-client.js';
import { item } from '../support/slots.js';

const KAROO: ObservatorySeed = {
  id: 'karoo',
  name: 'Karoo Plateau Observatory',
  site: 'Sutherland, Northern Cape, South Africa',
  timezone: 'Africa/Johannesburg',
  latitude: -32.3783,
  longitude: 20.8117,
  telescopes: [{ id: 'karoo-salt', name: 'Large Plateau Telescope', apertureM: 9.2, instrument: 'Imaging spectrograph', slotMinutes: 60, bookableFromHourUtc: 0, bookableToHourUtc: 24 }],
};

function pids(federation: LocalFederation, ids: string[]): number[] {
  return ids.map((id) => federation.node(id).child!.pid!);
}

function auditLines(federation: LocalFederation, id: string, eventType: string): Array<Record<string, unknown>> {
  const dir = path.join(federation.node(id).dataDir, 'logs');
  return readdirSync(dir)
    .filter((f) => f.includes('audit'))
    .flatMap((f) => readFileSync(path.join(dir, f), 'utf8').split('\n'))
    .filter((line) => line.includes(`"event_type":"${eventType}"`))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe('membership: joining and key rotation without restarts', function () {
  this.timeout(180_000);
  let federation: LocalFederation;
  const founders = ['atacama', 'mauna-kea', 'la-palma'];

  before(async () => {
    federation = await LocalFederation.start({ observatories: founders });
  });
  after(async () => federation?.stop());

  it('a fourth observatory joins the running federation and a booking across all four succeeds, through an old member and through the new one, with no other node restarting', async () => {
    const before = pids(federation, founders);
    await federation.join(KAROO);

    const viaOld = await federationClient(federation, 'mauna-kea').post('/bookings', {
      scientistId: 'vera-rubin',
      items: [item('atacama-ut1', 40, 5), item('mauna-kea-keck1', 40, 5), item('la-palma-gtc', 40, 5), item('karoo-salt', 40, 5)],
    });
    expect(viaOld.status, JSON.stringify(viaOld.data)).to.equal(201);
    expect(viaOld.data.status).to.equal('CONFIRMED');
    const viaNew = await federationClient(federation, 'karoo').post('/bookings', {
      scientistId: 'edwin-hubble',
      items: [item('atacama-ut1', 41, 5), item('mauna-kea-keck1', 41, 5), item('la-palma-gtc', 41, 5), item('karoo-salt', 41, 5)],
    });
    expect(viaNew.status, JSON.stringify(viaNew.data)).to.equal(201);

    expect(pids(federation, founders), 'no founding node restarted').to.deep.equal(before);
    const listed = await httpClient(federation.url('la-palma')).get('/observatories');
    expect(listed.data.observatories.map((o: { id: string }) => o.id)).to.include('karoo');
    for (const id of founders) expect(auditLines(federation, id, 'MEMBERSHIP_LOADED').length, `${id} audited the new membership`).to.be.at.least(1);
  });

  it('keeps keys, tokens, databases and logs readable only by their owner: 0600 files in 0700 folders', () => {
    const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);
    const keys = federation.keys;
    expect([keys.dir, keys.signingKeysDir].map(mode), 'key folders').to.deep.equal(['700', '700']);
    const secrets = [keys.tokenHashesFile, keys.tokensFile, ...readdirSync(keys.signingKeysDir).map((f) => path.join(keys.signingKeysDir, f))];
    expect(secrets.map(mode), 'private keys and tokens').to.deep.equal(secrets.map(() => '600'));
    expect(mode(keys.membershipFile), 'the membership document is public').to.equal('644');
    for (const id of founders) {
      const dir = federation.node(id).dataDir;
      const files = [...readdirSync(dir).map((f) => path.join(dir, f)), ...readdirSync(path.join(dir, 'logs')).map((f) => path.join(dir, 'logs', f))];
      expect([dir, path.join(dir, 'logs')].map(mode), `${id}'s data folders`).to.deep.equal(['700', '700']);
      expect(files.filter((f) => statSync(f).isFile()).map((f) => `${path.basename(f)} ${mode(f)}`), `${id}'s database and logs`).to.satisfy((list: string[]) => list.length >= 3 && list.every((l) => l.endsWith(' 600')));
    }
  });

  it('rotates atacama\'s key under concurrent load across every node: zero refused bookings, and the retired key is refused afterwards', async () => {
    const before = pids(federation, founders);
    const oldKeyId = (await federation.membershipOf('atacama')).signingKeyId;
    const oldKey = readSigningKey(signingKeyFile(federation.keys, 'atacama'));
    const clients = founders.map((id) => federationClient(federation, id));
    const refused: string[] = [];
    let confirmed = 0;
    let slot = 0;
    let rotating = true;
    // Every booking spans the three founders, so atacama signs and checks messages in both directions.
    const load = async (worker: number) => {
      while (rotating && slot < 4 * 250) {
        const n = slot++;
        const day = 100 + Math.floor(n / 4);
        const hour = 5 + (n % 2);
        const pair = Math.floor(n / 2) % 2;
        const items = [item(pair ? 'atacama-ut2' : 'atacama-ut1', day, hour), item(pair ? 'mauna-kea-subaru' : 'mauna-kea-keck1', day, hour), item(pair ? 'la-palma-wht' : 'la-palma-gtc', day, hour)];
        const res = await clients[(worker + n) % clients.length]!.post('/bookings', { scientistId: 'cecilia-payne', items });
        if (res.status === 201) confirmed += 1;
        else refused.push(`${res.status} ${JSON.stringify(res.data).slice(0, 300)}`);
      }
    };
    const workers = Array.from({ length: 8 }, (_, i) => load(i));

    const added = addNextKey(federation.keys, 'atacama');
    await federation.membershipLoaded(added.version);
    const newKeyId = switchToNextKey(federation.keys, 'atacama');
    for (let waited = 0; (await federation.membershipOf('atacama')).signingKeyId !== newKeyId; waited += 100) {
      expect(waited, 'atacama signs with its new key within 20 s').to.be.below(20_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Messages signed with the old key may still be in flight: retire it only after they are answered.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const retired = retireOldKeys(federation.keys, 'atacama');
    await federation.membershipLoaded(retired.version);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // load goes on with the new key alone
    rotating = false;
    await Promise.all(workers);

    expect(refused, 'bookings refused during the rotation').to.deep.equal([]);
    expect(confirmed, 'bookings confirmed during the rotation').to.be.at.least(20);
    expect(newKeyId).to.not.equal(oldKeyId);
    for (const id of founders) expect((await federation.membershipOf(id)).acceptedKeyIds).to.include(newKeyId).and.not.include(oldKeyId);
    expect(pids(federation, founders), 'no node restarted').to.deep.equal(before);

    const body = '{"type":"abort","txId":"atacama.retiredkey0001","from":"atacama"}';
    const target = '/federation/v1/transactions/atacama.retiredkey0001/release';
    const stale = signRequest({ method: 'POST', target, body }, oldKeyId, oldKey, Math.floor(Date.now() / 1000));
    const answer = await httpClient(federation.url('la-palma')).post(target, body, { headers: { ...stale, 'content-type': 'application/json' } });
    expect(answer.status).to.equal(401);
    expect(answer.data.detail).to.contain(`unknown key "${oldKeyId}"`);
  });
});
