// The OpenAPI 3.1 document of the public API and of the inter-node protocol, generated from
// the zod schemas the code validates with. Served at /openapi.json; committed as
// docs/openapi.json (a test fails when the two differ: `npm run openapi` rewrites it).
import { z } from 'zod';
import { AcceptedMessage, AcceptMessage, AckMessage, BallotMessage, DecisionMessage, NodeId, PrepareMessage, PromiseMessage, StatusQueryMessage, StatusReplyMessage, VoteMessage } from '../../../coordinator-2pc/src/index.js';
import { BookingView, CreateBookingRequest } from '../bookings/booking-schemas.js';
import { PartPayload } from '../domain/slot-table.js';
import * as api from './api-schemas.js';
import { PROBLEMS, problemTypeUri } from './problem.js';
import { OverrideRequest } from '../durability/reconciliation-routes.js';
import { ReconciliationPage } from '../durability/reconciliation-pages.js';

const COMPONENTS: Record<string, { schema: z.ZodType; io: 'input' | 'output' }> = {
  CreateBookingRequest: { schema: CreateBookingRequest, io: 'input' },
  Booking: { schema: BookingView, io: 'output' },
  BookingList: { schema: z.object({ coordinator: z.string(), bookings: z.array(BookingView), _links: z.record(z.string(), z.unknown()) }), io: 'output' },
  Problem: { schema: api.Problem, io: 'output' },
  Time: { schema: api.TimeResponse, io: 'output' },
  Observatory: { schema: api.Observatory, io: 'output' },
  ObservatoryList: { schema: api.ObservatoryList, io: 'output' },
  Telescope: { schema: api.Telescope, io: 'output' },
  TelescopeList: { schema: api.TelescopeList, io: 'output' },
  Availability: { schema: api.Availability, io: 'output' },
  Health: { schema: api.Health, io: 'output' },
  Ready: { schema: api.Ready, io: 'output' },
  UnfinishedTransactions: { schema: api.UnfinishedTransactions, io: 'output' },
  Index: { schema: z.object({ observatory: z.record(z.string(), z.unknown()), _links: z.record(z.string(), z.object({ href: z.string() })) }), io: 'output' },
  Me: { schema: z.object({ kind: z.enum(['scientist', 'operator']), scientistId: z.string().optional(), observatoryId: z.string().optional(), observatory: z.string(), _links: z.record(z.string(), z.object({ href: z.string() })) }), io: 'output' },
  EventStream: { schema: z.string().describe('`id: <boot>.<seq>` / `event: slot|booking|resync` / `data: <JSON>` frames, and `: heartbeat` comments'), io: 'output' },
  Calendar: { schema: z.string().describe('An RFC 5545 VCALENDAR with one VEVENT per booked item'), io: 'output' },
  ResolveRequest: { schema: api.ResolveRequest, io: 'input' },
  Resolved: { schema: api.Resolved, io: 'output' },
  PrepareMessage: { schema: PrepareMessage.extend({ payload: PartPayload }).strict(), io: 'input' },
  CommitMessage: { schema: DecisionMessage.extend({ type: z.literal('commit') }).strict(), io: 'input' },
  ReleaseMessage: { schema: DecisionMessage.extend({ type: z.literal('abort') }).strict(), io: 'input' },
  VoteMessage: { schema: VoteMessage, io: 'output' },
  AckMessage: { schema: AckMessage, io: 'output' },
  StatusReplyMessage: { schema: StatusReplyMessage, io: 'output' },
  BallotMessage: { schema: BallotMessage.strict(), io: 'input' },
  PromiseMessage: { schema: PromiseMessage, io: 'output' },
  AcceptMessage: { schema: AcceptMessage.strict(), io: 'input' },
  AcceptedMessage: { schema: AcceptedMessage, io: 'output' },
  TransactionView: { schema: api.TransactionView, io: 'output' },
  ReconciliationStatus: { schema: api.ReconciliationStatus, io: 'output' },
  OverrideRequest: { schema: OverrideRequest, io: 'input' },
  ReconciliationPage: { schema: ReconciliationPage, io: 'output' },
  MessageBatch: {
    schema: z.object({
      from: NodeId.describe('The sender; must be the signer'),
      messages: z.array(z.union([PrepareMessage.extend({ payload: PartPayload }), DecisionMessage, StatusQueryMessage, BallotMessage, AcceptMessage])).min(1).describe('At most PEER_BATCH_MESSAGES_MAX (64) protocol requests to this node'),
    }),
    io: 'input',
  },
  MessageBatchReplies: {
    schema: z.object({ replies: z.array(z.union([VoteMessage, AckMessage, StatusReplyMessage, PromiseMessage, AcceptedMessage, api.Problem])).describe('One per message, in order: the reply its own endpoint would give, or its problem') }),
    io: 'output',
  },
  FederationTransactionView: { schema: z.object({ txId: z.string(), observatories: z.record(z.string(), z.union([api.TransactionView, z.object({ unavailable: z.boolean(), status: z.number(), detail: z.string().nullable() })])) }), io: 'output' },
};

