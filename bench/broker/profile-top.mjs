#!/usr/bin/env node
// Prints the functions with the most self time in a V8 .cpuprofile (as written by `node --cpu-prof`),
// with the share of sampled time, the file and line, so owners know where to look.
//
//   node bench/broker/profile-top.mjs FILE.cpuprofile [--top 25] [--by function|file|owner]
//     function  self time per function (default)
//     file      self time per file
//     owner     each sample charged to the innermost frame in apps/ or libs/ on its stack (so time
//               spent in node:http, undici or a syscall is charged to the project code that called it)
//   --own     only list frames in apps/ or libs/ (the project's own code)
//   --callers NAME  instead: the call stacks (innermost 14 frames) that lead to function NAME, by self time
// dist/apps/standalone/main.js is a bundle; with main.js.map next to it, positions are mapped back
// to the libs/*/src/*.ts source through node:module's SourceMap.
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { relative } from 'node:path';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '25' },
    by: { type: 'string', default: 'function' },
    callers: { type: 'string' },
    own: { type: 'boolean', default: false },
  },
});
if (positionals.length !== 1) {
  console.error('usage: profile-top.mjs FILE.cpuprofile [--top N] [--by function|file|owner]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parentOf = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
const self = new Map();
const deltas = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0));
}
const total = [...self.values()].reduce((a, b) => a + b, 0);

const maps = new Map();
function sourceMapFor(url) {
  if (!maps.has(url)) {
    let map;
    const file = url.startsWith('file://') ? fileURLToPath(url) : url;
    if (file.endsWith('.js') && existsSync(`${file}.map`))
      map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
    maps.set(url, map);
  }
  return maps.get(url);
}

function place(frame) {
  const { url, lineNumber, columnNumber } = frame;
  if (!url) return '(native)';
  const map = sourceMapFor(url);
  const entry = map?.findEntry(lineNumber, columnNumber);
  if (entry?.originalSource) {
    const src = entry.originalSource.startsWith('file://')
      ? fileURLToPath(entry.originalSource)
      : entry.originalSource;
    return `${relative(process.cwd(), src).replace(/^(\.\.\/)+/, '')}:${entry.originalLine + 1}`;
  }
  const file = url.startsWith('file://') ? fileURLToPath(url) : url;
  return `${file.includes('/node_modules/') ? file.slice(file.lastIndexOf('/node_modules/') + 1) : relative(process.cwd(), file) || file}:${lineNumber + 1}`;
}

const ownFile = /^(libs|apps)\//;
/** Innermost frame of project code on the stack of `id` (bounded by the stack depth). */
function owner(id) {
  for (let at = id; at !== undefined; at = parentOf.get(at)) {
    const frame = byId.get(at).callFrame;
    if (ownFile.test(place(frame))) return frame;
  }
  return byId.get(id).callFrame;
}

if (values.callers !== undefined) {
  const stacks = new Map();
  for (const [id, us] of self) {
    if (byId.get(id).callFrame.functionName !== values.callers) continue;
    const frames = [];
    for (let at = parentOf.get(id); at !== undefined && frames.length < 14; at = parentOf.get(at)) {
      const f = byId.get(at).callFrame;
      frames.push(`${f.functionName || '(anonymous)'} ${place(f)}`);
    }
    const key = frames.join('\n    <- ');
    stacks.set(key, (stacks.get(key) ?? 0) + us);
  }
  for (const [key, us] of [...stacks].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
    console.log(
      `${(us / 1000).toFixed(0)} ms (${((us / total) * 100).toFixed(1)}%) ${values.callers}\n    <- ${key}`,
    );
  }
  process.exit(0);
}

const groups = new Map();
for (const [id, us] of self) {
  const frame = values.by === 'owner' ? owner(id) : byId.get(id).callFrame;
  const where = place(frame);
  if (values.own && !ownFile.test(where)) continue;
  const key =
    values.by === 'file' ? where.replace(/:\d+$/, '') : `${frame.functionName || '(anonymous)'}\t${where}`;
  groups.set(key, (groups.get(key) ?? 0) + us);
}
const rows = [...groups].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top));
console.log(`total sampled ${(total / 1000).toFixed(0)} ms, ${profile.samples.length} samples`);
if (values.by === 'owner')
  console.log('(time charged to the innermost apps/ or libs/ frame on the stack, including what it calls)');
console.log(
  values.by === 'file'
    ? '| self ms | self % | file |\n|---:|---:|---|'
    : '| self ms | self % | function | where |\n|---:|---:|---|---|',
);
for (const [key, us] of rows) {
  const cells = key.split('\t');
  console.log(
    `| ${(us / 1000).toFixed(0)} | ${((us / total) * 100).toFixed(1)} | ${cells.map((c) => (c.includes(':') || c.includes('/') ? `\`${c}\`` : c)).join(' | ')} |`,
  );
}
