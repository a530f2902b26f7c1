// fast-check arbitraries for fuzzing the HTTP API: endpoints, ids, headers and bodies that
// range from garbage to nearly valid (so that the checks past the schema are reached too).
import fc from 'fast-check';

export interface FuzzEndpoint {
  method: 'GET' | 'POST' | 'DELETE' | 'PUT' | 'PATCH';
  path: string;
}

export const PUBLIC_ENDPOINTS: FuzzEndpoint[] = [
  { method: 'GET', path: '/time' },
  { method: 'GET', path: '/observatories/{id}' },
  { method: 'GET', path: '/telescopes?scope={id}' },
  { method: 'GET', path: '/telescopes/{id}' },
  { method: 'GET', path: '/telescopes/{id}/availability' },
  { method: 'GET', path: '/telescopes/atacama-ut1/availability?from={id}&to={id}' },
  { method: 'POST', path: '/bookings' },
  { method: 'PUT', path: '/bookings' },
  { method: 'GET', path: '/bookings?scientist={id}&limit={id}' },
  { method: 'GET', path: '/bookings/{id}' },
  { method: 'DELETE', path: '/bookings/{id}' },
  { method: 'PATCH', path: '/bookings/{id}' },
  { method: 'GET', path: '/admin/transactions' },
  { method: 'GET', path: '/admin/transactions/{id}' },
  { method: 'POST', path: '/admin/transactions/{id}/resolve' },
  { method: 'GET', path: '/{id}' },
];

export const PROTOCOL_ENDPOINTS: FuzzEndpoint[] = [
  { method: 'POST', path: '/federation/v1/transactions/{id}/prepare' },
  { method: 'POST', path: '/federation/v1/transactions/{id}/commit' },
  { method: 'POST', path: '/federation/v1/transactions/{id}/release' },
  { method: 'GET', path: '/federation/v1/transactions/{id}/outcome?from={id}' },
  { method: 'GET', path: '/federation/v1/transactions/{id}' },
  { method: 'POST', path: '/federation/v1/messages' },
  { method: 'DELETE', path: '/federation/v1/transactions/{id}/prepare' },
];

const printable = (max: number) => fc.string({ unit: fc.constantFrom(...' !"#$&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~'.split('')), maxLength: max });

/** Path segments that survive any HTTP client unchanged (for signed requests: what is signed is what arrives). */
export function fuzzSafeId(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom('atacama.abcdefgh12', 'mauna-kea.zzzzzzzzzz', 'mauna-kea.' + 'x'.repeat(70), 'x', 'MAUNA-KEA.abcdefgh12'),
    fc.stringMatching(/^[A-Za-z0-9._~-]{1,80}$/),
  );
}

/** Path segments and query values: plausible ids, unicode, malformed percent-encodings, very long ones. */
export function fuzzId(): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom('atacama', 'atacama-ut1', 'la-palma-gtc', 'atacama.abcdefgh12', 'mauna-kea.zzzzzzzzzz', 'federation', '..', '%', '%E0%A4%A', '%00', '%2F..%2F', 'local', 'vera-rubin', '0', '-1', '9999999999'),
    fc.string({ maxLength: 40 }).map(encodeURIComponent),
    fc.string({ unit: 'binary', maxLength: 20 }).map(encodeURIComponent),
    fc.integer({ min: 200, max: 3000 }).map((n) => 'x'.repeat(n)),
    printable(30).map((s) => s.replace(/[^A-Za-z0-9._~-]/g, (c) => encodeURIComponent(c))),
  );
}

/** Headers: content types, authorization, idempotency keys and request ids, valid and not. */
export function fuzzHeaders(): fc.Arbitrary<Record<string, string>> {
  return fc.record(
    {
      'Content-Type': fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/problem+json', ''),
      // Mostly absent: the token under test is added by the test; a junk one is refused early.
      Authorization: fc.oneof({ weight: 1, arbitrary: fc.constantFrom('Bearer ', 'Bearer ofed_x', 'Basic dmVyYQ==', 'bearer ofed_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa') }, { weight: 1, arbitrary: printable(80) }, { weight: 6, arbitrary: fc.constant('') }),
      'Idempotency-Key': printable(140),
      'X-Request-Id': printable(80),
      Accept: fc.constantFrom('*/*', 'application/json', 'text/html', 'application/xml'),
      Signature: printable(60),
      'Signature-Input': printable(80),
    },
    { requiredKeys: [] },
  );
}

const instant = (near: string) => fc.oneof(
  fc.constant(near),
  fc.date({ min: new Date('1960-01-01'), max: new Date('2300-01-01'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2026-13-45T99:99:99Z', 'tomorrow', '', '2026-12-01', '2026-12-01T05:00:00', '2026-12-01T05:00:00+25:00', '0'),
  fc.integer(),
);

const bookingItem = (near: string) => fc.record(
  { telescopeId: fc.oneof(fc.constantFrom('atacama-ut1', 'atacama-survey', 'mauna-kea-keck1', 'nowhere'), fc.string()), start: instant(near), end: instant(near), extra: fc.anything() },
  { requiredKeys: [] },
);

const nearlyABooking = (near: string) => fc.record(
  { scientistId: fc.oneof(fc.constantFrom('vera-rubin', 'carl-sagan', ''), fc.string(), fc.integer()), items: fc.oneof(fc.array(bookingItem(near), { maxLength: 20 }), fc.anything()), note: fc.oneof(fc.string({ maxLength: 600 }), fc.integer()) },
  { requiredKeys: [] },
);

const nearlyAProtocolMessage = (near: string) => fc.record(
  {
    type: fc.constantFrom('prepare', 'commit', 'abort', 'status-query', 'vote', 'ack', 'launch'),
    txId: fc.oneof(fc.constantFrom('mauna-kea.abcdefgh12', 'atacama.abcdefgh12', 'la-palma.12345678'), fc.string()),
    kind: fc.constantFrom('book', 'cancel', 'sell'),
    coordinatorId: fc.constantFrom('mauna-kea', 'atacama', 'andromeda', ''),
    from: fc.constantFrom('mauna-kea', 'atacama', 'andromeda'),
    participants: fc.oneof(fc.constant(['atacama']), fc.array(fc.string(), { maxLength: 20 })),
    timestampMs: fc.oneof(fc.nat(), fc.double(), fc.string()),
    deadlineMs: fc.oneof(fc.constant(Date.now() + 60_000), fc.nat(), fc.double()),
    payload: fc.oneof(nearlyABooking(near), fc.record({ bookingId: fc.string(), scientistId: fc.string(), items: fc.array(bookingItem(near), { maxLength: 5 }) }), fc.anything()),
  },
  { requiredKeys: [] },
);

/** A body: nothing, garbage text, any JSON, or nearly valid bookings and protocol messages (and batches of them). */
export function fuzzBody(near: string): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constant(undefined),
    fc.string({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 200 }),
    fc.jsonValue({ maxDepth: 4 }),
    nearlyABooking(near),
    nearlyAProtocolMessage(near),
    fc.record({ from: fc.constantFrom('mauna-kea', 'atacama'), messages: fc.array(nearlyAProtocolMessage(near), { maxLength: 8 }) }),
    fc.record({ outcome: fc.constantFrom('committed', 'aborted', 'maybe'), reason: fc.string() }, { requiredKeys: [] }),
    fc.integer({ min: 8_000, max: 20_000 }).map((n) => ({ scientistId: 'vera-rubin', note: 'n'.repeat(n) })),
  );
}
