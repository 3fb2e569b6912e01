import type { CloudEvent } from '@eventing/cloudevents';
import { type AttributeReader, attributeReader, attributeText } from './attributes';
import { parseCesql } from '../cesql/parse';
import type { CesqlExpression } from '../cesql/types';
import { dialectOf } from './dialect';
import type {
  CompileOptions,
  CompiledFilter,
  SubscriptionsApiFilter,
  TriggerAttributesFilter,
} from './types';

/** Upstream's tri-state filter result: only FAIL drops the event. */
const PASS = 0;
const FAIL = 1;
const NONE = 2;
type Outcome = typeof PASS | typeof FAIL | typeof NONE;

interface FilterNode {
  evaluate(event: CloudEvent): Outcome;
  /** Same result as evaluate, appending a line per decision taken (respecting short-circuits). */
  explain(event: CloudEvent, reasons: string[]): Outcome;
}

type AttributeKind = 'legacy' | 'exact' | 'prefix' | 'suffix';
type Comparison = (actual: string, wanted: string) => boolean;

const COMPARISONS: Record<AttributeKind, Comparison> = {
  // `""` in the legacy filter means "present and non-empty" (CONFORMANCE 3.1, 8.6).
  legacy: (actual, wanted) => (wanted === '' ? actual !== '' : actual === wanted),
  exact: (actual, wanted) => actual === wanted,
  prefix: (actual, wanted) => actual.startsWith(wanted),
  suffix: (actual, wanted) => actual.endsWith(wanted),
};

const MISMATCH: Record<AttributeKind, string> = {
  legacy: '!=',
  exact: '!=',
  prefix: 'does not start with',
  suffix: 'does not end with',
};

/** Names whose value is derived rather than read directly (so the direct-read fast path skips them). */
const DERIVED = new Set(['datamediatype', 'dataschema', 'schemaurl']);

/** Every [name, value] pair must hold (AND); passes or fails, never NONE. */
class AttributeMatch implements FilterNode {
  readonly names: string[];
  readonly wanted: string[];
  private readonly readers: AttributeReader[];
  readonly comparison: Comparison;

  constructor(
    private readonly path: string,
    readonly kind: AttributeKind,
    entries: [string, string][],
  ) {
    this.names = entries.map(([name]) => name);
    this.wanted = entries.map(([, value]) => value);
    this.readers = this.names.map(attributeReader);
    this.comparison = COMPARISONS[kind];
  }

  evaluate(event: CloudEvent): Outcome {
    const attributes = event.attributes;
    const { readers, wanted, comparison } = this;
    for (let i = 0; i < readers.length; i++) {
      const actual = (readers[i] as AttributeReader)(attributes);
      if (actual === undefined || !comparison(actual, wanted[i] as string)) return FAIL;
    }
    return PASS;
  }

  explain(event: CloudEvent, reasons: string[]): Outcome {
    for (let i = 0; i < this.readers.length; i++) {
      const name = this.names[i] as string;
      const wanted = this.wanted[i] as string;
      const actual = (this.readers[i] as AttributeReader)(event.attributes);
      const where = `${this.path}.${name}`;
      if (actual === undefined) {
        reasons.push(`${where}: attribute is absent`);
        return FAIL;
      }
      if (!this.comparison(actual, wanted)) {
        reasons.push(
          wanted === ''
            ? `${where}: "" requires a non-empty value, but the attribute is unset or empty`
            : `${where}: ${JSON.stringify(actual)} ${MISMATCH[this.kind]} ${JSON.stringify(wanted)}`,
        );
        return FAIL;
      }
      reasons.push(`${where}: ${JSON.stringify(actual)} matches ${JSON.stringify(wanted)}`);
    }
    return PASS;
  }
}

/** AND with NONE as identity; short-circuits on the first FAIL. */
class AllNode implements FilterNode {
  constructor(
    private readonly children: FilterNode[],
    private readonly notes: string[],
  ) {}

  evaluate(event: CloudEvent): Outcome {
    let outcome: Outcome = NONE;
    for (const child of this.children) {
      const result = child.evaluate(event);
      if (result === FAIL) return FAIL;
      if (result === PASS) outcome = PASS;
    }
    return outcome;
  }

