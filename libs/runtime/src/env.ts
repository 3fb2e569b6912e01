import type { LogLevel } from './logger';

/** Raised for a bad environment setting; the message names the variable. */
export class ConfigError extends Error {}

/** Reads an integer environment variable within bounds, or the default when unset. */
export function envInt(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max)
    throw new ConfigError(`${name}=${raw}: expected an integer from ${min} to ${max}`);
  return n;
}

/** Reads a string environment variable, or the default when unset. */
export function envString(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const raw = env[name];
  return raw === undefined || raw === '' ? fallback : raw;
}

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Reads a log level (`LOG_LEVEL`-style); throws ConfigError naming the variable and the choices. */
export function envLogLevel(env: NodeJS.ProcessEnv, name: string, fallback: LogLevel): LogLevel {
  const level = envString(env, name, fallback) as LogLevel;
  if (!LOG_LEVELS.includes(level))
    throw new ConfigError(`${name}=${level}: expected ${LOG_LEVELS.join(', ')}`);
  return level;
}
