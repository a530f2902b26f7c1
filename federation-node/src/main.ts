// Runs one observatory node. Configuration comes from the environment (see .env.example).
//   NODE_ID=atacama FEDERATION_PEERS=atacama=http://127.0.0.1:7101,... node dist/federation-node/src/main.js
import { ConfigError, loadConfig } from './config/config.js';
import { runActiveStandby } from './ha/active-standby.js';
import { startNode } from './node.js';
import { ownerOnlyFromNowOn } from './security/file-permissions.js';
import { STORE_DAMAGED_EXIT_CODE, StoreDamagedError } from './storage/store-check.js';

async function main(): Promise<void> {
  ownerOnlyFromNowOn(); // databases, logs and keys this process writes: 0600 files, 0700 folders
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  // One of an active/standby pair: a standby until it takes the lease (ha/active-standby.ts).
  const running = config.ACTIVE_STANDBY
    ? await runActiveStandby(config, startNode, (url) => process.send?.({ type: 'standby', url, nodeId: config.NODE_ID }))
    : { node: await startNode(config), stop: undefined };
  const node = running.node;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    node.parts.loggers.app.info(`${signal} received: stopping gracefully`);
    (running.stop ? running.stop() : node.stop()).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Tell a supervising process (npm start, the tests) where we listen.
  process.send?.({ type: 'listening', url: node.url, nodeId: config.NODE_ID });
}

main().catch((error: unknown) => {
  if (error instanceof StoreDamagedError) {
    process.stderr.write(`FATAL:${new Date().toISOString()}:${error.message}\n`);
    process.exit(STORE_DAMAGED_EXIT_CODE);
  }
  process.stderr.write(`FATAL:${new Date().toISOString()}:could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
