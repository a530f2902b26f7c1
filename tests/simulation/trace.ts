// The readable trace of a run: one line per event (simulated time, node, what happened).
// Lines are only built when the trace is enabled, so that soaking many seeds stays cheap.

export class Trace {
  readonly lines: string[] = [];

  constructor(
    readonly enabled: boolean,
    private readonly clockUs: () => number,
    /** Called with each line as it is made (the CLI prints as it goes). */
    private readonly sink?: (line: string) => void,
  ) {}

  /** `text` is a function so that nothing is formatted when the trace is off. */
  add(node: string, text: () => string): void {
    if (!this.enabled) return;
    const line = `${formatTime(this.clockUs())} ${node.padEnd(8)} ${text()}`;
    this.lines.push(line);
    this.sink?.(line);
  }
}

export function formatTime(timeUs: number): string {
  return `${(timeUs / 1000).toFixed(3).padStart(10)}ms`;
}
