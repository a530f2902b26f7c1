// The inter-node protocol over REST (docs/PROTOCOL.md): the adapter that checks each message
// and feeds it into the protocol engine. The HTTP answer carries the reply (vote, ack, outcome).
import Router from '@koa/router';
import type { Context } from 'koa';
import { DecisionMessage, NodeId, PrepareMessage, TxId } from '../../../coordinator-2pc/src/index.js';
import type { ReplyMessage, RequestMessage } from '../../../coordinator-2pc/src/index.js';
import { PartPayload } from '../domain/slot-table.js';
import { FEDERATION_PREFIX } from '../federation/peer-client.js';
import type { NodeParts } from '../node-parts.js';
import { readJson, validate } from './body.js';
import { HttpProblem } from './problem.js';

export function federationRoutes(parts: NodeParts): Router {
  const router = new Router({ prefix: FEDERATION_PREFIX });
  const bodyLimit = { bytesMax: parts.config.BODY_BYTES_MAX };

  router.post('/transactions/:txId/prepare', async (ctx) => {
    const { value: prepare } = await readJson(ctx, PrepareMessage, bodyLimit, 'the prepare message');
    checkTxPath(ctx, prepare.txId);
    checkMember(parts, prepare.coordinatorId);
    if (prepare.txId.split('.')[0] !== prepare.coordinatorId) throw new HttpProblem('invalid-request', 'a transaction id starts with its coordinator\'s id');
    if (!prepare.participants.includes(parts.directory.selfId)) throw new HttpProblem('invalid-request', `the participants do not include ${parts.directory.selfId}`);
    const part = validate(PartPayload, prepare.payload, 'the prepare payload');
    const foreign = part.items.filter((i) => parts.directory.telescopes.get(i.telescopeId)?.observatoryId !== parts.directory.selfId);
    if (foreign.length > 0) {
      throw new HttpProblem('forbidden', `${parts.directory.selfId} does not own ${[...new Set(foreign.map((i) => i.telescopeId))].join(', ')}`);
    }
    await answer(ctx, parts, prepare);
  });

  for (const [path, type] of [['commit', 'commit'], ['release', 'abort']] as const) {
    router.post(`/transactions/:txId/${path}`, async (ctx) => {
      const { value: decision } = await readJson(ctx, DecisionMessage, bodyLimit, `the ${path} message`);
      if (decision.type !== type) throw new HttpProblem('invalid-request', `the ${path} endpoint takes a message of type "${type}"`);
      checkTxPath(ctx, decision.txId);
      checkMember(parts, decision.from);
      if (decision.txId.split('.')[0] !== decision.from) throw new HttpProblem('forbidden', `only the coordinator ${decision.txId.split('.')[0]} may decide ${decision.txId}`);
      await answer(ctx, parts, decision);
    });
  }

  router.get('/transactions/:txId/outcome', async (ctx) => {
    const txId = validate(TxId, ctx.params.txId, 'the transaction id');
    const from = validate(NodeId, ctx.query.from, 'the `from` query parameter');
    checkMember(parts, from);
    if (txId.split('.')[0] !== parts.directory.selfId) throw new HttpProblem('not-found', `${txId} is not coordinated by ${parts.directory.selfId}`);
    await answer(ctx, parts, { type: 'status-query', txId, from });
  });

  router.get('/transactions/:txId', (ctx) => {
    const txId = validate(TxId, ctx.params.txId, 'the transaction id');
    const asCoordinator = txId.split('.')[0] === parts.directory.selfId ? parts.engine.coordinator.outcomeOf(txId) : undefined;
    const asParticipant = parts.engine.participant.view(txId);
    if (!asCoordinator && !asParticipant) throw new HttpProblem('not-found', `${parts.directory.selfId} has no record of ${txId} in memory`);
    ctx.body = { txId, observatory: parts.directory.selfId, coordinatorOutcome: asCoordinator ?? null, participant: asParticipant ?? null };
  });

  return router;
}

async function answer(ctx: Context, parts: NodeParts, message: RequestMessage): Promise<void> {
  const reply: ReplyMessage | undefined = await parts.engine.handleRequest(message);
  if (!reply) throw new HttpProblem('not-prepared', `${message.txId} is not prepared at ${parts.directory.selfId}; nothing to ${message.type}`);
  ctx.body = reply;
}

function checkTxPath(ctx: Context, bodyTxId: string): void {
  if (ctx.params.txId !== bodyTxId) throw new HttpProblem('invalid-request', `the path names ${ctx.params.txId} but the message is about ${bodyTxId}`);
}

function checkMember(parts: NodeParts, node: string): void {
  if (!parts.directory.members.has(node)) throw new HttpProblem('forbidden', `${node} is not a member of this federation`);
}
