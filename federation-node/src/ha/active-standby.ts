// Two (or more) processes of one observatory on one PostgreSQL database (ACTIVE_STANDBY=true,
// docs/OPERATIONS.md "Active/standby"). Each starts as a standby: it answers 503 naming the
// active (standby-server.ts) and polls the lease every LEASE_POLL_INTERVAL_MS. The process that
// takes the lease closes its standby answers, starts the node — store check and recovery of
// every unfinished transaction, as after any restart — and serves. While active it renews
// the lease every LEASE_RENEW_INTERVAL_MS; if the lease is found taken, or cannot be renewed
// for LEASE_DURATION_MS, it stops at once (exit 75) and its supervisor restarts it as a
// standby. Its writes are fenced by the epoch in any case (lease.ts).
import { writeSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import type { NodeConfig, Config } from '../config/config.js';
import type { RunningNode, NodeOptions } from '../node.js';
import { LeaseStore, type LeaseHolder } from './lease.js';
import { startStandbyServer } from './standby-server.js';

/** The exit code of an active that lost its lease (sysexits EX_TEMPFAIL: restart it, it comes back as a standby). */
export const LEASE_LOST_EXIT_CODE = 75;

type StartNode = (config: Config, options: NodeOptions) => Promise<RunningNode>;

export interface ActiveNode {
  node: RunningNode;
  epoch: number;
  stop(): Promise<void>;
}

export async function runActiveStandby(config: Config, startNode: StartNode, onStandby: (url: string) => void): Promise<ActiveNode> {
  const instanceId = config.INSTANCE_ID ?? `${config.NODE_ID}@${os.hostname()}:${process.pid}`;
  const say = (line: string) => process.stdout.write(`INFO:${new Date().toISOString()}:${config.NODE_ID}:${line}\n`);
  const store = await LeaseStore.open(config.DATABASE_URL!);
  const ownUrl = config.publicUrl ?? `http://${config.HOST}:${config.PORT}`;
  let seen: LeaseHolder | undefined;
  let epoch = await store.tryAcquire(instanceId, ownUrl, config.LEASE_DURATION_MS);
  if (epoch === undefined) {
    seen = await store.holder();
    const standby = await startStandbyServer(config.HOST, config.PORT, { observatory: config.NODE_ID, instanceId, holder: () => seen, leaseDurationMs: config.LEASE_DURATION_MS });
    say(`standby ${instanceId} of ${config.NODE_ID} on ${standby.url}: ${seen ? `${seen.holderId} at ${seen.holderUrl} is active (epoch ${seen.epoch})` : 'waiting for the lease'}; polling every ${config.LEASE_POLL_INTERVAL_MS} ms`);
    onStandby(standby.url);
    while (epoch === undefined) {
      await new Promise((resolve) => setTimeout(resolve, config.LEASE_POLL_INTERVAL_MS));
      epoch = await store.tryAcquire(instanceId, ownUrl, config.LEASE_DURATION_MS).catch(() => undefined);
      if (epoch === undefined) seen = await store.holder().catch(() => seen);
    }
    await standby.close();
  }
  const held = epoch;
  say(`${instanceId} took the lease of ${config.NODE_ID}: epoch ${held}${seen ? ` (after ${seen.holderId}, epoch ${seen.epoch})` : ''}; starting the node and its recovery`);
  const renewer = startRenewer(store, instanceId, held, config);
  const node = await startNode(config, { leaseFence: () => ({ epoch: held, holderId: instanceId }), leaseStatus: () => ({ epoch: held, sinceRenewalMs: renewer.sinceRenewalMs() }) }).catch(async (error: unknown) => {
    renewer.stop();
    await store.release(instanceId, held).catch(() => undefined); // a standby may do better: let it try at once
    throw error;
  });
  node.parts.loggers.audit.event('LEASE_ACQUIRED', { instanceId, epoch: held, previous: seen ? { instanceId: seen.holderId, epoch: seen.epoch } : null });
  return {
    node,
    epoch: held,
    async stop() {
      renewer.stop();
      await node.stop();
      await store.release(instanceId, held).catch(() => undefined); // the standby takes over at its next poll
      await store.close();
    },
  };
}

/** Renews the lease; stops the process at once when it is lost (taken, or not renewable in time). */
function startRenewer(store: LeaseStore, instanceId: string, epoch: number, config: NodeConfig | Config): { stop(): void; sinceRenewalMs(): number } {
  let lastRenewedAt = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    const startedAt = performance.now();
    const renewed = await store.renew(instanceId, epoch, config.LEASE_DURATION_MS).catch((error: Error) => error);
    if (renewed === true) lastRenewedAt = startedAt;
    else if (renewed === false) leaseLost(`lease epoch ${epoch} was taken over by another process of ${config.NODE_ID}`);
    else if (performance.now() - lastRenewedAt > config.LEASE_DURATION_MS) leaseLost(`lease epoch ${epoch} could not be renewed for LEASE_DURATION_MS = ${config.LEASE_DURATION_MS} ms (${renewed.message})`);
    if (timer !== undefined) timer = setTimeout(() => void tick(), config.LEASE_RENEW_INTERVAL_MS);
  };
  timer = setTimeout(() => void tick(), config.LEASE_RENEW_INTERVAL_MS);
  return {
    sinceRenewalMs: () => performance.now() - lastRenewedAt,
    stop() {
      clearTimeout(timer);
      timer = undefined;
    },
  };
}

/** Fail-stop: a process that may no longer be the active must not answer for the observatory. */
function leaseLost(why: string): never {
  writeSync(2, `FATAL:${new Date().toISOString()}:${why}; stopping at once (a supervisor restarts this process as a standby)\n`);
  process.exit(LEASE_LOST_EXIT_CODE);
}
