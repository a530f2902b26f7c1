// Cooperative termination, the rules (participant.ts carries them out). A participant in
// doubt whose coordinator does not answer, or answers `unknown`, asks the other participants
// the prepare named. Any of them that committed proves the decision was commit; any that
// aborted, or that never voted yes and now refuses the id for good, proves the coordinator
// could not have committed. A participant that is itself prepared cannot help: when every
// participant is prepared and the coordinator's decision is lost, the transaction blocks
// (docs/PROTOCOL.md, "Cooperative termination").
import type { AbortReason, NodeId, PrepareMessage, StatusQueryMessage, StatusReplyMessage, TxId } from './messages.js';
import type { DurableKnowledge, StatusAnswer } from './durable-knowledge.js';
import { invariant } from './invariants.js';
import { abortedReason, audit, type Entry, type Prepared, type Waiting } from './participant-entries.js';
import type { Effect, ParticipantRecord, ResourceManager } from './ports.js';

/** The participant core's own transitions these rules may use (participant.ts provides them). */
export interface TerminationHost {
  selfId(): NodeId;
  entry(txId: TxId): Entry | undefined;
  resources(): ResourceManager;
  finish(txId: TxId, entry: Prepared, outcome: 'committed' | 'aborted', nowMs: number): Effect[];
  refuse(prepare: PrepareMessage, nowMs: number, reason: AbortReason): Effect[];
  abandonWait(txId: TxId, entry: Waiting, nowMs: number, reason: AbortReason): Effect[];
  tombstone(txId: TxId, coordinatorId: NodeId, nowMs: number, reason: AbortReason, askedBy?: NodeId): Effect[];
  setFinished(record: ParticipantRecord): void;
}

/** What a participant does when another participant asks it about a transaction. */
export type PeerQueryAction =
  | { kind: 'answer'; outcome: StatusAnswer }
  /** Never voted yes: refuse the id for good (a tombstone), then answer aborted. */
  | { kind: 'refuse' };

export function peerQueryAction(entry: Entry | undefined, knowledge: DurableKnowledge | undefined, from: NodeId): PeerQueryAction {
  if (entry) {
    // Only the transaction's own participants may learn its outcome here or make this node refuse it.
    const named = entry.phase === 'waiting' ? entry.prepare.participants : entry.record.participants;
    if (named.length > 0 && !named.includes(from)) return { kind: 'answer', outcome: 'unknown' };
    if (entry.phase === 'waiting') return { kind: 'refuse' };
    if (entry.phase === 'prepared') return { kind: 'answer', outcome: 'pending' };
    return { kind: 'answer', outcome: entry.phase };
  }
  // Not in memory: only the records can say. Without them (or with records that may have
  // lost it) a refusal could contradict a commit this node made and forgot.
  if (!knowledge) return { kind: 'answer', outcome: 'unknown' };
  if (knowledge.participantState) return { kind: 'answer', outcome: knowledge.participantState === 'prepared' ? 'pending' : knowledge.participantState };
  return knowledge.complete ? { kind: 'refuse' } : { kind: 'answer', outcome: 'unknown' };
}

/** The other participants worth asking: everyone the prepare named but this node and the coordinator. */
export function terminationPeers(record: ParticipantRecord, selfId: NodeId): NodeId[] {
  return record.participants.filter((node) => node !== selfId && node !== record.coordinatorId);
}

/** The outcome a status reply settles for a prepared entry, or undefined when it settles nothing. */
export function settledBy(reply: StatusReplyMessage, entry: Prepared, selfId: NodeId): { outcome: 'committed' | 'aborted'; byPeer: boolean } | undefined {
  if (reply.outcome !== 'committed' && reply.outcome !== 'aborted') return undefined;
  if (reply.from === entry.record.coordinatorId) return { outcome: reply.outcome, byPeer: false };
  return terminationPeers(entry.record, selfId).includes(reply.from) ? { outcome: reply.outcome, byPeer: true } : undefined;
}

