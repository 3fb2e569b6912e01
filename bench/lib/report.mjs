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
