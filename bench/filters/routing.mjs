// Part A of the filters benchmark: routing alone, in process. TriggerIndex.match against a linear
// scan of every compiled filter, on the same compiled filters and events, alternating rounds.
import { buildSync } from 'esbuild';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { makeTempDir, removeTempDir, root } from '../lib/children.mjs';
import { expectedMatches, groupCount, makeEvent, makeTriggers } from './workload.mjs';

/** Bundles @eventing/broker's TriggerIndex and @eventing/filters (one copy) and imports them. */
export async function loadRoutingCode() {
  let out;
  try {
    out = bundle();
  } catch (err) {
    throw new Error(
      `bundling @eventing/broker + @eventing/filters from the working tree failed (is a lib mid-edit?): ${err.message}`,
    );
  }
  const dir = makeTempDir('bench-filters-');
  try {
    const file = join(dir, 'routing.mjs');
    writeFileSync(file, out.outputFiles[0].contents);
    return await import(pathToFileURL(file).href);
  } finally {
    removeTempDir(dir);
  }
}

function bundle() {
  return buildSync({
    stdin: {
      contents: "export { TriggerIndex } from '@eventing/broker';\nexport * from '@eventing/filters';\n",
      resolveDir: root,
      sourcefile: 'bench-filters-entry.mjs',
    },
    bundle: true,
    write: false,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    tsconfig: join(root, 'tsconfig.base.json'),
    logLevel: 'silent',
    // npm packages (undici, pulled in by the rest of @eventing/broker) are bundled too, since the
    // temp file cannot resolve node_modules; their CommonJS `require('node:…')` needs a require.
    banner: {
      js: "import { createRequire as benchCreateRequire } from 'node:module'; const require = benchCreateRequire(import.meta.url);",
    },
  });
}

/**
 * A CesqlCompiler built on the bundle's parseCesql, for `--pass-cesql-compiler`; undefined when the
 * bundle has no parseCesql.
 */
export function cesqlCompilerOf(code) {
  if (typeof code.parseCesql !== 'function') return undefined;
  return (expression) => {
    const parsed = code.parseCesql(expression);
    if (!parsed.ok) throw new Error(parsed.errors[0]?.message ?? 'invalid CESQL');
    return (event) => parsed.expression.matches(event);
  };
}

/**
 * The compiled routes of n triggers, as the broker's data plane builds them (filter + keys, id = name):
 * `compileTriggerFilter(filter, filters)`, plus `{ cesql }` only when `cesql` is given.
 */
export function compileRoutes(code, triggers, cesql) {
  const options = cesql ? { cesql } : undefined;
  return triggers.map((t) => ({
    id: t.name,
    filter: code.compileTriggerFilter(t.filter, t.filters, options),
    keys: code.triggerIndexKeys(t.filter, t.filters),
  }));
}

/** The baseline: every compiled filter, in order. Same output shape as TriggerIndex.match. */
function linearMatch(routes, event) {
  const out = [];
  for (let i = 0; i < routes.length; i++) {
    const route = routes[i];
    if (route.filter.match(event)) out.push(route.id);
  }
  return out;
}

/** The first extension equality of a trigger's index keys, as the index picks it. */
const firstExtension = (keys) => Object.entries(keys.extensions ?? {})[0];

/** How many filters the index evaluates for an event (its type, source, prefix and extension buckets, the unindexed list). */
function evaluatedByIndex(routes, event) {
  const type = String(event.attributes.type);
  const source = String(event.attributes.source);
  let n = 0;
  for (const { keys } of routes) {
    const ext = firstExtension(keys);
    if (keys.type !== undefined) n += keys.type === type ? 1 : 0;
    else if (keys.source !== undefined) n += keys.source === source ? 1 : 0;
    else if (keys.typePrefix !== undefined && keys.typePrefix !== '')
      n += type.startsWith(keys.typePrefix) ? 1 : 0;
    else if (ext !== undefined) n += String(event.attributes[ext[0]]) === ext[1] ? 1 : 0;
    else n++;
  }
  return n;
}

/** Where the index put the triggers: { type, source, prefix, extension, unindexed }. */
function buckets(routes) {
  const b = { type: 0, source: 0, prefix: 0, extension: 0, unindexed: 0 };
  for (const { keys } of routes) {
    if (keys.type !== undefined) b.type++;
    else if (keys.source !== undefined) b.source++;
    else if (keys.typePrefix !== undefined && keys.typePrefix !== '') b.prefix++;
    else if (firstExtension(keys) !== undefined) b.extension++;
    else b.unindexed++;
  }
  return b;
}

/** Runs `fn` over the event pool for about `ms`; returns ns per event and the matches seen (kept so nothing is optimised away). */
function timeLoop(fn, events, ms) {
  const budget = BigInt(Math.round(ms * 1e6));
  let done = 0;
  let matches = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0n;
  do {
    for (let i = 0; i < events.length; i++) matches += fn(events[i]).length;
    done += events.length;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < budget);
  return { ns: Number(elapsed) / done, matches: matches / done };
}

const sameSet = (a, b) => a.length === b.length && [...a].sort().join() === [...b].sort().join();

/**
 * Measures N triggers: checks index, linear scan and the workload's expectation agree on every event
 * of the pool (each disagreement goes to `report`), then alternates `rounds` timed rounds of `ms`
 * per side and keeps the best (lowest) ns/event of each.
 */
export function measureRouting(code, n, { rounds, ms, poolSize, cesql, cesqlCompiler, report }) {
  const triggers = makeTriggers(n);
  const routes = compileRoutes(code, triggers, cesqlCompiler);
  const index = new code.TriggerIndex(routes);
  const groups = groupCount(n);
  const data = Buffer.from('{"order":42}');
  const events = Array.from({ length: poolSize }, (_, i) => makeEvent(i % groups, `e-${i}`, data));

  let mismatches = 0;
  for (let g = 0; g < Math.min(groups, events.length); g++) {
    const event = events[g];
    const want = expectedMatches(triggers, g, { cesql }).map((i) => triggers[i].name);
    const byIndex = index.match(event);
    const byScan = linearMatch(routes, event);
    if (!sameSet(byIndex, byScan) || !sameSet(byScan, want)) {
      if (mismatches++ < 5) {
        report(
          `routing N=${n}, event group ${g}: expected [${want.join(' ')}], linear scan [${byScan.join(' ')}], index [${byIndex.join(' ')}]`,
        );
      }
    }
  }
  if (mismatches > 5) report(`routing N=${n}: ${mismatches} event groups disagree in all (first 5 above)`);

  let evaluated = 0;
  for (let g = 0; g < Math.min(groups, events.length); g++) evaluated += evaluatedByIndex(routes, events[g]);
  evaluated /= Math.min(groups, events.length);

  // Warm both paths up before timing so the first measured round is not the JIT's.
  timeLoop((e) => index.match(e), events, ms / 2);
  timeLoop((e) => linearMatch(routes, e), events, ms / 2);
  let indexNs = Infinity;
  let linearNs = Infinity;
  let matches = 0;
  const all = [];
  for (let r = 0; r < rounds; r++) {
    const a = timeLoop((e) => index.match(e), events, ms);
    const b = timeLoop((e) => linearMatch(routes, e), events, ms);
    all.push({ index: a.ns, linear: b.ns });
    indexNs = Math.min(indexNs, a.ns);
    linearNs = Math.min(linearNs, b.ns);
    matches = a.matches;
  }
  return { n, indexNs, linearNs, matches, evaluated, buckets: buckets(routes), mismatches, rounds: all };
}
