// Which URL of a member to use when the membership document lists several (an observatory run
// as an active/standby pair, docs/OPERATIONS.md). Every MEMBER_URL_PROBE_INTERVAL_MS it asks
// the URL in use for /health; when that fails or answers "standby", it asks the member's other
// URLs and switches the directory (which the peer client reads at every call) to the first
// that answers as the active. Members with one URL are never probed.
import type { Directory } from './directory.js';

export class MemberUrlProber {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly directory: Directory,
    private readonly intervalMs: number,
    private readonly onSwitch: (member: string, from: string, to: string) => void,
  ) {}

  start(): void {
    const tick = () => {
      void this.probeAll().finally(() => {
        if (this.timer !== undefined) this.timer = setTimeout(tick, this.intervalMs).unref();
      });
    };
    this.timer = setTimeout(tick, this.intervalMs).unref();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  async probeAll(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const pairs = [...this.directory.candidateUrls].filter(([id, urls]) => id !== this.directory.selfId && urls.length > 1);
      await Promise.all(pairs.map(([id, urls]) => this.probe(id, urls)));
    } finally {
      this.running = false;
    }
  }

  private async probe(member: string, urls: string[]): Promise<void> {
    const current = this.directory.urls.get(member);
    if (current !== undefined && (await this.isActive(current))) return;
    for (const url of urls) {
      if (url === current || !(await this.isActive(url))) continue;
      this.directory.urls.set(member, url);
      this.onSwitch(member, current ?? '(none)', url);
      return;
    }
  }

  private async isActive(url: string): Promise<boolean> {
    try {
      const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(Math.max(200, this.intervalMs)) });
      const body = (await response.json()) as { status?: string };
      return response.status === 200 && body.status !== 'standby';
    } catch {
      return false;
    }
  }
}