  explain(event: CloudEvent, reasons: string[]): Outcome {
    reasons.push(...this.notes);
    let outcome: Outcome = NONE;
    for (const child of this.children) {
      const result = child.explain(event, reasons);
      if (result === FAIL) return FAIL;
      if (result === PASS) outcome = PASS;
    }
    return outcome;
  }
}

/** OR with NONE as identity; short-circuits on the first PASS. */
class AnyNode implements FilterNode {
  constructor(
    private readonly path: string,
    private readonly children: FilterNode[],
    private readonly notes: string[],
  ) {}

  evaluate(event: CloudEvent): Outcome {
    let outcome: Outcome = NONE;
    for (const child of this.children) {
      const result = child.evaluate(event);
      if (result === PASS) return PASS;
      if (result === FAIL) outcome = FAIL;
    }
    return outcome;
  }

  explain(event: CloudEvent, reasons: string[]): Outcome {
    reasons.push(...this.notes);
    let outcome: Outcome = NONE;
    for (const child of this.children) {
      const result = child.explain(event, reasons);
      if (result === PASS) return PASS;
      if (result === FAIL) outcome = FAIL;
    }
    if (outcome === FAIL) reasons.push(`${this.path}.any: no alternative matched`);
    return outcome;
  }
}

/** Negation; the negation of "no filter" stays "no filter". */
class NotNode implements FilterNode {
  constructor(
    private readonly path: string,
    private readonly inner: FilterNode | undefined,
    private readonly note: string | undefined,
  ) {}

  evaluate(event: CloudEvent): Outcome {
    if (this.inner === undefined) return NONE;
    const result = this.inner.evaluate(event);
    return result === PASS ? FAIL : result === FAIL ? PASS : NONE;
  }

  explain(event: CloudEvent, reasons: string[]): Outcome {
    if (this.inner === undefined) {
      if (this.note) reasons.push(this.note);
      return NONE;
    }
    const result = this.inner.explain(event, reasons);
    if (result === NONE) return NONE;
    reasons.push(
      `${this.path}.not: inner filter ${result === PASS ? 'matched, so this fails' : 'failed, so this matches'}`,
    );
    return result === PASS ? FAIL : PASS;
  }
}

/**
 * A CESQL expression (CONFORMANCE 3.2): matches only when it evaluates to true without any error.
 * An expression that does not compile fails the element (validation rejects it before it gets here).
 */
type CesqlEngine =
  | { kind: 'builtin'; expression: CesqlExpression }
  | { kind: 'custom'; predicate: (event: CloudEvent) => boolean }
  | { kind: 'invalid'; reason: string };

class CesqlNode implements FilterNode {
  constructor(
    private readonly path: string,
    private readonly engine: CesqlEngine,
  ) {}

  evaluate(event: CloudEvent): Outcome {
    const engine = this.engine;
    switch (engine.kind) {
      case 'builtin':
        return engine.expression.matches(event) ? PASS : FAIL;
      case 'custom':
        try {
          return engine.predicate(event) === true ? PASS : FAIL;
        } catch {
          return FAIL;
        }
      case 'invalid':
        return FAIL;
    }
  }

  explain(event: CloudEvent, reasons: string[]): Outcome {
    const where = `${this.path}.cesql`;
    const engine = this.engine;
    switch (engine.kind) {
      case 'builtin': {
        const { value, errors } = engine.expression.evaluate(event);
        if (errors.length > 0) {
          for (const error of errors) reasons.push(`${where}: ${error.kind} error: ${error.message}`);
          return FAIL;
        }
        const matched = engine.expression.matches(event);
        reasons.push(`${where}: expression is ${matched ? 'true' : `not true (${JSON.stringify(value)})`}`);
        return matched ? PASS : FAIL;
      }
      case 'custom':
        try {
          const value = engine.predicate(event);
          reasons.push(`${where}: expression is ${value === true ? 'true' : 'not true'}`);
          return value === true ? PASS : FAIL;
        } catch (error) {
          reasons.push(
            `${where}: evaluation error: ${error instanceof Error ? error.message : String(error)}`,
          );
          return FAIL;
        }
      case 'invalid':
        reasons.push(`${where}: ${engine.reason}, so it cannot match`);
        return FAIL;
    }
  }
}

