// The coordinator's side of batched credential requests (federation/credential-batcher.ts):
// what it sends to each home and how every request gets its own answer. The home's side and
// the real wire are in tests/integration/credential-batch.test.ts.
import { expect } from 'chai';
import { CREDENTIAL_BATCH_PATH, CREDENTIALS_PATH, CredentialBatcher, type CredentialAnswer, type CredentialAskBody } from '../../federation-node/src/federation/credential-batcher.js';

interface Sent {
  to: string;
  path: string;
  body: { asks?: CredentialAskBody[] } & Partial<CredentialAskBody>;
}

const ask = (n: number): CredentialAskBody => ({ scientistId: 'vera-rubin', bookingId: `mauna-kea.b${n}`, parts: { 'la-palma': `d${n}` }, token: `t${n}` });

function batcher(answer: (sent: Sent) => CredentialAnswer | Promise<CredentialAnswer>, overrides: Partial<ConstructorParameters<typeof CredentialBatcher>[0]> = {}) {
  const sent: Sent[] = [];
  const post = async (to: string, path: string, body: string) => {
    const entry = { to, path, body: JSON.parse(body) as Sent['body'] };
    sent.push(entry);
    return answer(entry);
  };
  const instance = new CredentialBatcher({ post, nowMs: Date.now, requestTimeoutMs: 2_000, attemptsMax: 1, batching: true, asksMax: 64, bytesMax: 65_536, stallMs: 25, ...overrides });
  return { instance, sent };
}

const credentialsFor = (sent: Sent): CredentialAnswer => ({ status: 200, data: { answers: sent.body.asks!.map((a) => ({ credential: `cred-${a.bookingId}` })) } });

