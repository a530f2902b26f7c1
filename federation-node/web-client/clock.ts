// Cristian's algorithm against the node the page came from: ask GET /time several times,
// keep the sample with the shortest round trip, and take server time + round trip / 2 as the
// time at which the answer arrived. The error bound is half that round trip.

export interface ClockEstimate { offsetMs: number; errorBoundMs: number; node: { isReference: boolean; reference: string; offsetMs: number; errorBoundMs: number } }

const SAMPLES = 8;

export async function synchronise(): Promise<ClockEstimate> {
  let best: { offsetMs: number; rttMs: number; clock: ClockEstimate['node'] } | undefined;
  for (let i = 0; i < SAMPLES; i += 1) {
    const sent = performance.now();
    const answer = (await (await fetch('/time', { cache: 'no-store', headers: { Accept: 'application/json' } })).json()) as { epochMs: number; clock: ClockEstimate['node'] };
    const rttMs = performance.now() - sent;
    const offsetMs = answer.epochMs + rttMs / 2 - Date.now();
    if (!best || rttMs < best.rttMs) best = { offsetMs, rttMs, clock: answer.clock };
  }
  return { offsetMs: best!.offsetMs, errorBoundMs: best!.rttMs / 2, node: best!.clock };
}
