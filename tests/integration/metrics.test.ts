// /metrics of real nodes: operator-only, Prometheus exposition that promtool accepts, figures
// that move with the work done, labels that never carry a booking or transaction id; and the
// access line every answered request writes at INFO.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { LocalFederation } from '../support/federation-harness.js';
import { federationClient, httpClient } from '../support/http-client.js';
import { item } from '../support/slots.js';

function sample(exposition: string, name: string, labels: Record<string, string>): number | undefined {
  const line = exposition.split('\n').find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('metrics: /metrics in Prometheus format and one access line per request', function () {
  this.timeout(90_000);
  let federation: LocalFederation;
  const scrape = async (node: string) => {
    const res = await httpClient(federation.url(node), federation.tokens.operators[node]).get('/metrics', { responseType: 'text' });
    expect(res.status).to.equal(200);
    return res.data as string;
  };

  before(async () => {
    federation = await LocalFederation.start({ observatories: ['atacama', 'mauna-kea'] });
  });
  after(async () => federation?.stop());

  it('refuses /metrics without this observatory\'s operator token (401 unauthenticated, 403 for a scientist or another operator)', async () => {
    expect((await httpClient(federation.url('atacama')).get('/metrics')).status).to.equal(401);
    expect((await httpClient(federation.url('atacama'), federation.tokens.scientists['vera-rubin']).get('/metrics')).status).to.equal(403);
    expect((await httpClient(federation.url('atacama'), federation.tokens.operators['mauna-kea']).get('/metrics')).status).to.equal(403);
  });

  it('counts bookings by outcome and reason, times the protocol phases, and passes promtool check metrics', async () => {
    const api = federationClient(federation, 'atacama');
    const booked = await api.post('/bookings', { scientistId: 'vera-rubin', items: [item('atacama-ut1', 30, 6), item('mauna-kea-keck1', 30, 6)] });
    expect(booked.status).to.equal(201);
    const refused = await api.post('/bookings', { scientistId: 'carl-sagan', items: [item('atacama-ut1', 30, 6)] });
    expect(refused.status).to.equal(409);
    const text = await scrape('atacama');
    expect(sample(text, 'ofed_booking_actions_total', { action: 'book', outcome: 'confirmed' })).to.equal(1);
    expect(sample(text, 'ofed_booking_actions_total', { action: 'book', outcome: 'refused', reason: 'slot-taken' })).to.equal(1);
    expect(sample(text, 'ofed_peer_request_duration_seconds_count', { peer: 'mauna-kea', message: 'prepare', result: 'answered' })).to.be.at.least(1);
    expect(sample(text, 'ofed_log_write_duration_seconds_count', { role: 'coordinator', state: 'decided' })).to.be.at.least(1);
    expect(sample(text, 'ofed_group_commit_batch_statements_count', {})).to.be.at.least(1);
    expect(sample(text, 'ofed_peer_reachable', { peer: 'mauna-kea' })).to.equal(1);
    expect(sample(text, 'ofed_http_request_duration_seconds_count', { method: 'POST', route: '/bookings', status: '201' })).to.equal(1);
    expect(text).to.match(/^nodejs_eventloop_lag_seconds\{/m);
    expect(text).to.match(/^ofed_clock_error_bound_seconds\{/m);
    expect(text, 'a label carries a booking id').not.to.contain(booked.data.id);
    // promtool (Debian's prometheus package, installed by .ci/run) lints names, types and help.
    // prom-client's own default gauges nodejs_active_{handles,requests,resources}_total break its
    // "_total only on counters" rule; every other series, ours included, must pass.
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(lint.error, 'promtool is missing: apt-get install prometheus').to.equal(undefined);
    const problems = `${lint.stdout}${lint.stderr}`.split('\n').filter((l) => l.trim() && !/^nodejs_active_(handles|requests|resources)_total /.test(l));
    expect(problems).to.deep.equal([]);
  });

  it('shows no prepared transaction and no old hold at a participant once every booking is decided', async () => {
    const text = await scrape('mauna-kea');
    expect(sample(text, 'ofed_participant_transactions', { phase: 'prepared' })).to.equal(0);
    expect(sample(text, 'ofed_participant_oldest_prepared_age_seconds', {})).to.equal(0);
  });

  it('writes one access line at INFO per answered request, refusals included, with status, duration and principal', async () => {
    const api = federationClient(federation, 'atacama');
    await api.post('/bookings', { scientistId: 'vera-rubin', items: [] }, { headers: { 'X-Request-Id': 'access-line-1' } });
    const lines = readFileSync(path.join(federation.node('atacama').dataDir, 'logs', 'atacama.app.log'), 'utf8').split('\n');
    const line = lines.find((l) => l.includes('[req=access-line-1]') && l.includes('POST /bookings'));
    expect(line, 'no access line for the refused request').to.be.a('string');
    expect(line).to.match(/^INFO:.*POST \/bookings (400|422) \d+\.\d\d ms scientist=vera-rubin$/);
  });
});
