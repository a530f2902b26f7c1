export * from '../../federation-node/src/local/federation-audit.js';
