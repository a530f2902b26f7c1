// The crash-recovery demo a new user runs (npm run demo:crash) must really pass.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const DEMO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../federation-node/src/cli/crash-demo.js');

function runDemo(args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [DEMO, ...args], { timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr });
    });
  });
}

describe('npm run demo:crash', function () {
  this.timeout(90_000);

  it('kills the coordinator after its decision is on disk, shows the in-doubt holds, recovers and ends with PASS', async () => {
    const { code, output } = await runDemo([]);
    expect(output).to.contain('IN DOUBT').and.contain('held (neither free nor confirmed)');
    expect(output).to.contain('CONFIRMED (atacama confirmed, mauna-kea confirmed, la-palma confirmed)');
    expect(output).to.contain('PASS');
    expect(code).to.equal(0);
  });

  it('kills a participant that voted yes when asked to (--role participant) and still ends with PASS', async () => {
    const { code, output } = await runDemo(['--role', 'participant']);
    expect(output).to.contain('la-palma was killed (SIGKILL) at "participant.voted-yes"');
    expect(output).to.contain('PASS');
    expect(code).to.equal(0);
  });

  it('loses the coordinator for good after the acceptors chose commit (--lose-coordinator): the other two finish the booking alone and it ends with PASS', async () => {
    const { code, output } = await runDemo(['--lose-coordinator']);
    expect(output).to.contain('atacama never comes back');
    expect(output).to.match(/both committed on their own, [\d.]+ s after the coordinator was lost/);
    expect(output).to.contain('TX_CHOSEN');
    expect(output).to.contain('slot mauna-kea-keck1').and.contain('booked (confirmed)');
    expect(output).to.contain('PASS');
    expect(code).to.equal(0);
  });

  it('refuses an unknown fault point with FAIL and a non-zero exit status', async () => {
    const { code, output } = await runDemo(['--point', 'nowhere.at-all']);
    expect(output).to.contain('FAIL: unknown fault point nowhere.at-all');
    expect(code).to.equal(1);
  });
});
