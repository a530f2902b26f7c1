// Cooperative termination, the rules (participant.ts carries them out). A participant in
// doubt whose coordinator does not answer, or answers `unknown`, asks the other participants
// the prepare named. Any of them that committed proves the decision was commit; any that
// aborted, or that never voted yes and now refuses the id for good, proves the coordinator
// could not have committed. A participant that is itself prepared cannot help: when every
// participant is prepared and the coordinator's decision is lost, the transaction blocks
// (docs/PROTOCOL.md, "Cooperative termination").
import type { NodeId, StatusReplyMessage } from './messages.js';
import type { DurableKnowledge, StatusAnswer } from './durable-knowledge.js';
import type { Entry, Prepared } from './participant-entries.js';
import type { ParticipantRecord } from './ports.js';

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
