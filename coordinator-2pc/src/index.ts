export * from './messages.js';
export * from './ports.js';
export * from './invariants.js';
export * from './participant.js';
export * from './coordinator.js';
export * from './engine.js';
export * from './durable-knowledge.js';