type ComponentName = keyof typeof COMPONENTS;

interface Operation {
  method: 'get' | 'post' | 'delete';
  path: string;
  tag: 'public' | 'protocol' | 'operations';
  summary: string;
  parameters?: Array<{ name: string; in: 'path' | 'query' | 'header'; required?: boolean; description: string; schema?: object }>;
  body?: ComponentName;
  ok: [status: number, description: string, schema?: ComponentName, contentType?: string];
  errors: Array<number | '4XX'>;
  /** A redirect this operation may answer with. */
  redirect?: [status: number, description: string];
  /** Other answers that are neither the success nor a problem (a redirect). */
  other?: Array<[status: number, description: string]>;
}

const id = (name: string, description: string) => ({ name, in: 'path' as const, required: true, description, schema: { type: 'string' } });
const query = (name: string, description: string, schema: object = { type: 'string' }) => ({ name, in: 'query' as const, description, schema });
const onBehalfOf = [
  query('scientist', 'The scientist the sender vouches for (believed only from their home observatory); or:'),
  query('operator', 'The operator the sender vouches for (believed only from that operator\'s own observatory)'),
];
const REDIRECT_TO_COORDINATOR: [number, string] = [307, 'Coordinated elsewhere, and this node may not vouch for the caller there: ask the coordinator (Location) directly'];