describe('credential batcher (requests to a scientist\'s home, batched per home)', () => {
  it('sends the requests to one home issued in one event-loop turn as one batch, and gives each its own credential', async () => {
    const { instance, sent } = batcher(credentialsFor);
    const answers = await Promise.all([1, 2, 3].map((n) => instance.request('atacama', ask(n), Date.now() + 5_000)));
    expect(sent.map((s) => [s.to, s.path])).to.deep.equal([['atacama', CREDENTIAL_BATCH_PATH]]);
    expect(sent[0]!.body.asks!.map((a) => a.bookingId)).to.deep.equal(['mauna-kea.b1', 'mauna-kea.b2', 'mauna-kea.b3']);
    expect(answers.map((a) => [a.status, (a.data as { credential: string }).credential])).to.deep.equal([1, 2, 3].map((n) => [200, `cred-mauna-kea.b${n}`]));
  });

  it('a request the home refuses gets that refusal alone: the others of its batch get their credentials', async () => {
    const { instance } = batcher((sent) => ({ status: 200, data: { answers: sent.body.asks!.map((a) => (a.token === 't2' ? { type: 'x/forbidden', status: 403, detail: 'the token shown is not vera-rubin\'s API token' } : { credential: `cred-${a.bookingId}` })) } }));
    const answers = await Promise.all([1, 2, 3].map((n) => instance.request('atacama', ask(n), Date.now() + 5_000)));
    expect(answers.map((a) => a.status)).to.deep.equal([200, 403, 200]);
    expect((answers[1]!.data as { detail: string }).detail).to.contain('not vera-rubin');
  });

  it('keeps one batch per home, and never more requests in a batch than CREDENTIAL_BATCH_ASKS_MAX', async () => {
    const { instance, sent } = batcher(credentialsFor, { asksMax: 2 });
    await Promise.all([1, 2, 3, 4, 5].map((n) => instance.request(n % 2 ? 'atacama' : 'la-palma', ask(n), Date.now() + 5_000)));
    for (const s of sent) expect(s.body.asks!.length).to.be.at.most(2);
    const byHome = (home: string) => sent.filter((s) => s.to === home).flatMap((s) => s.body.asks!.map((a) => a.bookingId));
    expect(byHome('atacama').sort()).to.deep.equal(['mauna-kea.b1', 'mauna-kea.b3', 'mauna-kea.b5']);
    expect(byHome('la-palma').sort()).to.deep.equal(['mauna-kea.b2', 'mauna-kea.b4']);
  });

  it('while a batch to a home is unanswered, later requests wait and leave together in the next batch', async () => {
    let release!: () => void;
    const first = new Promise<void>((resolve) => (release = resolve));
    const { instance, sent } = batcher(async (s) => {
      if (sent.length === 1) await first;
      return credentialsFor(s);
    }, { stallMs: 60_000 });
    const one = instance.request('atacama', ask(1), Date.now() + 5_000);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [2, 3, 4].map((n) => instance.request('atacama', ask(n), Date.now() + 5_000));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sent.length, 'the later requests wait for the first batch').to.equal(1);
    release();
    await Promise.all([one, ...later]);
    expect(sent.map((s) => s.body.asks!.length)).to.deep.equal([1, 3]);
  });

  it('a whole batch answered 503 gives every request that answer (not a credential, not a transport error)', async () => {
    const { instance } = batcher(() => ({ status: 503, data: { status: 503, detail: 'starting' } }));
    const answers = await Promise.all([1, 2].map((n) => instance.request('atacama', ask(n), Date.now() + 5_000)));
    expect(answers.map((a) => a.status)).to.deep.equal([503, 503]);
  });

  it('a batch answer with the wrong number of entries is no credential for anyone (502)', async () => {
    const { instance } = batcher(() => ({ status: 200, data: { answers: [{ credential: 'only-one' }] } }));
    const answers = await Promise.all([1, 2].map((n) => instance.request('atacama', ask(n), Date.now() + 5_000)));
    expect(answers.map((a) => a.status)).to.deep.equal([502, 502]);
  });

  it('a home without the batch endpoint (404) is asked one request at a time from then on', async () => {
    const { instance, sent } = batcher((s) => (s.path === CREDENTIAL_BATCH_PATH ? { status: 404, data: {} } : { status: 200, data: { credential: `cred-${s.body.bookingId}` } }));
    const answers = await Promise.all([1, 2].map((n) => instance.request('atacama', ask(n), Date.now() + 5_000)));
    expect(answers.map((a) => (a.data as { credential: string }).credential)).to.deep.equal(['cred-mauna-kea.b1', 'cred-mauna-kea.b2']);
    await instance.request('atacama', ask(3), Date.now() + 5_000);
    expect(sent.map((s) => s.path)).to.deep.equal([CREDENTIAL_BATCH_PATH, CREDENTIALS_PATH, CREDENTIALS_PATH, CREDENTIALS_PATH]);
  });

  it('a transport failure is retried while the request\'s deadline allows, then reported', async () => {
    let calls = 0;
    const { instance } = batcher((s) => {
      calls += 1;
      if (calls === 1) throw new Error('connection refused');
      return credentialsFor(s);
    }, { attemptsMax: 3 });
    const answer = await instance.request('atacama', ask(1), Date.now() + 5_000);
    expect(answer.status).to.equal(200);
    const failing = batcher(() => Promise.reject(new Error('connection refused')), { attemptsMax: 3 });
    const error = await failing.instance.request('atacama', ask(2), Date.now() - 1).then(() => undefined, (e: Error) => e);
    expect(error?.message).to.contain('connection refused');
    expect(failing.sent.length, 'no retry past the deadline').to.equal(1);
  });

  it('with batching off (PEER_BATCHING=false), one request per credential at the single endpoint', async () => {
    const { instance, sent } = batcher((s) => ({ status: 200, data: { credential: `cred-${s.body.bookingId}` } }), { batching: false });
    await Promise.all([1, 2].map((n) => instance.request('atacama', ask(n), Date.now() + 5_000)));
    expect(sent.map((s) => s.path)).to.deep.equal([CREDENTIALS_PATH, CREDENTIALS_PATH]);
  });
});
