// The inter-node protocol over REST (docs/PROTOCOL.md): the adapter that checks each message
// and feeds it into the protocol engine. The HTTP answer carries the reply (vote, ack, outcome).
// POST /messages carries a batch of such messages (docs/PERFORMANCE.md, "Batched protocol
// messages"): each one gets exactly the checks of its own endpoint and its own reply or problem.
// Requests with fields the schema does not name are refused (400), and a prepare passes the
// participant's admission rules (peer-admission.ts) before it reaches the engine.
import Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import { AcceptMessage, BallotMessage, DecisionMessage, NodeId, PrepareMessage, StatusQueryMessage, TxId } from '../../../coordinator-2pc/src/index.js';
import { checkAcceptorRequest, checkPrepareAcceptors } from '../federation/acceptor-admission.js';
import type { ReplyMessage, RequestMessage } from '../../../coordinator-2pc/src/index.js';
import { PartPayload } from '../domain/slot-table.js';
import { BATCH_PATH, FEDERATION_PREFIX, TIME_PATH } from '../federation/peer-client.js';
import type { NodeParts } from '../node-parts.js';
import type { PartPayload as Part } from '../domain/slot-table.js';
import { readJson, validate } from './body.js';
import { signingPeer, verifyPeerRequests } from './peer-signatures.js';
import { CREDENTIALS_PATH, CredentialAsk, checkBookingCredential, vouch } from '../security/credential-exchange.js';
import { HttpProblem, type ProblemBody } from './problem.js';
import { coordinatedByPage, reconciliationPage } from '../durability/reconciliation-pages.js';
import { transactionViewHere } from '../durability/transaction-views.js';

/** Protocol requests name every field they carry: an unknown one is refused, not silently dropped. */
const StrictPrepare = z.strictObject(PrepareMessage.shape);
const StrictDecision = z.strictObject(DecisionMessage.shape);
const StrictStatusQuery = z.strictObject(StatusQueryMessage.shape);
const StrictBallot = z.strictObject(BallotMessage.shape);
const StrictAccept = z.strictObject(AcceptMessage.shape);

