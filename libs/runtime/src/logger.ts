import { trace } from '@opentelemetry/api';

/** Log levels in increasing severity. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A small structured logger: one JSON object per line on stderr, or readable text. */
export interface Logger {
  debug(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
  warn(fields: object, msg: string): void;
  error(fields: object, msg: string): void;
}

export interface LoggerOptions {
  level?: LogLevel;
  format?: 'json' | 'text';
  service: string;
  write?: (line: string) => void;
}

/** Creates a logger writing JSON lines (for clusters) or short text lines (for a terminal). */
export function createLogger(options: LoggerOptions): Logger {
  const min = ORDER[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const json = (options.format ?? 'json') === 'json';
  const emit = (level: LogLevel, fields: object, msg: string) => {
    if (ORDER[level] < min) return;
    // Inside an active span (tracing on, the call made within the span's context) the line names the
    // trace and span, so logs and traces join up; with tracing off this is one call returning nothing.
    const span = trace.getActiveSpan();
    if (span !== undefined) {
      const sc = span.spanContext();
      fields = { trace_id: sc.traceId, span_id: sc.spanId, ...fields };
    }
    if (json) {
      write(
        JSON.stringify({ level, time: new Date().toISOString(), service: options.service, msg, ...fields }),
      );
    } else {
      const extra = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      write(`${level.toUpperCase().padEnd(5)} ${msg}${extra ? '  ' + extra : ''}`);
    }
  };
  return {
    debug: (f, m) => emit('debug', f, m),
    info: (f, m) => emit('info', f, m),
    warn: (f, m) => emit('warn', f, m),
    error: (f, m) => emit('error', f, m),
  };
}
