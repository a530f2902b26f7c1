// Reading a node's store directly, on either engine.
export * from '../../federation-node/src/local/store-query.js';
