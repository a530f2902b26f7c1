// The operator's command line (docs/OPERATIONS.md):
//   npm run ops -- transactions [--node URL]                       unfinished and in-doubt transactions
//   npm run ops -- inspect TXID [--node URL]                       what every observatory knows of one
//   npm run ops -- resolve TXID committed|aborted --reason TEXT [--node URL]
//   npm run ops -- reconciliation [--node URL]                     the store's incarnation and reconciliation
//   npm run ops -- override-reconciliation --reason TEXT [--node URL]
// The operator's API token: --token, else OFED_OPERATOR_TOKEN, else the local federation's
// keys/local-tokens.json (npm run keys) for the observatory at --node.
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import axios from 'axios';

const USAGE = `usage: npm run ops -- COMMAND [--node URL] [--token TOKEN]
commands:
  transactions                                   unfinished and in-doubt transactions at the node
  inspect TXID                                   what every observatory knows of one transaction
  resolve TXID committed|aborted --reason TEXT   force the outcome of an in-doubt transaction (heuristic, audited)
  reconciliation                                 the store's incarnation and its reconciliation with every peer
  override-reconciliation --reason TEXT          end a reconciliation that cannot finish (audited)
options:
  --node URL      the observatory to ask (default http://127.0.0.1:7101)
  --token TOKEN   its operator's API token (else OFED_OPERATOR_TOKEN, else keys/local-tokens.json)
  --help          this text
`;

const { values, positionals } = parseArgsOrExit();
const api = axios.create({ baseURL: values.node, validateStatus: () => true, timeout: 10_000 });

async function operatorToken(): Promise<string | undefined> {
  if (values.token) return values.token;
  if (process.env.OFED_OPERATOR_TOKEN) return process.env.OFED_OPERATOR_TOKEN;
  if (!existsSync('keys/local-tokens.json')) return undefined;
  const observatory = (await api.get('/')).data?.observatory?.id as string | undefined;
  return observatory ? (JSON.parse(readFileSync('keys/local-tokens.json', 'utf8')).operators?.[observatory] as string | undefined) : undefined;
}

function parseArgsOrExit() {
  try {
    const parsed = parseArgs({
      allowPositionals: true,
      options: { node: { type: 'string', default: 'http://127.0.0.1:7101' }, reason: { type: 'string' }, token: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
    if (parsed.values.help) {
      process.stdout.write(USAGE);
      process.exit(0);
    }
    return parsed;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
}

async function main(): Promise<number> {
  const token = await operatorToken();
  if (token) api.defaults.headers.common.Authorization = `Bearer ${token}`;
  const [command, ...rest] = positionals;
  if (command === 'transactions') return listTransactions();
  if (command === 'inspect' && rest[0]) return inspect(rest[0]);
  if (command === 'resolve' && rest[0] && (rest[1] === 'committed' || rest[1] === 'aborted') && values.reason) return resolve(rest[0], rest[1], values.reason);
  if (command === 'reconciliation') return showReconciliation();
  if (command === 'override-reconciliation' && values.reason) return overrideReconciliation(values.reason);
  process.stderr.write(USAGE);
  return 2;
}

async function listTransactions(): Promise<number> {
  const res = await api.get('/admin/transactions');
  if (res.status !== 200) return fail(res);
  const rows = res.data.transactions as Array<Record<string, unknown>>;
  console.log(`${res.data.observatory}: ${rows.length} unfinished transaction(s)`);
  for (const t of rows) {
    const age = `${Math.round(Number(t.ageMs) / 1000)} s`;
    const answers = t.answers ? `  answers ${Object.entries(t.answers as Record<string, string>).map(([node, answer]) => `${node}=${answer}`).join(' ')}` : '';
    const extra = t.role === 'coordinator' ? `waiting for ${(t.waitingFor as string[]).join(', ') || 'nobody'}` : `coordinator ${t.coordinatorId}${answers}`;
    console.log(`  ${t.txId}  ${t.role}  ${t.phase}  ${t.kind}  age ${age}  participants ${(t.participants as string[]).join(', ')}  ${extra}`);
    if (t.acceptor) console.log(`      this node's acceptor: ${describeAcceptor(t.acceptor as AcceptorState)}`);
    if (t.stuck) console.log(`      ${t.stuck as string}`);
  }
  return 0;
}

type AcceptorState = { promised: { round: number; node: string }; accepted?: { ballot: { round: number; node: string }; value: string } };

/** Who accepted what at which ballot (docs/PROTOCOL.md §20). */
function describeAcceptor(state: AcceptorState): string {
  const accepted = state.accepted ? `accepted ${state.accepted.value.toUpperCase()} at ballot ${state.accepted.ballot.round}/${state.accepted.ballot.node}` : 'accepted nothing';
  return `${accepted}; promised ballot ${state.promised.round}/${state.promised.node || '-'}`;
}

async function inspect(txId: string): Promise<number> {
  const res = await api.get(`/admin/transactions/${encodeURIComponent(txId)}`);
  if (res.status !== 200) return fail(res);
  for (const [id, view] of Object.entries(res.data.observatories as Record<string, Record<string, unknown>>)) {
    const what = 'participant' in view ? JSON.stringify({ coordinatorOutcome: view.coordinatorOutcome, participant: (view.participant as { phase?: string } | null)?.phase ?? null }) : `${view.unavailable ? 'unreachable' : view.status}: ${view.detail ?? ''}`;
    console.log(`  ${id}: ${what}`);
    if (view.acceptor) console.log(`      acceptor: ${describeAcceptor(view.acceptor as AcceptorState)}`);
  }
  return 0;
}

async function resolve(txId: string, outcome: string, reason: string): Promise<number> {
  const res = await api.post(`/admin/transactions/${encodeURIComponent(txId)}/resolve`, { outcome, reason });
  if (res.status !== 200) return fail(res);
  console.log(`resolved ${txId} as ${outcome} (heuristic) at ${values.node}`);
  return 0;
}

async function showReconciliation(): Promise<number> {
  const res = await api.get('/admin/reconciliation');
  if (res.status !== 200) return fail(res);
  const s = res.data;
  console.log(`${s.observatory}: store ${s.storeId}, incarnation ${s.incarnation}, complete since ${s.completeSince}`);
  console.log(`  ${s.servingBookings ? 'serving bookings' : `NOT serving bookings: reconciling (${s.required?.reason})`}${s.overridden ? `; overridden: ${s.overridden.reason}` : ''}`);
  for (const [peer, p] of Object.entries(s.peers as Record<string, { state: string; detail: string; applied: number; checked: number; conflicts: Array<{ txId: string; detail: string }> }>)) {
    console.log(`  ${peer}: ${p.state} (${p.detail}), ${p.checked} checked, ${p.applied} applied again`);
    for (const c of p.conflicts) console.log(`    ${c.txId}: ${c.detail}`);
  }
  return 0;
}

async function overrideReconciliation(reason: string): Promise<number> {
  const res = await api.post('/admin/reconciliation/override', { reason });
  if (res.status !== 200) return fail(res);
  console.log(`reconciliation of ${res.data.observatory} overridden; still waiting for: ${(res.data.overridden.pending as string[]).join(', ') || 'nobody'}`);
  return 0;
}

function fail(res: { status: number; data: unknown }): number {
  process.stderr.write(`the node answered ${res.status}: ${JSON.stringify(res.data)}\n`);
  return 1;
}

main().then((code) => process.exit(code), (error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
