// Calls with the same key while one is still unanswered share its answer ("single flight").
// The peer client uses it so that a protocol request repeated before the first is answered (a
// decision resent while the first is slow) does not go out twice: every handler is idempotent.
export class SingleFlight<T> {
  private readonly unanswered = new Map<string, Promise<T>>();

  run(key: string, call: () => Promise<T>): Promise<T> {
    const pending = this.unanswered.get(key);
    if (pending) return pending;
    const answer = call().finally(() => this.unanswered.delete(key));
    this.unanswered.set(key, answer);
    return answer;
  }
}
