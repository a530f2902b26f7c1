// The operator's command line (docs/OPERATIONS.md):
//   npm run ops -- transactions [--node URL]                       unfinished and in-doubt transactions
//   npm run ops -- inspect TXID [--node URL]                       what every observatory knows of one
//   npm run ops -- resolve TXID committed|aborted --reason TEXT [--node URL]
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
    const extra = t.role === 'coordinator' ? `waiting for ${(t.waitingFor as string[]).join(', ') || 'nobody'}` : `coordinator ${t.coordinatorId}`;
    console.log(`  ${t.txId}  ${t.role}  ${t.phase}  ${t.kind}  age ${age}  participants ${(t.participants as string[]).join(', ')}  ${extra}`);
  }
  return 0;
}

async function inspect(txId: string): Promise<number> {
  const res = await api.get(`/admin/transactions/${encodeURIComponent(txId)}`);
  if (res.status !== 200) return fail(res);
  for (const [id, view] of Object.entries(res.data.observatories as Record<string, Record<string, unknown>>)) {
    const what = 'participant' in view ? JSON.stringify({ coordinatorOutcome: view.coordinatorOutcome, participant: (view.participant as { phase?: string } | null)?.phase ?? null }) : `${view.unavailable ? 'unreachable' : view.status}: ${view.detail ?? ''}`;
    console.log(`  ${id}: ${what}`);
  }
  return 0;
}

async function resolve(txId: string, outcome: string, reason: string): Promise<number> {
  const res = await api.post(`/admin/transactions/${encodeURIComponent(txId)}/resolve`, { outcome, reason });
  if (res.status !== 200) return fail(res);
  console.log(`resolved ${txId} as ${outcome} (heuristic) at ${values.node}`);
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
