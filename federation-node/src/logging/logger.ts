// Two streams (docs/LOGGING.md): the application log, one line per event in the form
// `LEVEL:timestamp:service:message`, and the audit trail, one JSON object per business event.
// Both go to stdout and to files. The request id (and transaction id) of the work in
// progress is carried by AsyncLocalStorage and added to every line without being passed around.
import { AsyncLocalStorage } from 'node:async_hooks';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { createRequire } from 'node:module';
import type { SonicBoom as SonicBoomType, SonicBoomOpts } from 'sonic-boom';
import winston from 'winston';

export interface LogContext {
  requestId?: string;
  txId?: string;
}

const context = new AsyncLocalStorage<LogContext>();

/** Run `fn` with this context on every log line it causes (merged with the outer one). */
export function withLogContext<T>(extra: LogContext, fn: () => T): T {
  return context.run({ ...context.getStore(), ...extra }, fn);
}

export function currentLogContext(): LogContext {
  return context.getStore() ?? {};
}

export interface AppLogger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
}

export interface AuditLogger {
  event(eventType: string, details: Record<string, unknown>, ids?: LogContext): void;
}

export interface Loggers {
  app: AppLogger;
  audit: AuditLogger;
  close(): Promise<void>;
}

export interface LoggingOptions {
  service: string;
  level: 'error' | 'warn' | 'info' | 'debug';
  logDir: string;
  toStdout: boolean;
  /** `text`: LEVEL:timestamp:service:message; `json`: one object per line, for log shippers. */
  format?: 'text' | 'json';
}

export function createLoggers(options: LoggingOptions): Loggers {
  mkdirSync(options.logDir, { recursive: true });
  const appFormat = winston.format.printf((info) => {
    const ids = [info.requestId ? `req=${String(info.requestId)}` : '', info.txId ? `tx=${String(info.txId)}` : ''].filter(Boolean).join(' ');
    return `${info.level.toUpperCase()}:${String(info.timestamp)}:${options.service}:${ids ? `[${ids}] ` : ''}${String(info.message)}`;
  });
  const jsonFormat = winston.format.printf((info) => JSON.stringify({ level: info.level.toUpperCase(), timestamp: info.timestamp, service: options.service, message: info.message, ...(info.requestId ? { requestId: info.requestId } : {}), ...(info.txId ? { txId: info.txId } : {}) }));
  const app = winston.createLogger({
    level: options.level,
    format: winston.format.combine(winston.format((info) => Object.assign(info, currentLogContext()))(), winston.format.timestamp(), options.format === 'json' ? jsonFormat : appFormat),
    transports: destinations(options, 'app.log'),
  });
  const auditFormat = winston.format.printf((info) => JSON.stringify(info.line));
  const audit = winston.createLogger({
    levels: { audit: 0 },
    level: 'audit',
    format: auditFormat,
    transports: destinations(options, 'audit.jsonl'),
  });
  return {
    app: {
      // winston formats a line before its level drops it: ask first.
      error: (m) => app.error(m),
      warn: (m) => app.isLevelEnabled('warn') && app.warn(m),
      info: (m) => app.isLevelEnabled('info') && app.info(m),
      debug: (m) => app.isLevelEnabled('debug') && app.debug(m),
    },
    audit: {
      event(eventType, details, ids) {
        const ctx = { ...currentLogContext(), ...ids };
        const line = {
          timestamp_utc: new Date().toISOString(),
          level: 'AUDIT',
          event_type: eventType,
          service: options.service,
          ...(ctx.requestId ? { request_id: ctx.requestId } : {}),
          ...(ctx.txId ? { tx_id: ctx.txId } : {}),
          details,
        };
        audit.log({ level: 'audit', message: eventType, line });
      },
    },
    close: () => Promise.all([closeLogger(app), closeLogger(audit)]).then(() => undefined),
  };
}

/**
 * A file and, optionally, stdout. Lines are written synchronously (sonic-boom, sync mode): a
 * write(2) costs a few microseconds, far less than a trip through the libuv thread pool, and
 * a line is in the file before the node goes on — even if it is killed the next instant.
 */
// sonic-boom is CommonJS (module.exports = SonicBoom) and its typings describe a default export.
const SonicBoom = createRequire(import.meta.url)('sonic-boom') as new (options: SonicBoomOpts) => SonicBoomType;

function destinations(options: LoggingOptions, suffix: string): winston.transport[] {
  const file = new SonicBoom({ dest: path.join(options.logDir, `${options.service}.${suffix}`), sync: true, mkdir: true, append: true });
  const streams = [file, ...(options.toStdout ? [new SonicBoom({ fd: 1, sync: true })] : [])];
  return streams.map((boom) => new winston.transports.Stream({ stream: asWritable(boom) }));
}

/** winston wants a stream.Writable; sonic-boom is a plain emitter with write(). */
function asWritable(boom: SonicBoomType): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      boom.write(chunk.toString());
      done();
    },
    final(done) {
      boom.end();
      done();
    },
  });
}

function closeLogger(logger: winston.Logger): Promise<void> {
  return new Promise((resolve) => {
    logger.on('finish', () => resolve());
    logger.end();
    setTimeout(resolve, 500).unref();
  });
}
