// The federation's clock. Every node estimates the offset of its own clock from the time
// reference's with Cristian's algorithm over GET /time: the reference's time plus half the
// round trip, against the local time the answer arrived. Of several samples the one with
// the shortest round trip wins; half of it bounds the error. Transactions carry this time,
// so that "who asked first" means the same at every observatory.
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

  constructor(
    private readonly reference: string,
    private readonly isReference: boolean,
    private readonly fetchReferenceTime: ReferenceTimeSource,
    private readonly samplesPerSync: number,
  ) {
    if (isReference) this.errorBoundMs = 0;
  }

  /** The synchronised time, in epoch milliseconds. */
  nowMs(): number {
    return Math.round(Date.now() + this.offsetMs);
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
      this.offsetMs = best.offsetMs;
      this.errorBoundMs = best.roundTripMs / 2;
      this.lastSyncAtMs = Date.now();
      this.lastError = null;
    }
    return this.status();
  }

  /**
   * Sync now and then every `intervalMs`, until stop(). While the reference does not answer
   * (it may be starting too), try again sooner: from half a second, doubling up to the interval.
   */
  start(intervalMs: number): Promise<ClockStatus> {
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
