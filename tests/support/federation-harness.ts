// The tests use the same local federation as `npm run demo:crash` (real processes, SIGKILL).
export * from '../../federation-node/src/local/local-federation.js';