export function federationRoutes(parts: NodeParts): Router {
  const router = new Router({ prefix: FEDERATION_PREFIX });
  const bodyLimit = { bytesMax: parts.config.BODY_BYTES_MAX };
  router.use(verifyPeerRequests(parts.peerAuth, parts.config.BODY_BYTES_MAX));
  router.use(parts.rateLimits.peerTraffic());
  const envelope = batchEnvelope(parts.config.PEER_BATCH_MESSAGES_MAX);

  router.post('/transactions/:txId/prepare', async (ctx) => {
    const { value: prepare } = await readJson(ctx, StrictPrepare, bodyLimit, 'the prepare message');
    checkTxPath(ctx, prepare.txId);
    await answer(ctx, parts, checkPrepare(parts, prepare, signingPeer(ctx)));
  });

  for (const [path, type] of [['commit', 'commit'], ['release', 'abort']] as const) {
    router.post(`/transactions/:txId/${path}`, async (ctx) => {
      const { value: decision } = await readJson(ctx, StrictDecision, bodyLimit, `the ${path} message`);
      if (decision.type !== type) throw new HttpProblem('invalid-request', `the ${path} endpoint takes a message of type "${type}"`);
      checkTxPath(ctx, decision.txId);
      checkDecision(parts, decision, signingPeer(ctx));
      await answer(ctx, parts, decision);
    });
  }

  /** Paxos Commit (docs/PROTOCOL.md §20): phase 1 and phase 2 of a ballot on the decision, at this node's acceptor. */
  for (const [path, schema] of [['ballot', StrictBallot], ['accept', StrictAccept]] as const) {
    router.post(`/transactions/:txId/${path}`, async (ctx) => {
      const { value: message } = await readJson(ctx, schema as typeof StrictAccept | typeof StrictBallot, bodyLimit, `the ${path} message`);
      if (message.type !== path) throw new HttpProblem('invalid-request', `the ${path} endpoint takes a message of type "${path}"`);
      checkTxPath(ctx, message.txId);
      await answer(ctx, parts, checkAcceptorRequest(parts, message, signingPeer(ctx)));
    });
  }

  router.get('/transactions/:txId/outcome', async (ctx) => {
    const txId = validate(TxId, ctx.params.txId, 'the transaction id');
    const from = validate(NodeId, ctx.query.from, 'the `from` query parameter');
    const query: StatusQueryMessage = { type: 'status-query', txId, from };
    checkStatusQuery(parts, query, signingPeer(ctx));
    await answer(ctx, parts, query);
  });

  router.post(BATCH_PATH, async (ctx) => {
    const { value: batch } = await readJson(ctx, envelope, bodyLimit, 'the message batch');
    checkSender(parts, batch.from, signingPeer(ctx));
    // Every message enters the engine in this one turn, so that their records share one group commit.
    const replies = batch.messages.map((raw, index) => replyToOne(parts, batch.from, raw, index, ctx));
    ctx.body = { replies: await Promise.all(replies) };
  });

  /** A scientist's home vouches for a booking another member coordinates (docs/PROTOCOL.md, "Credentials"). */
  router.post(CREDENTIALS_PATH, async (ctx) => {
    const { value } = await readJson(ctx, CredentialAsk, bodyLimit, 'the credential request');
    ctx.body = vouch(parts.credentials, value, signingPeer(ctx));
  });

  /** The clock reference's time for Cristian's algorithm, signed and bound to the asking request (docs/PROTOCOL.md). */
  router.get(TIME_PATH, (ctx) => {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { epochMs: parts.clock.nowMs(), observatory: parts.directory.selfId };
  });

  router.get('/transactions/:txId', async (ctx) => {
    const txId = validate(TxId, ctx.params.txId, 'the transaction id');
    const view = await transactionViewHere(parts, txId);
    if (!view.coordinatorOutcome && !view.participant) {
      const why = view.recordsComplete ? 'it never took part in it' : 'its store may have lost it (restored, replaced or pruned since): unknown';
      throw new HttpProblem('not-found', `${parts.directory.selfId} has no record of ${txId}: ${why}`);
    }
    ctx.body = view;
  });

  /**
   * Reconciliation (durability/): the committed transactions coordinated here that involve the
   * asking peer, or (`coordinated=by-you`) those it coordinated and this node took part in.
   */
  router.get('/reconciliation', async (ctx) => {
    const node = validate(NodeId, ctx.query.node, 'the `node` query parameter');
    checkSender(parts, node, signingPeer(ctx));
    const sinceMs = validate(QueryMs, ctx.query.sinceMs, 'the `sinceMs` query parameter');
    const after = ctx.query.afterTxId === undefined ? undefined : { createdAtMs: validate(QueryMs, ctx.query.afterMs, 'the `afterMs` query parameter'), txId: validate(TxId, ctx.query.afterTxId, 'the `afterTxId` query parameter') };
    const deps = { selfId: parts.directory.selfId, transactionLog: parts.transactionLog, bookings: parts.bookings, pageMax: parts.config.RECONCILIATION_PAGE_TRANSACTIONS_MAX };
    const coordinated = validate(z.enum(['here', 'by-you']).default('here'), ctx.query.coordinated, 'the `coordinated` query parameter');
    ctx.body = coordinated === 'here' ? await reconciliationPage(deps, node, sinceMs, after) : await coordinatedByPage(deps, node, sinceMs, after);
  });

  return router;
}

const QueryMs = z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

function batchEnvelope(messagesMax: number) {
  return z.strictObject({ from: NodeId, messages: z.array(z.unknown()).min(1).max(messagesMax) });
}

/**
 * One message of a batch: the checks of its single endpoint, then the engine. A message that
 * fails them gets its own problem; the others of the batch go on.
 */
async function replyToOne(parts: NodeParts, from: string, raw: unknown, index: number, ctx: Context): Promise<ReplyMessage | ProblemBody> {
  try {
    const message = checkedBatchMessage(parts, raw, `messages.${index}`, from);
    return await engineReply(parts, message);
  } catch (error) {
    if (error instanceof HttpProblem) {
      // A single endpoint's 401/403 is audited by the app's error handler; a batch entry's is audited here.
      if (error.status === 401 || error.status === 403) {
        parts.loggers.audit.event('ACCESS_REFUSED', { status: error.status, method: ctx.method, path: `${ctx.path}#messages.${index}`, address: ctx.ip, detail: error.detail });
      }
      return error.body();
    }
    parts.loggers.app.error(`batch message ${index} from ${from} failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`);
    return new HttpProblem('internal-error', 'the node could not handle this message; it has been logged').body();
  }
}

