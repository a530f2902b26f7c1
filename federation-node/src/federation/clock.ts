// The federation's clock. Every node estimates the offset of its own clock from the time
// reference's with Cristian's algorithm over GET /time: the reference's time plus half the
// round trip, against the local time the answer arrived. Of several samples the one with
// the shortest round trip wins; half of it bounds the error. Transactions carry this time,
// so that "who asked first" means the same at every observatory.
//
// Clock jumps (docs/OPERATIONS.md, "Clock jumps"): the wall clock is compared with the
// monotonic clock at every check. A disagreement beyond CLOCK_JUMP_MAX_MS is this node's own
// clock jumping: the offset absorbs it at once (federation time stays continuous), the node
// says so (not ready, and it refuses new work naming itself) for CLOCK_JUMP_HOLD_MS and until
// a sync with the reference confirms its time. A jump at the reference shows at the others as
// a sudden change of the measured offset: each sync moves the offset by at most
// CLOCK_OFFSET_STEP_MAX_MS towards it and reports the rest, instead of following blindly.
import { performance } from 'node:perf_hooks';

export interface ClockSample {
  offsetMs: number;
  roundTripMs: number;
}

export interface ClockStatus {
  reference: string;
  isReference: boolean;
  offsetMs: number;
  errorBoundMs: number | null;
  lastSyncAt: string | null;
  lastError: string | null;
  samples: number;
  /** This node's own wall clock jumped against its monotonic clock (null: no jump seen). */
  ownClockJump: { jumpMs: number; detectedAt: string } | null;
  /** Set while the reference's time moved more than CLOCK_OFFSET_STEP_MAX_MS between syncs. */
  referenceWarning: string | null;
}

export interface ClockLimits {
  /** CLOCK_JUMP_MAX_MS: wall against monotonic clock, the disagreement counted as a jump. */
  jumpMaxMs: number;
  /** CLOCK_JUMP_HOLD_MS: how long a node whose clock jumped stays not ready, at least. */
  jumpHoldMs: number;
  /** CLOCK_OFFSET_STEP_MAX_MS: the most one sync changes the offset (not explained by an own jump). */
  offsetStepMaxMs: number;
}

export const DEFAULT_CLOCK_LIMITS: ClockLimits = { jumpMaxMs: 1_000, jumpHoldMs: 5_000, offsetStepMaxMs: 1_000 };

/** Whether this node's clock can be trusted for new work now, and why not. */
export interface ClockTrust {
  ok: boolean;
  detail: string;
}

/** Fetches the reference's epoch milliseconds (one GET /time). */
export type ReferenceTimeSource = () => Promise<number>;

export class FederationClock {
  private offsetMs = 0;
  private errorBoundMs: number | null = null;
  private lastSyncAtMs: number | null = null;
  private lastError: string | null = null;
  private totalSamples = 0;
  private timer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private anchor = { wallMs: Date.now(), monoMs: performance.now() };
  private jump: { jumpMs: number; detectedAt: string; monoMs: number; confirmed: boolean } | null = null;
  private referenceWarning: string | null = null;

  constructor(
    private readonly reference: string,
    private readonly isReference: boolean,
    private readonly fetchReferenceTime: ReferenceTimeSource,
    private readonly samplesPerSync: number,
    private readonly limits: ClockLimits = DEFAULT_CLOCK_LIMITS,
    /** Told of every own jump and every reference step refused (for the logs). */
    private readonly onEvent: (event: 'CLOCK_JUMP_DETECTED' | 'CLOCK_REFERENCE_STEP_LIMITED', details: Record<string, unknown>) => void = () => undefined,
  ) {
    if (isReference) this.errorBoundMs = 0;
  }

  /** The synchronised time, in epoch milliseconds. */
  nowMs(): number {
    this.checkJump();
    return Math.round(Date.now() + this.offsetMs);
  }

  /**
   * Compares the wall clock's progress with the monotonic clock's since the last check. A
   * jump is absorbed into the offset (federation time goes on as the monotonic clock does)
   * and remembered until a sync confirms the time. Cheap: two clock reads.
   */
  checkJump(): void {
    const wallMs = Date.now();
    const monoMs = performance.now();
    const jumpMs = wallMs - this.anchor.wallMs - (monoMs - this.anchor.monoMs);
    this.anchor = { wallMs, monoMs };
    if (Math.abs(jumpMs) <= this.limits.jumpMaxMs) return;
    this.offsetMs -= jumpMs;
    this.jump = { jumpMs: Math.round(jumpMs), detectedAt: new Date(wallMs - jumpMs).toISOString(), monoMs, confirmed: this.isReference };
    this.onEvent('CLOCK_JUMP_DETECTED', { jumpMs: Math.round(jumpMs), compensated: true, resyncWith: this.isReference ? null : this.reference });
    if (!this.isReference) void this.sync();
  }

