// The simulator's command line.
//   npm run sim -- --seed N            replay one seed with its readable trace
//   npm run sim -- --seeds K [--from S] soak K seeds from S (default 1); exit 1 on a failure
//   --bug forgetful-participant|forgetful-coordinator|lying-disk|swept-changes|writer-continues-after-failure|cancel-dies-behind-own-booking|uncapped-timers
//         |early-commit|blind-leader|forgetful-acceptor|acceptor-ignores-horizon
//                                      break the nodes on purpose (to see the checker bite)
import { pathToFileURL } from 'node:url';
import { runSimulation, type RunOptions } from './simulator.js';
import { BUG_HOOKS, type BugHook } from './sim-node.js';

interface CliArguments {
  seed?: number;
  seeds?: number;
  from: number;
  bug: BugHook;
  quiet: boolean;
}


function parseArguments(argv: string[]): CliArguments {
  const args: CliArguments = { from: 1, bug: 'none', quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (flag === '--quiet') {
      args.quiet = true;
      continue;
    }
    if (value === undefined) throw new Error(`${flag} needs a value`);
    i++;
    if (flag === '--seed') args.seed = toInteger(flag, value);
    else if (flag === '--seeds') args.seeds = toInteger(flag, value);
    else if (flag === '--from') args.from = toInteger(flag, value);
    else if (flag === '--bug' && BUG_HOOKS.includes(value as BugHook)) args.bug = value as BugHook;
    else throw new Error(`unknown argument ${flag} ${value}`);
  }
  if ((args.seed === undefined) === (args.seeds === undefined)) throw new Error('give either --seed N or --seeds K');
  return args;
}

function toInteger(flag: string, value: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number < 0) throw new Error(`${flag} needs a non-negative integer, not ${value}`);
  return number;
}

function replayCommand(seed: number, bug: BugHook): string {
  return `npm run sim -- --seed ${seed}${bug === 'none' ? '' : ` --bug ${bug}`}`;
}

async function replay(args: CliArguments & { seed: number }): Promise<boolean> {
  const options: RunOptions = { seed: args.seed, bug: args.bug, trace: !args.quiet };
  if (!args.quiet) options.onTraceLine = (line) => console.log(line);
  const result = await runSimulation(options);
  if (result.violation) {
    console.error(`\nFAILED seed ${args.seed}: ${result.violation}`);
    return false;
  }
  console.log(`\nseed ${args.seed} passed: ${JSON.stringify(result.stats)}`);
  return true;
}

async function soak(args: CliArguments & { seeds: number }): Promise<boolean> {
  const started = performance.now();
  const totals = { steps: 0, begun: 0, committed: 0, crashes: 0 };
  const last = args.from + args.seeds - 1;
  for (let seed = args.from; seed <= last; seed++) {
    const result = await runSimulation({ seed, bug: args.bug });
    if (result.violation) {
      console.error(`\nFAILED seed ${seed}: ${result.violation}`);
      console.error(`replay it with: ${replayCommand(seed, args.bug)}`);
      return false;
    }
    for (const key of Object.keys(totals) as Array<keyof typeof totals>) totals[key] += result.stats[key];
    const done = seed - args.from + 1;
    if (done % 100 === 0 || seed === last) {
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`${done}/${args.seeds} seeds passed (up to seed ${seed}) in ${seconds} s: ${JSON.stringify(totals)}`);
    }
  }
  return true;
}

async function main(): Promise<void> {
  let args: CliArguments;
  try {
    args = parseArguments(process.argv.slice(2));
  } catch (error) {
    console.error(`${(error as Error).message}\nusage: npm run sim -- --seed N | --seeds K [--from S] [--bug ${BUG_HOOKS.join('|')}] [--quiet]`);
    process.exit(2);
  }
  const passed = args.seed !== undefined ? await replay({ ...args, seed: args.seed }) : await soak({ ...args, seeds: args.seeds! });
  process.exitCode = passed ? 0 : 1;
}

// Only when run as a program: mocha, given this directory, loads this file too.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
