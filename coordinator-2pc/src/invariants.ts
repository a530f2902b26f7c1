// Assertions on state transitions. A failed assertion is a bug in this process, never bad
// input: network input is checked before it reaches a core, and the cores ignore what they
// cannot use. The driver treats a thrown ProtocolInvariantError as fatal (fail-stop).
export class ProtocolInvariantError extends Error {
  override name = 'ProtocolInvariantError';
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ProtocolInvariantError(message);
}

/** Wait-die order: the transaction that asked first is older; ties broken by id. */
export function isOlder(
  a: { timestampMs: number; txId: string },
  b: { timestampMs: number; txId: string },
): boolean {
  if (a.timestampMs !== b.timestampMs) return a.timestampMs < b.timestampMs;
  return a.txId < b.txId;
}
