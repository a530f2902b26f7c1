// A free-space guard (docs/OPERATIONS.md, "Disk full"). A write that fails inside SQLite is
// fail-stop (the node exits 70: its memory and its log may disagree), so the node must stop
// admitting new writes before SQLite can meet ENOSPC. It watches the free space of its data
// directory (fs.statfs) every DISK_CHECK_INTERVAL_MS; below DISK_FREE_MIN_MB it refuses new
// writes with 503 and stays not ready, serving reads and finishing what is in flight (the
// margin is for that); above it again, it resumes by itself.
import { statfs } from 'node:fs/promises';

export interface DiskStatus {
  ok: boolean;
  detail: string;
  freeBytes: number | null;
}

export async function freeBytesOf(dir: string): Promise<number> {
  const stats = await statfs(dir);
  return stats.bavail * stats.bsize;
}

export class DiskGuard {
  private freeBytes: number | null = null;
  private low = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly dir: string,
    private readonly minFreeBytes: number,
    private readonly intervalMs: number,
    /** Told when the disk becomes low and when it recovers. */
    private readonly onChange: (low: boolean, freeBytes: number) => void,
  ) {}

  async start(): Promise<void> {
    await this.check();
    const tick = () => {
      void this.check().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.intervalMs).unref();
      });
    };
    this.timer = setTimeout(tick, this.intervalMs).unref();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** True while new writes must be refused. */
  isLow(): boolean {
    return this.low;
  }

  status(): DiskStatus {
    const free = this.freeBytes === null ? 'unknown' : `${mb(this.freeBytes)} MB free`;
    const detail = this.low
      ? `${free} in ${this.dir}, below DISK_FREE_MIN_MB = ${mb(this.minFreeBytes)}: writes are refused, reads are served`
      : `${free} in ${this.dir}`;
    return { ok: !this.low, detail, freeBytes: this.freeBytes };
  }

  /** Why writes are refused now (for a 503), or null. */
  refusal(selfId: string): string | null {
    return this.low ? `${selfId} is refusing writes: its disk is nearly full (${this.status().detail}); it resumes by itself when space returns` : null;
  }

  private async check(): Promise<void> {
    try {
      this.freeBytes = await freeBytesOf(this.dir);
    } catch {
      return; // the directory is unreadable for a moment: keep the last verdict
    }
    const low = this.freeBytes < this.minFreeBytes;
    if (low !== this.low) {
      this.low = low;
      this.onChange(low, this.freeBytes);
    }
  }
}

/**
 * At start-up, with the disk already full: wait (one log line, then quietly) until there is
 * space, instead of failing and being restarted in a loop by a supervisor.
 */
export async function waitForSpace(dir: string, minFreeBytes: number, intervalMs: number, log: (line: string) => void): Promise<void> {
  let free = await freeBytesOf(dir);
  if (free >= minFreeBytes) return;
  log(`disk nearly full at start: ${mb(free)} MB free in ${dir}, below DISK_FREE_MIN_MB = ${mb(minFreeBytes)}; waiting for space before starting (checked every ${intervalMs} ms)`);
  while (free < minFreeBytes) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    free = await freeBytesOf(dir).catch(() => 0);
  }
  log(`disk space returned (${mb(free)} MB free): starting`);
}

function mb(bytes: number): string {
  return (bytes / 1_048_576).toFixed(1);
}