const OPERATIONS: Operation[] = [
  { method: 'get', path: '/time', tag: 'public', summary: 'Federation time, for Cristian\'s algorithm', ok: [200, 'The node\'s federation time and clock estimate', 'Time'], errors: [401, 429] },
  { method: 'get', path: '/observatories', tag: 'public', summary: 'The members of the federation', ok: [200, 'Every observatory', 'ObservatoryList'], errors: [401, 429] },
  { method: 'get', path: '/observatories/{id}', tag: 'public', summary: 'One observatory', parameters: [id('id', 'Observatory id')], ok: [200, 'The observatory', 'Observatory'], errors: [401, 404, 429] },
  { method: 'get', path: '/telescopes', tag: 'public', summary: 'This observatory\'s telescopes (scope=federation: every member\'s)', parameters: [query('scope', 'local (default) or federation', { type: 'string', enum: ['local', 'federation'] })], ok: [200, 'Telescopes', 'TelescopeList'], errors: [401, 429] },
  { method: 'get', path: '/telescopes/{id}', tag: 'public', summary: 'One telescope', parameters: [id('id', 'Telescope id')], ok: [200, 'The telescope', 'Telescope'], errors: [401, 404, 429] },
  { method: 'get', path: '/telescopes/{id}/availability', tag: 'public', summary: 'A telescope\'s slots in its bookable hours (307 to the owner for another observatory\'s telescope)', parameters: [id('id', 'Telescope id'), query('from', 'ISO-8601 start (default: now)'), query('to', 'ISO-8601 end (default: from + 1 day; at most AVAILABILITY_RANGE_MAX_DAYS)')], ok: [200, 'The slots', 'Availability'], redirect: [307, 'The telescope belongs to another observatory: `Location` is the same query at its owner, whose schedule it is'], errors: [400, 401, 404, 429] },
  { method: 'post', path: '/bookings', tag: 'public', summary: 'Book slots at one or several observatories, all or nothing', parameters: [{ name: 'Idempotency-Key', in: 'header', description: 'Makes a retry return the original result (1-128 of A-Z a-z 0-9 . _ : -)', schema: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,128}$' } }], body: 'CreateBookingRequest', ok: [201, 'Confirmed at every observatory', 'Booking'], errors: [400, 401, 403, 409, 413, 415, 422, 429, 503] },
  { method: 'get', path: '/bookings', tag: 'public', summary: 'Bookings this node coordinates, newest first', parameters: [query('scientist', 'Only this scientist\'s'), query('status', 'Only this status', { type: 'string', enum: ['PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED'] }), query('limit', '1-500, default 50', { type: 'integer' }), query('offset', 'default 0', { type: 'integer' })], ok: [200, 'Bookings', 'BookingList'], errors: [400, 401, 403, 429] },
  { method: 'get', path: '/bookings/{id}', tag: 'public', summary: 'A booking, answered by its coordinator (through the caller\'s home observatory, or directly)', parameters: [id('id', 'Booking id')], ok: [200, 'The booking', 'Booking'], other: [REDIRECT_TO_COORDINATOR], errors: [401, 403, 404, 429, 503] },
  { method: 'delete', path: '/bookings/{id}', tag: 'public', summary: 'Cancel: release every slot atomically; the booking stays as CANCELLED. 503: nothing changed; 504: outcome unknown, GET the booking', parameters: [id('id', 'Booking id')], ok: [200, 'Cancelled everywhere', 'Booking'], other: [REDIRECT_TO_COORDINATOR], errors: [401, 403, 404, 409, 429, 503, 504] },
  { method: 'get', path: '/health', tag: 'operations', summary: 'Liveness', ok: [200, 'The process runs', 'Health'], errors: ['4XX'] },
  { method: 'get', path: '/ready', tag: 'operations', summary: 'Readiness: database, recovery, reconciliation, peers, clock, disk, holds in doubt', ok: [200, 'Ready (or degraded: a peer is unreachable, the time reference moved too far, or a hold is in doubt too long)', 'Ready'], errors: ['4XX', 503] },
  { method: 'get', path: '/', tag: 'public', summary: 'This observatory and links to the API (a browser asking for text/html gets the web app)', ok: [200, 'The index', 'Index'], errors: [401, 429] },
  { method: 'get', path: '/events', tag: 'public', summary: 'This node\'s slot and booking changes as Server-Sent Events, resumable with Last-Event-ID (docs/API.md)', parameters: [{ name: 'Last-Event-ID', in: 'header', description: 'The id of the last event received: the stream starts with every event since (or a `resync` event)', schema: { type: 'string' } }], ok: [200, 'An endless text/event-stream of `slot`, `booking` and `resync` events, with heartbeats', 'EventStream', 'text/event-stream'], errors: [401, 429] },
  { method: 'get', path: '/me', tag: 'public', summary: 'Who the bearer token is, and their links (calendar subscription address)', ok: [200, 'The principal', 'Me'], errors: [401, 429] },
  { method: 'get', path: '/bookings.ics', tag: 'public', summary: 'The scientist\'s bookings coordinated by this node as an iCalendar feed (RFC 5545)', ok: [200, 'The calendar', 'Calendar', 'text/calendar'], errors: [401, 403, 429] },
  { method: 'get', path: '/calendars/{file}', tag: 'public', summary: 'The iCalendar feed at its subscription address (from GET /me), for calendar apps that cannot send a token', parameters: [id('file', '`<scientist id>.ics`'), { ...query('key', 'The key from the subscription address'), required: true }], ok: [200, 'The calendar', 'Calendar', 'text/calendar'], errors: [404, 429] },
  { method: 'get', path: '/admin/transactions', tag: 'operations', summary: 'Unfinished and in-doubt transactions at this node (its operator\'s token)', ok: [200, 'Transactions', 'UnfinishedTransactions'], errors: [401, 403] },
  { method: 'get', path: '/admin/transactions/{txId}', tag: 'operations', summary: 'What every observatory knows of one transaction (asked over the signed protocol)', parameters: [id('txId', 'Transaction id')], ok: [200, 'Each observatory\'s view, or why it could not be asked', 'FederationTransactionView'], errors: [400, 401, 403] },
  { method: 'post', path: '/admin/transactions/{txId}/resolve', tag: 'operations', summary: 'Force the outcome of an in-doubt transaction whose coordinator is gone for good (docs/OPERATIONS.md)', parameters: [id('txId', 'Transaction id')], body: 'ResolveRequest', ok: [200, 'Resolved (heuristic)', 'Resolved'], errors: [400, 401, 403, 409] },
  { method: 'get', path: '/admin/reconciliation', tag: 'operations', summary: 'The store\'s identity and incarnation, and its reconciliation with every peer (docs/OPERATIONS.md)', ok: [200, 'The status', 'ReconciliationStatus'], errors: [401, 403] },
  { method: 'post', path: '/admin/reconciliation/override', tag: 'operations', summary: 'End a reconciliation that cannot finish, with a reason for the audit trail', body: 'OverrideRequest', ok: [200, 'The status after the override', 'ReconciliationStatus'], errors: [400, 401, 403, 409] },
  { method: 'get', path: '/federation/v1/reconciliation', tag: 'protocol', summary: 'The committed transactions coordinated here that involve the asking node, with its part; or (coordinated=by-you) those the asking node coordinated and this node took part in, with every item and the credential', parameters: [{ ...query('node', 'The asking observatory'), required: true }, { ...query('sinceMs', 'Transactions begun at or after (epoch ms)', { type: 'integer' }), required: true }, query('coordinated', 'here (default): coordinated by the answering node; by-you: coordinated by the asking node', { type: 'string', enum: ['here', 'by-you'] }), query('afterMs', 'Cursor: createdAtMs of the last one seen', { type: 'integer' }), query('afterTxId', 'Cursor: txId of the last one seen')], ok: [200, 'One page', 'ReconciliationPage'], errors: [400, 401, 403] },
  { method: 'post', path: '/federation/v1/transactions/{txId}/prepare', tag: 'protocol', summary: 'Hold this participant\'s part and vote', parameters: [id('txId', 'Transaction id')], body: 'PrepareMessage', ok: [200, 'The vote (a no is not an error)', 'VoteMessage'], errors: [400, 401, 403, 413, 415, 429] },
  { method: 'post', path: '/federation/v1/transactions/{txId}/commit', tag: 'protocol', summary: 'The coordinator\'s commit decision', parameters: [id('txId', 'Transaction id')], body: 'CommitMessage', ok: [200, 'The acknowledgement', 'AckMessage'], errors: [400, 401, 403, 409, 429] },
  { method: 'post', path: '/federation/v1/transactions/{txId}/release', tag: 'protocol', summary: 'The coordinator\'s abort decision: release the hold', parameters: [id('txId', 'Transaction id')], body: 'ReleaseMessage', ok: [200, 'The acknowledgement', 'AckMessage'], errors: [400, 401, 403, 409, 429] },
  { method: 'post', path: '/federation/v1/transactions/{txId}/ballot', tag: 'protocol', summary: 'Paxos Commit phase 1 at this node\'s acceptor: join a strictly higher ballot and report the value accepted so far (docs/PROTOCOL.md §20)', parameters: [id('txId', 'Transaction id')], body: 'BallotMessage', ok: [200, 'The promise, or a refusal (outranked, unknown) — not an error', 'PromiseMessage'], errors: [400, 401, 403, 429] },
  { method: 'post', path: '/federation/v1/transactions/{txId}/accept', tag: 'protocol', summary: 'Paxos Commit phase 2 at this node\'s acceptor: accept a value at a ballot at least as high as the one promised, forced to disk before the answer; COMMIT only with the coordinator\'s commit proof, else 403 rule commit-proof (docs/PROTOCOL.md §20)', parameters: [id('txId', 'Transaction id')], body: 'AcceptMessage', ok: [200, 'Accepted, or a refusal (outranked, unknown, unproven) — not an error', 'AcceptedMessage'], errors: [400, 401, 403, 429] },
  { method: 'get', path: '/federation/v1/transactions/{txId}/outcome', tag: 'protocol', summary: 'Ask for the outcome: the coordinator (its records; presumed abort only where its store is complete, else unknown), or another participant (cooperative termination)', parameters: [id('txId', 'Transaction id'), { ...query('from', 'The asking observatory'), required: true }], ok: [200, 'The outcome', 'StatusReplyMessage'], errors: [400, 401, 403, 404, 429] },
  { method: 'get', path: '/federation/v1/transactions/{txId}', tag: 'protocol', summary: 'What this node knows of a transaction', parameters: [id('txId', 'Transaction id')], ok: [200, 'Its view', 'TransactionView'], errors: [401, 404, 429] },
  { method: 'get', path: '/federation/v1/time', tag: 'protocol', summary: 'The time reference\'s time for Cristian\'s algorithm, in a signed answer bound to the request ({epochMs, observatory})', ok: [200, 'The reference\'s epoch milliseconds'], errors: [401] },
  { method: 'post', path: '/federation/v1/credentials', tag: 'protocol', summary: 'Ask a scientist\'s home observatory to vouch for a booking the asking member coordinates ({scientistId, bookingId, parts, token} → {credential}; docs/PROTOCOL.md §12)', ok: [200, 'The credential (compact JWS, EdDSA)'], errors: [400, 401, 403] },
  { method: 'post', path: '/federation/v1/credentials/batch', tag: 'protocol', summary: 'Several credential requests to one home in one exchange ({asks: [...]} → {answers: [...]}, one answer per request in order: {credential} or the problem the single endpoint would have answered; at most CREDENTIAL_BATCH_ASKS_MAX; docs/PROTOCOL.md §12)', ok: [200, 'One answer per request, in order'], errors: [400, 401, 413] },
  { method: 'get', path: '/admin/membership', tag: 'operations', summary: 'The membership this node runs: version, members, the key it signs with, the keys it accepts, the last reload error', ok: [200, 'The loaded membership'], errors: [401, 403] },
  { method: 'post', path: '/admin/membership/reload', tag: 'operations', summary: 'Re-read the membership document and the signing key now (they are also polled every MEMBERSHIP_POLL_INTERVAL_MS)', ok: [200, 'The membership now loaded'], errors: [400, 401, 403] },
  { method: 'post', path: '/federation/v1/messages', tag: 'protocol', summary: 'Several protocol requests in one signed call; each gets the checks and the reply of its own endpoint (docs/PROTOCOL.md §13)', body: 'MessageBatch', ok: [200, 'One reply or problem per message, in order', 'MessageBatchReplies'], errors: [400, 401, 403, 413, 415, 429] },
  { method: 'get', path: '/federation/v1/bookings/{id}', tag: 'protocol', summary: 'A booking this node coordinates, read on behalf of the principal the signer vouches for (docs/PROTOCOL.md, "Forwarded requests")', parameters: [id('id', 'Booking id'), ...onBehalfOf], ok: [200, 'The booking', 'Booking'], errors: [400, 401, 403, 404, 429] },
  { method: 'delete', path: '/federation/v1/bookings/{id}', tag: 'protocol', summary: 'Cancel a booking this node coordinates, on behalf of the scientist the signer vouches for', parameters: [id('id', 'Booking id'), onBehalfOf[0]!], ok: [200, 'Cancelled everywhere', 'Booking'], errors: [400, 401, 403, 404, 409, 429, 503] },
];

export function openApiDocument(serverUrl?: string): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Observatory Federation',
      version: '1.0.0',
      license: { name: 'Proprietary: a private project, not offered under an open licence (package.json)', identifier: 'LicenseRef-Proprietary' },
      description: 'Atomic telescope bookings across observatories. Public API: docs/API.md; inter-node protocol: docs/PROTOCOL.md; authentication: docs/SECURITY.md (bearer API tokens for people, RFC 9421 ed25519 message signatures between observatories). Every error is RFC 9457 problem+json.',
    },
    servers: serverUrl ? [{ url: serverUrl }] : [{ url: 'http://127.0.0.1:7101', description: 'atacama in the local federation (npm start); every node serves this document with its own URL' }],
    tags: [
      { name: 'public', description: 'Scientists and their tools' },
      { name: 'protocol', description: 'Two-phase commit between observatory nodes' },
      { name: 'operations', description: 'Health and the operator\'s transaction tools' },
    ],
    paths: paths(),
    security: [],
    components: {
      securitySchemes: {
        apiToken: { type: 'http', scheme: 'bearer', description: 'A scientist\'s or an operator\'s API token (docs/SECURITY.md)' },
        peerSignature: { type: 'apiKey', in: 'header', name: 'Signature', description: 'RFC 9421 HTTP Message Signature, label "fed", alg ed25519, keyid "<observatory>:<label>" listed in the membership document, with Signature-Input and Content-Digest (docs/SECURITY.md, docs/PROTOCOL.md §12)' },
      },
      schemas: Object.fromEntries(Object.entries(COMPONENTS).map(([name, c]) => [name, jsonSchema(c.schema, c.io)])),
    },
  };
}

