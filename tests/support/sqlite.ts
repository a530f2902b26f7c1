export * from '../../federation-node/src/local/sqlite-file.js';
