// What this observatory knows of one transaction, for the operator's view and for peers: from
// memory while it is unfinished, else from the durable records, and `unknown` where the store
// cannot answer for the past (durable-knowledge.ts). A committed transaction stays committed
// after its END record, for as long as the record is kept.
import { coordinatorAnswer, recordsComplete, type AcceptorTxView, type CoordinatorTxView, type DurableKnowledge, type ParticipantTxView, type StatusAnswer } from '../../../coordinator-2pc/src/index.js';
import type { NodeParts } from '../node-parts.js';
import type { TransactionLog } from '../storage/transaction-log.js';
import type { StoreIdentity } from './store-identity.js';

export interface LocalTransactionView {
  txId: string;
  observatory: string;
  /** Only at the transaction's coordinator: its answer to a status query now. */
  coordinatorOutcome: StatusAnswer | null;
  /** In memory while unfinished or recently finished; else the state of the durable record. */
  participant: ParticipantTxView | { phase: 'prepared' | 'committed' | 'aborted'; fromRecord: true } | null;
  /** False when this store may have lost records of the transaction (restore, new disk, pruning). */
  recordsComplete: boolean;
  /** When this node is one of the transaction's acceptors (docs/PROTOCOL.md §20): what it promised and accepted, at which ballot. */
  acceptor?: AcceptorTxView;
  /** Only at the coordinator while the acceptors decide: the ballot it leads and who answered. */
  coordinatorBallot?: CoordinatorTxView['ballot'];
}

export interface KnowledgeSources {
  transactionLog: TransactionLog;
  /** Read live: a reconciliation that finds a gap moves its horizon forward. */
  identity: StoreIdentity;
  selfId: string;
  clockMarginMs: number;
  /** The margin this node's acceptor judges with (ACCEPTOR_CLOCK_MARGIN_MS). */
  acceptorMarginMs?: number;
}

/**
 * What the records say of one transaction, and whether they can say it all: the store is
 * complete only since its own horizon (restore, new disk) and since the prune horizon
 * (finished records deleted after their retention are "unknown", never "aborted").
 */
export async function durableKnowledge(sources: KnowledgeSources, txId: string): Promise<DurableKnowledge> {
  const [records, prunedBeforeMs] = await Promise.all([sources.transactionLog.recordsOf(txId), sources.transactionLog.pruneHorizonMs()]);
  const { identity } = sources;
  const completeSinceMs = Math.max(identity.completeSinceMs, prunedBeforeMs ?? 0);
  const horizon = { completeSinceMs, completeSinceIncarnation: identity.completeSinceIncarnation, marginMs: sources.clockMarginMs };
  const acceptorComplete = recordsComplete(txId, sources.selfId, { ...horizon, marginMs: sources.acceptorMarginMs ?? sources.clockMarginMs });
  return { ...records, complete: recordsComplete(txId, sources.selfId, horizon), acceptorComplete };
}

export function knowledgeHere(parts: NodeParts, txId: string): Promise<DurableKnowledge> {
  return durableKnowledge({ transactionLog: parts.transactionLog, identity: parts.identity, selfId: parts.directory.selfId, clockMarginMs: parts.config.STORE_CLOCK_MARGIN_MS, acceptorMarginMs: parts.config.ACCEPTOR_CLOCK_MARGIN_MS }, txId);
}

export async function transactionViewHere(parts: NodeParts, txId: string): Promise<LocalTransactionView> {
  const selfId = parts.directory.selfId;
  const knowledge = await knowledgeHere(parts, txId);
  const coordinated = txId.split('.')[0] === selfId;
  const inMemory = coordinated ? parts.engine.coordinator.view(txId) : undefined;
  const coordinatorOutcome = !coordinated ? null : inMemory ? parts.engine.coordinator.outcomeOf(txId) : coordinatorAnswer(knowledge);
  const participantInMemory = parts.engine.participant.view(txId);
  const participant = participantInMemory ?? (knowledge.participantState ? { phase: knowledge.participantState, fromRecord: true as const } : null);
  const stored = knowledge.acceptor;
  const acceptor = parts.engine.acceptor.view(txId) ?? (stored ? { txId, promised: stored.promised, acceptors: stored.acceptors, ...(stored.accepted ? { accepted: stored.accepted } : {}) } : undefined);
  const coordinatorBallot = inMemory?.ballot;
  return { txId, observatory: selfId, coordinatorOutcome, participant, recordsComplete: knowledge.complete, ...(acceptor ? { acceptor } : {}), ...(coordinatorBallot ? { coordinatorBallot } : {}) };
}

/**
 * Where an unfinished transaction stands and what it waits for, in one sentence for the
 * operator (GET /admin/transactions, npm run ops): the answers it got, the ballot it leads.
 */
export function whereStuck(view: ParticipantTxView | CoordinatorTxView): string {
  const ballot = view.ballot ? ` Ballot ${view.ballot.ballot.round}/${view.ballot.ballot.node} (${view.ballot.phase}${view.ballot.value ? `, ${view.ballot.value}` : ''}): promised by [${view.ballot.promisedBy.join(', ')}], accepted by [${view.ballot.acceptedBy.join(', ')}]${view.ballot.unknownAt.length > 0 ? `, unknown at [${view.ballot.unknownAt.join(', ')}] (their stores may have lost it)` : ''} of acceptors [${view.ballot.acceptors.join(', ')}].` : '';
  if ('waitingFor' in view) {
    if (view.phase === 'collecting') return `collecting votes; waiting for ${view.waitingFor.join(', ') || 'nobody'}.`;
    if (view.phase === 'proposing') return `commit proposed to the acceptors; waiting for a majority (missing ${view.waitingFor.join(', ')}).${ballot}`;
    return `decided ${view.phase === 'committing' ? 'commit' : 'abort'}; waiting for acknowledgements from ${view.waitingFor.join(', ')}.`;
  }
  if (view.phase === 'waiting') return 'waiting for a slot held by another transaction (wait-die).';
  if (view.phase !== 'prepared') return `${view.phase}.`;
  const answers = view.answers ? ` Last answers: ${Object.entries(view.answers).map(([node, answer]) => `${node} ${answer}`).join(', ')}.` : '';
  const acceptors = view.acceptors && view.acceptors.length > 1 ? '' : ' No acceptors: only the coordinator can decide (plain 2PC); an operator may resolve it by hand (docs/OPERATIONS.md).';
  return `in doubt: voted yes, waiting for the decision of ${view.coordinatorId}.${answers}${ballot}${acceptors}`;
}