/** A status reply for a prepared entry: from its coordinator, or from another participant. */
export function onStatusReply(host: TerminationHost, reply: StatusReplyMessage, nowMs: number): Effect[] {
  const entry = host.entry(reply.txId);
  if (!entry || entry.phase !== 'prepared') return [];
  const fromCoordinator = reply.from === entry.record.coordinatorId;
  if (!fromCoordinator && !terminationPeers(entry.record, host.selfId()).includes(reply.from)) return [];
  entry.answers = { ...entry.answers, [reply.from]: reply.outcome };
  const settled = settledBy(reply, entry, host.selfId());
  if (!settled) return fromCoordinator && reply.outcome === 'unknown' ? askPeers(host, reply.txId, entry, nowMs) : [];
  const finished = host.finish(reply.txId, entry, settled.outcome, nowMs);
  if (!settled.byPeer) return finished;
  const details = { peer: reply.from, outcome: settled.outcome, coordinator: entry.record.coordinatorId, answers: entry.answers };
  return [audit('TX_TERMINATED_BY_PEER', reply.txId, details), ...finished];
}

/** Ask every other participant what it knows (audited the first time). */
export function askPeers(host: TerminationHost, txId: TxId, entry: Prepared, nowMs: number): Effect[] {
  const peers = terminationPeers(entry.record, host.selfId());
  if (peers.length === 0) return [];
  const queries: Effect[] = peers.map((to) => ({ type: 'send', to, message: { type: 'status-query', txId, from: host.selfId() } }));
  if (entry.askedPeers) return queries;
  entry.askedPeers = true;
  const details = { coordinator: entry.record.coordinatorId, peers, coordinatorAnswer: entry.answers?.[entry.record.coordinatorId] ?? 'none', preparedForMs: nowMs - entry.record.updatedAtMs };
  return [audit('TX_TERMINATION_ASKED', txId, details), ...queries];
}

/** Another participant in doubt asks what this node knows of the transaction. */
export function onPeerQuery(host: TerminationHost, query: StatusQueryMessage, nowMs: number, knowledge: DurableKnowledge | undefined): Effect[] {
  const selfId = host.selfId();
  const entry = host.entry(query.txId);
  const reply = (outcome: StatusAnswer): Effect => ({ type: 'send', to: query.from, message: { type: 'status-reply', txId: query.txId, from: selfId, outcome } });
  const action = peerQueryAction(entry, knowledge, query.from);
  if (action.kind === 'answer') return [reply(action.outcome)];
  const reason: AbortReason = { code: 'aborted', detail: `refused for good when ${query.from}, in doubt, asked for the outcome`, node: selfId };
  const refusal = entry?.phase === 'waiting' ? host.refuse(entry.prepare, nowMs, reason) : host.tombstone(query.txId, query.txId.split('.')[0]!, nowMs, reason, query.from);
  return [...refusal, reply('aborted')];
}

/**
 * Reconciliation after a restore or a new disk: apply again the outcome a peer recorded of a
 * transaction this node took part in but whose record its store has lost.
 */
export function reapply(host: TerminationHost, record: ParticipantRecord, nowMs: number): Effect[] {
  invariant(record.state !== 'prepared', 'only an outcome is applied again');
  const entry = host.entry(record.txId);
  if (entry?.phase === 'prepared') return host.finish(record.txId, entry, record.state, nowMs);
  if (entry?.phase === 'waiting') return record.state === 'aborted' ? host.abandonWait(record.txId, entry, nowMs, abortedReason()) : [];
  if (entry) return []; // finished here already
  if (record.state === 'aborted') return host.tombstone(record.txId, record.coordinatorId, nowMs, abortedReason());
  const attempt = host.resources().tryHold(record.txId, record.kind, record.payload, nowMs);
  if (!attempt.ok) return [audit('TX_REAPPLIED', record.txId, { applied: false, outcome: record.state, detail: attempt.detail })];
  const confirmed = host.resources().confirm(record.txId, record.kind, record.payload);
  const applied: ParticipantRecord = { ...record, createdAtMs: nowMs, updatedAtMs: nowMs };
  host.setFinished(applied);
  // The hold and its confirmation are written with the record they belong to, in order.
  return [{ type: 'persist-participant', record: applied, changes: [...attempt.changes, ...confirmed] }, audit('TX_REAPPLIED', record.txId, { applied: true, outcome: record.state, kind: record.kind, coordinator: record.coordinatorId })];
}
