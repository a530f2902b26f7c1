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
import DailyRotateFile from 'winston-daily-rotate-file';

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
  /** Rotation of the files (docs/LOGGING.md); without it, one growing file per stream. */
  rotation?: LogRotation;
}

export interface LogRotation {
  /** LOG_FILE_MAX_MB, in bytes: a file is closed and a new one begun at this size. */
  fileMaxBytes: number;
  /** LOG_FILES_MAX: files kept per stream; the oldest beyond it are deleted. */
  filesMax: number;
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
 * A file and, optionally, stdout. Stdout lines are written synchronously (sonic-boom, sync
 * mode): a line is out before the node goes on, even if it is killed the next instant. The
 * file rotates (winston-daily-rotate-file): a new file every UTC day and whenever one reaches
 * LOG_FILE_MAX_MB, at most LOG_FILES_MAX kept; `<service>.app.log` / `.audit.jsonl` is a
 * symbolic link to the current file.
 */
// sonic-boom is CommonJS (module.exports = SonicBoom) and its typings describe a default export.
const SonicBoom = createRequire(import.meta.url)('sonic-boom') as new (options: SonicBoomOpts) => SonicBoomType;

function destinations(options: LoggingOptions, suffix: string): winston.transport[] {
  const stdout = options.toStdout ? [new winston.transports.Stream({ stream: asWritable(new SonicBoom({ fd: 1, sync: true })) })] : [];
  const current = `${options.service}.${suffix}`;
  if (!options.rotation) {
    const file = new SonicBoom({ dest: path.join(options.logDir, current), sync: true, mkdir: true, append: true });
    return [new winston.transports.Stream({ stream: asWritable(file) }), ...stdout];
  }
  const extension = path.extname(suffix);
  const rotating = new DailyRotateFile({
    dirname: options.logDir,
    filename: `${options.service}.${path.basename(suffix, extension)}-%DATE%`,
    extension,
    datePattern: 'YYYY-MM-DD',
    utc: true,
    maxSize: options.rotation.fileMaxBytes,
    maxFiles: options.rotation.filesMax,
    createSymlink: true,
    symlinkName: current,
    auditFile: path.join(options.logDir, `.${current}.rotation.json`),
  });
  // A log file that cannot be written (disk full) must not crash the node: say so once on stderr.
  let reported = false;
  (rotating as unknown as { logStream: NodeJS.EventEmitter }).logStream.on('error', (error: Error) => {
    if (!reported) process.stderr.write(`ERROR:${new Date().toISOString()}:${options.service}:cannot write ${current}: ${error.message}\n`);
    reported = true;
  });
  return [rotating, ...stdout];
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

/** How long closing the loggers may wait for their files to be written out (a full disk must not hold up a stop). */
const LOG_CLOSE_MAX_MS = 2_000;

/**
 * Resolves once every line is in its file: the logger's own 'finish' comes before a rotating
 * file has written what it was handed (the last lines of a stop were lost), so wait for each
 * file stream to finish too (winston-daily-rotate-file ends it when the logger ends).
 */
function closeLogger(logger: winston.Logger): Promise<void> {
  const files = logger.transports
    .filter((transport) => transport instanceof DailyRotateFile)
    .map((transport) => new Promise<void>((resolve) => (transport as unknown as { logStream: NodeJS.EventEmitter }).logStream.once('finish', () => resolve())));
  return new Promise((resolve) => {
    void Promise.all([new Promise<void>((finished) => logger.once('finish', () => finished())), ...files]).then(() => resolve());
    logger.end();
    setTimeout(resolve, LOG_CLOSE_MAX_MS).unref();
  });
}