function checkedBatchMessage(parts: NodeParts, raw: unknown, what: string, peer: string): RequestMessage {
  const type = (raw as { type?: unknown } | null)?.type;
  switch (type) {
    case 'prepare':
      return checkPrepare(parts, validate(StrictPrepare, raw, what), peer);
    case 'commit':
    case 'abort':
      return checkDecision(parts, validate(StrictDecision, raw, what), peer);
    case 'status-query':
      return checkStatusQuery(parts, validate(StrictStatusQuery, raw, what), peer);
    case 'ballot':
      return checkAcceptorRequest(parts, validate(StrictBallot, raw, what), peer);
    case 'accept':
      return checkAcceptorRequest(parts, validate(StrictAccept, raw, what), peer);
    default:
      throw new HttpProblem('invalid-request', `${what} is not a protocol request (type prepare, commit, abort, status-query, ballot or accept)`);
  }
}

function checkPrepare(parts: NodeParts, prepare: PrepareMessage, peer: string): PrepareMessage {
  checkSender(parts, prepare.coordinatorId, peer);
  const reconciling = parts.reconciler.refusalReason();
  if (reconciling) throw new HttpProblem('observatory-unavailable', reconciling, { reconciling: true }, { 'Retry-After': '5' });
  if (prepare.txId.split('.')[0] !== prepare.coordinatorId) throw new HttpProblem('invalid-request', 'a transaction id starts with its coordinator\'s id');
  if (!prepare.participants.includes(parts.directory.selfId)) throw new HttpProblem('invalid-request', `the participants do not include ${parts.directory.selfId}`);
  checkPrepareAcceptors(parts, prepare);
  const part = validate(PartPayload, prepare.payload, 'the prepare payload');
  const foreign = part.items.filter((i) => parts.directory.telescopes.get(i.telescopeId)?.observatoryId !== parts.directory.selfId);
  if (foreign.length > 0) {
    throw new HttpProblem('forbidden', `${parts.directory.selfId} does not own ${[...new Set(foreign.map((i) => i.telescopeId))].join(', ')}`);
  }
  parts.admission.authorize(prepare, part);
  if (prepare.kind === 'book') checkBookingCredential(parts.credentials, prepare.txId, part, peer);
  return { ...prepare, payload: part };
}

function checkDecision(parts: NodeParts, decision: DecisionMessage, peer: string): DecisionMessage {
  checkSender(parts, decision.from, peer);
  if (decision.txId.split('.')[0] !== decision.from) throw new HttpProblem('forbidden', `only the coordinator ${decision.txId.split('.')[0]} may decide ${decision.txId}`);
  if (decision.type === 'abort') parts.admission.admitAbort(decision);
  return decision;
}

function checkStatusQuery(parts: NodeParts, query: StatusQueryMessage, peer: string): StatusQueryMessage {
  checkSender(parts, query.from, peer);
  // Not coordinated here: another participant in doubt asks this one (cooperative termination).
  return query;
}

async function answer(ctx: Context, parts: NodeParts, message: RequestMessage): Promise<void> {
  ctx.body = await engineReply(parts, message);
}

/** A prepare's payload was checked by checkPrepare (it is a Part); the admission may vote no in the engine's stead. */
async function engineReply(parts: NodeParts, message: RequestMessage): Promise<ReplyMessage> {
  const refusal = message.type === 'prepare' ? parts.admission.admit(message, message.payload as Part) : undefined;
  if (refusal) return refusal;
  const reply: ReplyMessage | undefined = await parts.engine.handleRequest(message);
  if (!reply) throw new HttpProblem('not-prepared', `${message.txId} is not prepared at ${parts.directory.selfId}; nothing to ${message.type}`);
  return reply;
}

function checkTxPath(ctx: Context, bodyTxId: string): void {
  if (ctx.params.txId !== bodyTxId) throw new HttpProblem('invalid-request', `the path names ${ctx.params.txId} but the message is about ${bodyTxId}`);
}

/** The message says who sent it; the signature says who did. They must agree. */
function checkSender(parts: NodeParts, claimed: string, peer: string): void {
  if (!parts.directory.members.has(claimed)) throw new HttpProblem('forbidden', `${claimed} is not a member of this federation`);
  if (claimed !== peer) throw new HttpProblem('forbidden', `the message claims to come from ${claimed} but is signed by ${peer}`);
}
