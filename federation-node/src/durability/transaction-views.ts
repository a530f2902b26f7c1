// What this observatory knows of one transaction, for the operator's view and for peers: from
// memory while it is unfinished, else from the durable records, and `unknown` where the store
// cannot answer for the past (durable-knowledge.ts). A committed transaction stays committed
// after its END record, for as long as the record is kept.
import { coordinatorAnswer, recordsComplete, type DurableKnowledge, type ParticipantTxView, type StatusAnswer } from '../../../coordinator-2pc/src/index.js';
import type { NodeParts } from '../node-parts.js';

export interface LocalTransactionView {
  txId: string;
  observatory: string;
  /** Only at the transaction's coordinator: its answer to a status query now. */
  coordinatorOutcome: StatusAnswer | null;
  /** In memory while unfinished or recently finished; else the state of the durable record. */
  participant: ParticipantTxView | { phase: 'prepared' | 'committed' | 'aborted'; fromRecord: true } | null;
  /** False when this store may have lost records of the transaction (restore, new disk, pruning). */
  recordsComplete: boolean;
}

export async function knowledgeHere(parts: NodeParts, txId: string): Promise<DurableKnowledge> {
  const records = await parts.transactionLog.recordsOf(txId);
  const { identity, config } = parts;
  const horizon = { completeSinceMs: identity.completeSinceMs, completeSinceIncarnation: identity.completeSinceIncarnation, marginMs: config.STORE_CLOCK_MARGIN_MS };
  return { ...records, complete: recordsComplete(txId, parts.directory.selfId, horizon) };
}

export async function transactionViewHere(parts: NodeParts, txId: string): Promise<LocalTransactionView> {
  const selfId = parts.directory.selfId;
  const knowledge = await knowledgeHere(parts, txId);
  const coordinated = txId.split('.')[0] === selfId;
  const inMemory = coordinated ? parts.engine.coordinator.view(txId) : undefined;
  const coordinatorOutcome = !coordinated ? null : inMemory ? parts.engine.coordinator.outcomeOf(txId) : coordinatorAnswer(knowledge);
  const participantInMemory = parts.engine.participant.view(txId);
  const participant = participantInMemory ?? (knowledge.participantState ? { phase: knowledge.participantState, fromRecord: true as const } : null);
  return { txId, observatory: selfId, coordinatorOutcome, participant, recordsComplete: knowledge.complete };
}