function compileCesql(expression: string, options: CompileOptions): CesqlEngine {
  if (options.cesql === undefined) {
    const parsed = parseCesql(expression);
    if (parsed.ok) return { kind: 'builtin', expression: parsed.expression };
    return { kind: 'invalid', reason: `parse error: ${parsed.errors[0]?.message ?? 'invalid expression'}` };
  }
  try {
    return { kind: 'custom', predicate: options.cesql(expression) };
  } catch (error) {
    return {
      kind: 'invalid',
      reason: `invalid expression: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}

type Compiled = { node: FilterNode } | { skipped: string };

function compileElement(filter: SubscriptionsApiFilter, path: string, options: CompileOptions): Compiled {
  const dialect = dialectOf(filter);
  switch (dialect.kind) {
    case 'exact':
    case 'prefix':
    case 'suffix':
      return { node: new AttributeMatch(`${path}.${dialect.kind}`, dialect.kind, dialect.entries) };
    case 'all': {
      const { children, notes } = compileList(dialect.filters, `${path}.all`, options);
      return { node: new AllNode(children, notes) };
    }
    case 'any': {
      const { children, notes } = compileList(dialect.filters, `${path}.any`, options);
      return { node: new AnyNode(path, children, notes) };
    }
    case 'not': {
      const inner = compileElement(dialect.filter, `${path}.not`, options);
      return 'node' in inner
        ? { node: new NotNode(path, inner.node, undefined) }
        : { node: new NotNode(path, undefined, inner.skipped) };
    }
    case 'cesql':
      return { node: new CesqlNode(path, compileCesql(dialect.expression, options)) };
    case 'skip':
      return { skipped: `${path}: skipped, ${dialect.reason}` };
  }
}

function compileList(
  filters: SubscriptionsApiFilter[],
  path: string,
  options: CompileOptions,
): { children: FilterNode[]; notes: string[] } {
  const children: FilterNode[] = [];
  const notes: string[] = [];
  filters.forEach((filter, index) => {
    const compiled = compileElement(filter, `${path}[${index}]`, options);
    if ('node' in compiled) children.push(compiled.node);
    else notes.push(compiled.skipped);
  });
  return { children, notes };
}

/** Builds the per-event predicate, with a direct read for the common single-attribute case. */
function matcherFor(root: FilterNode | undefined): (event: CloudEvent) => boolean {
  if (root === undefined) return () => true;
  if (
    root instanceof AttributeMatch &&
    root.names.length === 1 &&
    (root.kind === 'exact' || root.kind === 'legacy')
  ) {
    const name = root.names[0] as string;
    const wanted = root.wanted[0] as string;
    if (wanted !== '' && !DERIVED.has(name)) {
      return (event) => {
        const value = event.attributes[name];
        return value === wanted || (typeof value !== 'string' && attributeText(value) === wanted);
      };
    }
  }
  return (event) => root.evaluate(event) !== FAIL;
}

/**
 * Compiles a Trigger's `spec.filter` and `spec.filters` once into a predicate. A non-empty `filters`
 * replaces `filter` entirely (CONFORMANCE 3.2); with neither, every event matches.
 */
export function compileTriggerFilter(
  filter: TriggerAttributesFilter | undefined,
  filters: SubscriptionsApiFilter[] | undefined,
  options: CompileOptions = {},
): CompiledFilter {
  let root: FilterNode | undefined;
  const preamble: string[] = [];
  if (filters != null && filters.length > 0) {
    if (filter?.attributes != null && Object.keys(filter.attributes).length > 0) {
      preamble.push('filter.attributes: ignored because filters is set');
    }
    const { children, notes } = compileList(filters, 'filters', options);
    root = children.length === 1 && notes.length === 0 ? children[0] : new AllNode(children, notes);
  } else if (filter?.attributes != null && Object.keys(filter.attributes).length > 0) {
    // Values are strings by type; coerce defensively in case a loosely typed object gets here.
    const entries = Object.entries(filter.attributes).map(([name, value]): [string, string] => [
      name,
      String(value),
    ]);
    root = new AttributeMatch('filter.attributes', 'legacy', entries);
  }

  const match = matcherFor(root);
  return {
    match,
    explain(event) {
      const reasons = [...preamble];
      const outcome = root === undefined ? NONE : root.explain(event, reasons);
      if (outcome === NONE) reasons.push('no applicable filter: every event matches');
      return { matched: outcome !== FAIL, reasons };
    },
  };
}
