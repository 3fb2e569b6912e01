// Report helpers shared by the benchmarks: loud problems, number formatting, Markdown tables,
// machine description and a child's memory.
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';

/** Every problem reported with loud() during the run, in order. */
export const problems = [];

/** Records a problem and prints it so that it cannot be missed. */
export function loud(message) {
  problems.push(message);
  console.error(`\n!!! ${message}\n`);
}

/** A number with fixed digits, or an em dash when it is not finite. */
export const fmt = (n, digits = 2) => (Number.isFinite(n) ? n.toFixed(digits) : '—');

/** A Markdown table; `columns` is `[[title, align ('l'|'r')], ...]`, rows are arrays of cell text. */
export function markdownTable(columns, rows) {
  const lines = [
    `| ${columns.map(([title]) => title).join(' | ')} |`,
    `|${columns.map(([, align]) => (align === 'r' ? '---:' : '---')).join('|')}|`,
  ];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  return lines.join('\n');
}

/** "machine: 2 cores (cpu model), node v24…, linux/x64" */
export function machineLine() {
  return `machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? 'unknown cpu'}), node ${process.version}, ${process.platform}/${process.arch}`;
}

const CLOCK_TICKS_PER_SECOND = 100;

/**
 * CPU time a process has used so far, user + system, in ms (Linux /proc; 10 ms resolution), or
 * NaN. `pid` of this process gives process.cpuUsage() instead (µs resolution).
 */
export function cpuMsOf(pid) {
  if (pid === process.pid) {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  }
  try {
    // Fields after the command name (which may hold spaces and parentheses): utime is the 14th
    // field of the line, stime the 15th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return NaN;
  }
}

/**
 * Busy and total CPU time of the whole machine so far, in ms summed over all cores (Linux
 * /proc/stat), or undefined. Busy is everything but idle and iowait: the difference of two readings
 * says how loaded the machine was in between, whoever loaded it.
 */
export function machineCpuMs() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const ticks = line.trim().split(/\s+/).slice(1, 9).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    const idle = ticks[3] + ticks[4];
    return {
      busyMs: ((total - idle) * 1000) / CLOCK_TICKS_PER_SECOND,
      totalMs: (total * 1000) / CLOCK_TICKS_PER_SECOND,
    };
  } catch {
    return undefined;
  }
}

/** Current and peak resident memory of a process in MB (Linux /proc), or undefined. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm'))?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}