function paths(): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const responses: Record<string, unknown> = { [op.ok[0]]: response(op.ok[1], op.ok[2], op.ok[3] ?? 'application/json') };
    if (op.redirect) responses[op.redirect[0]] = { description: op.redirect[1], headers: { Location: { description: 'Where to ask', schema: { type: 'string' } } } };
    for (const [status, description] of op.other ?? []) responses[status] = { description, headers: { Location: { description: 'Where to ask', schema: { type: 'string' } } } };
    for (const status of op.errors) responses[status] = response(status === '4XX' ? 'Any client error, e.g. 405 Method not allowed for another method, as problem+json' : problemTitles(status), 'Problem', 'application/problem+json');
    out[op.path] ??= {};
    out[op.path]![op.method] = {
      tags: [op.tag],
      summary: op.summary,
      operationId: op.path === '/' ? 'getIndex' : `${op.method}${op.path.replace(/[{}]/g, '').replace(/[/.-](\w)/g, (_, c: string) => c.toUpperCase())}`,
      ...(op.parameters ? { parameters: op.parameters } : {}),
      ...securityOf(op),
      ...(op.body ? { requestBody: { required: true, content: { 'application/json': { schema: ref(op.body) } } } } : {}),
      responses,
    };
  }
  return out;
}

function securityOf(op: Operation): Record<string, unknown> {
  if (op.tag === 'protocol') return { security: [{ peerSignature: [] }] };
  if (op.path.startsWith('/admin') || op.path.startsWith('/bookings') || op.path === '/me') return { security: [{ apiToken: [] }] };
  return {};
}

function response(description: string, schema: ComponentName | undefined, contentType: string): unknown {
  return schema ? { description, content: { [contentType]: { schema: ref(schema) } } } : { description };
}

function problemTitles(status: number): string {
  return Object.entries(PROBLEMS).filter(([, p]) => p.status === status).map(([type, p]) => `${p.title} (${problemTypeUri(type as keyof typeof PROBLEMS)})`).join('; ');
}

function ref(name: ComponentName): { $ref: string } {
  return { $ref: `#/components/schemas/${name}` };
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { target: 'draft-2020-12', unrepresentable: 'any', io }) as Record<string, unknown>;
  return rest;
}
