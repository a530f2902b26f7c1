// Test-only fault injection (issue: crash-proof). FAULT_POINTS names the moments at which this
// process must die as a power cut would: SIGKILL to itself, no cleanup, no graceful shutdown.
//   FAULT_POINTS=coordinator.decided.before-commit            the first time it is reached
//   FAULT_POINTS=participant.voted-yes@cancel                 only for a cancellation
//   FAULT_POINTS=participant.prepared.before-vote@book:3      the third time, for a booking
// Refused when DEPLOYMENT=production (see config.ts). Every hit is written to stderr first.
import { writeSync } from 'node:fs';
import { FAULT_POINTS, type FaultPoint } from '../../coordinator-2pc/src/index.js';

interface Rule {
  point: FaultPoint;
  kind: 'book' | 'cancel' | undefined;
  nth: number;
  seen: number;
}

export class FaultInjector {
  private constructor(private readonly rules: Rule[]) {}

  /** Parse FAULT_POINTS; throws with a clear message on an unknown point or a bad rule. */
  static parse(spec: string): FaultInjector {
    const rules = spec.split(',').map((s) => s.trim()).filter(Boolean).map(parseRule);
    return new FaultInjector(rules);
  }

  get enabled(): boolean {
    return this.rules.length > 0;
  }

  hit(point: FaultPoint, txId: string, kind: string | undefined): void {
    for (const rule of this.rules) {
      if (rule.point !== point || (rule.kind && rule.kind !== kind)) continue;
      rule.seen += 1;
      if (rule.seen === rule.nth) die(point, txId);
    }
  }
}

function parseRule(text: string): Rule {
  const match = /^([a-z.-]+)(?:@(book|cancel))?(?::(\d+))?$/.exec(text);
  if (!match || !(FAULT_POINTS as readonly string[]).includes(match[1]!)) {
    throw new Error(`FAULT_POINTS: "${text}" is not "<point>[@book|@cancel][:n]"; points: ${FAULT_POINTS.join(', ')}`);
  }
  return { point: match[1] as FaultPoint, kind: match[2] as Rule['kind'], nth: Number(match[3] ?? 1), seen: 0 };
}

function die(point: FaultPoint, txId: string): never {
  writeSync(2, `FAULT:${new Date().toISOString()}:fault point ${point} reached in ${txId}: killing this process (SIGKILL)\n`);
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable: SIGKILL did not stop the process');
}
