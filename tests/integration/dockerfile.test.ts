// The Dockerfile and .dockerignore, read statically (no Docker engine runs here): multi-stage,
// sqlite3 built from source, production dependencies only, a non-root user, the documented command.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const COMPOSE_FILE = 'docker-compose.yml';
const NODE_MAIN = 'dist/federation-node/src/main.js';

interface Instruction {
  keyword: string;
  args: string;
}

function dockerfileStages(): Instruction[][] {
  const text = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
  const stages: Instruction[][] = [];
  for (const line of logical) {
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const instruction = { keyword: m[1]!.toUpperCase(), args: m[2]! };
    if (instruction.keyword === 'FROM') stages.push([]);
    if (instruction.keyword === 'ARG' && stages.length === 0) continue; // global build arguments
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

describe('deployment: Dockerfile and .dockerignore', () => {
  const stages = dockerfileStages();
  const final = stages.at(-1) ?? [];
  const all = (stage: Instruction[], keyword: string) => stage.filter((i) => i.keyword === keyword).map((i) => i.args);
  const runs = stages.flatMap((s) => all(s, 'RUN')).join('\n');

  it('is multi-stage: a build stage with python3, make and g++ that runs npm ci and npm run build, then a final stage', () => {
    expect(stages.length).to.be.at.least(2);
    const build = stages[0]!;
    const buildRuns = all(build, 'RUN').join('\n');
    for (const tool of ['python3', 'make', 'g++']) expect(buildRuns).to.match(new RegExp(`apt-get install[^\\n]*\\s${tool.replace('+', '\\+')}(\\s|$)`));
    expect(buildRuns).to.match(/\bnpm ci\b/);
    expect(buildRuns).to.match(/\bnpm run build\b/);
  });

  it('compiles sqlite3 from source: no prebuilt binary is downloaded', () => {
    const env = stages[0]!.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
    expect(env).to.match(/npm_config_build_from_source=true/);
  });

  it('puts only production dependencies in the final image (npm prune --omit=dev or npm ci --omit=dev)', () => {
    expect(runs).to.match(/npm (prune|ci)\b[^\n]*--omit=dev/);
  });

  it('runs the final stage as a user that is not root, on a slim image without the build toolchain', () => {
    const users = all(final, 'USER');
    expect(users, 'a USER in the final stage').to.not.be.empty;
    expect(users.at(-1)!.split(':')[0]).to.not.be.oneOf(['root', '0']);
    expect(all(final, 'FROM')[0]).to.match(/slim/);
    expect(all(final, 'RUN').join('\n')).to.not.match(/g\+\+|apt-get install/);
  });

  it('runs the documented command: CMD ["node", "dist/federation-node/src/main.js"]', () => {
    const cmd = all(final, 'CMD').at(-1);
    expect(cmd, 'a CMD in the final stage').to.not.equal(undefined);
    expect(JSON.parse(cmd!)).to.deep.equal(['node', NODE_MAIN]);
  });

  it('lays out dist/, node_modules/, seeds/ and package.json side by side in the WORKDIR, so seeds/catalog.json resolves', () => {
    expect(all(final, 'WORKDIR'), 'a WORKDIR').to.not.be.empty;
    const destinations = all(final, 'COPY').map((args) => args.split(/\s+/).at(-1)!.replace(/^\.\//, '').replace(/\/$/, ''));
    expect(destinations).to.include.members(['dist', 'node_modules', 'seeds', 'package.json']);
  });

  it('owns the data volume (the DATA_DIR compose mounts) by the unprivileged user', () => {
    const user = all(final, 'USER').at(-1)!.split(':')[0]!;
    const volumes = all(final, 'VOLUME').join(' ');
    const dataDir = readFileSync(path.join(ROOT, COMPOSE_FILE), 'utf8').match(/DATA_DIR:\s*(\S+)/)?.[1];
    expect(dataDir, 'compose sets DATA_DIR').to.be.a('string');
    expect(volumes).to.contain(dataDir!);
    expect(all(final, 'RUN').join('\n')).to.match(new RegExp(`chown[^\\n]*\\b${user}(:${user})?\\s+${dataDir!.replace(/\//g, '\\/')}`));
  });

  it('keeps the host\'s node_modules, dist, data, .git and .env out of the build context (.dockerignore)', () => {
    const ignored = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const entry of ['node_modules', 'dist', 'data', '.git', '.env']) {
      expect(ignored.some((l) => l === entry || l === `**/${entry}`), `.dockerignore lists ${entry}`).to.equal(true);
    }
  });
});