  /** Not ok while this node's own clock jumped recently and no sync has confirmed its time since. */
  trust(): ClockTrust {
    this.checkJump();
    const jump = this.jump;
    if (!jump) return { ok: true, detail: 'no jump seen' };
    const heldMs = performance.now() - jump.monoMs;
    if (jump.confirmed && heldMs >= this.limits.jumpHoldMs) return { ok: true, detail: `own clock jumped ${signed(jump.jumpMs)} ms at ${jump.detectedAt}; compensated and confirmed` };
    const waitingFor = jump.confirmed ? `${Math.ceil((this.limits.jumpHoldMs - heldMs) / 1000)} s more (CLOCK_JUMP_HOLD_MS)` : `a sync with the time reference ${this.reference}`;
    return { ok: false, detail: `its own clock${this.isReference ? ' (the time reference\'s)' : ''} jumped ${signed(jump.jumpMs)} ms at ${jump.detectedAt} (wall clock against monotonic clock); federation time was kept continuous; waiting for ${waitingFor}` };
  }

  status(): ClockStatus {
    return {
      reference: this.reference,
      isReference: this.isReference,
      offsetMs: Math.round(this.offsetMs * 1000) / 1000,
      errorBoundMs: this.errorBoundMs === null ? null : Math.round(this.errorBoundMs * 1000) / 1000,
      lastSyncAt: this.lastSyncAtMs === null ? null : new Date(this.lastSyncAtMs).toISOString(),
      lastError: this.lastError,
      samples: this.totalSamples,
      ownClockJump: this.jump ? { jumpMs: this.jump.jumpMs, detectedAt: this.jump.detectedAt } : null,
      referenceWarning: this.referenceWarning,
    };
  }

  /** One round of Cristian's algorithm; keeps the best sample. Never throws. */
  async sync(): Promise<ClockStatus> {
    if (this.isReference) return this.status();
    let best: ClockSample | undefined;
    for (let i = 0; i < this.samplesPerSync; i += 1) {
      try {
        const sample = await this.sample();
        this.totalSamples += 1;
        if (!best || sample.roundTripMs < best.roundTripMs) best = sample;
      } catch (error) {
        this.lastError = `time reference ${this.reference} did not answer: ${(error as Error).message}`;
      }
    }
    if (best) {
      this.adopt(best.offsetMs);
      this.errorBoundMs = best.roundTripMs / 2;
      this.lastSyncAtMs = Date.now();
      this.lastError = null;
      if (this.jump) this.jump.confirmed = true;
    }
    return this.status();
  }

  /** The measured offset, taken whole the first time, afterwards by at most CLOCK_OFFSET_STEP_MAX_MS. */
  private adopt(measuredMs: number): void {
    const changeMs = measuredMs - this.offsetMs;
    if (this.lastSyncAtMs === null || Math.abs(changeMs) <= this.limits.offsetStepMaxMs) {
      this.offsetMs = measuredMs;
      this.referenceWarning = null;
      return;
    }
    const stepMs = Math.sign(changeMs) * this.limits.offsetStepMaxMs;
    this.offsetMs += stepMs;
    this.referenceWarning = `the time reference ${this.reference} moved ${signed(Math.round(changeMs))} ms against this node's clock since the last sync `
      + `(more than CLOCK_OFFSET_STEP_MAX_MS = ${this.limits.offsetStepMaxMs}): the reference's clock may have jumped; following by at most ${this.limits.offsetStepMaxMs} ms per sync`;
    this.onEvent('CLOCK_REFERENCE_STEP_LIMITED', { reference: this.reference, changeMs: Math.round(changeMs), appliedMs: stepMs });
  }


  /**
   * Sync now and then every `intervalMs`, until stop(). While the reference does not answer
   * (it may be starting too), try again sooner: from half a second, doubling up to the interval.
   */
  start(intervalMs: number): Promise<ClockStatus> {
    this.checkTimer = setInterval(() => this.checkJump(), 1_000);
    this.checkTimer.unref();
    if (this.isReference || intervalMs <= 0) return this.sync();
    let retryMs = 500;
    const next = (status: ClockStatus) => {
      const synced = status.lastError === null && status.lastSyncAt !== null;
      const delay = synced ? intervalMs : Math.min(retryMs, intervalMs);
      retryMs = synced ? 500 : retryMs * 2;
      this.timer = setTimeout(() => void this.sync().then(next), delay);
      this.timer.unref();
      return status;
    };
    return this.sync().then(next);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.checkTimer) clearInterval(this.checkTimer);
  }

  private async sample(): Promise<ClockSample> {
    const sentAt = performance.now();
    const localBefore = Date.now();
    const referenceMs = await this.fetchReferenceTime();
    const roundTripMs = performance.now() - sentAt;
    const localAtArrival = localBefore + roundTripMs;
    return { offsetMs: referenceMs + roundTripMs / 2 - localAtArrival, roundTripMs };
  }
}

function signed(ms: number): string {
  return ms > 0 ? `+${ms}` : String(ms);
}
