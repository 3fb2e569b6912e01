import { Type, type Static } from '@sinclair/typebox';
import { FieldError, indexPath, joinPath } from './errors';
import { StringEnum } from './string-enum';

/** One requirement of a label selector: a key, an operator and (for In/NotIn) values. */
export const LabelSelectorRequirementSchema = Type.Object(
  {
    key: Type.String({ description: 'The label key the requirement applies to.' }),
    operator: StringEnum(['In', 'NotIn', 'Exists', 'DoesNotExist'], {
      description:
        "How the key's value is compared with values: In, NotIn, Exists or DoesNotExist. In and NotIn need values; Exists and DoesNotExist take none.",
    }),
    values: Type.Optional(
      Type.Array(Type.String(), {
        description: 'The values compared with the label value by In and NotIn.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type LabelSelectorRequirement = Static<typeof LabelSelectorRequirementSchema>;

/** A Kubernetes label selector (`matchLabels` and `matchExpressions`, all ANDed). */
export const LabelSelectorSchema = Type.Object(
  {
    matchLabels: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description: 'Labels an object must carry with exactly these values.',
      }),
    ),
    matchExpressions: Type.Optional(
      Type.Array(LabelSelectorRequirementSchema, {
        description: 'Requirements on label values, all of which must hold.',
      }),
    ),
  },
  { additionalProperties: false },
);
export type LabelSelector = Static<typeof LabelSelectorSchema>;

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Why `key` is not a qualified label key (`[prefix/]name`), or undefined when it is one. */
function labelKeyProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix)))
    return 'the prefix must be a DNS-1123 subdomain';
  if (name.length === 0 || name.length > 63 || !LABEL_NAME.test(name))
    return "the name must be 63 characters or less, alphanumeric, '-', '_' or '.', starting and ending with an alphanumeric character";
  return undefined;
}

/** Validates a label selector at `path`: keys, operators and the values each operator needs. */
export function validateLabelSelector(selector: LabelSelector, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) {
    const at = indexPath(joinPath(path, 'matchLabels'), key);
    const problem = labelKeyProblem(key);
    if (problem !== undefined) errs.push(new FieldError(at, `invalid key ${key}: ${problem}`));
    if (value.length > 63 || !LABEL_VALUE.test(value))
      errs.push(
        new FieldError(
          at,
          `invalid value ${value}: at most 63 characters, alphanumeric, '-', '_' or '.', starting and ending with an alphanumeric character`,
        ),
      );
  }
  (selector.matchExpressions ?? []).forEach((req, i) => {
    const at = indexPath(joinPath(path, 'matchExpressions'), i);
    const problem = labelKeyProblem(req.key);
    if (problem !== undefined)
      errs.push(new FieldError(joinPath(at, 'key'), `invalid key ${req.key}: ${problem}`));
    const values = req.values ?? [];
    if ((req.operator === 'In' || req.operator === 'NotIn') && values.length === 0)
      errs.push(new FieldError(joinPath(at, 'values'), `must be specified when operator is ${req.operator}`));
    if ((req.operator === 'Exists' || req.operator === 'DoesNotExist') && values.length > 0)
      errs.push(
        new FieldError(joinPath(at, 'values'), `may not be specified when operator is ${req.operator}`),
      );
  });
  return errs;
}

/** Whether a selector selects everything (no labels, no expressions), as Kubernetes reads an empty one. */
export function isEmptyLabelSelector(selector: LabelSelector | undefined): boolean {
  return (
    selector !== undefined &&
    Object.keys(selector.matchLabels ?? {}).length === 0 &&
    (selector.matchExpressions ?? []).length === 0
  );
}

/**
 * Whether an object's labels satisfy a selector. An empty selector matches everything; an absent
 * one (undefined) matches nothing, as Kubernetes reads them.
 */
export function matchesLabelSelector(
  selector: LabelSelector | undefined,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  if (selector === undefined) return false;
  const have = labels ?? {};
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    if (have[key] !== value) return false;
  for (const req of selector.matchExpressions ?? []) {
    const present = Object.prototype.hasOwnProperty.call(have, req.key);
    const value = have[req.key];
    switch (req.operator) {
      case 'In':
        if (!present || !(req.values ?? []).includes(value as string)) return false;
        break;
      case 'NotIn':
        if (present && (req.values ?? []).includes(value as string)) return false;
        break;
      case 'Exists':
        if (!present) return false;
        break;
      case 'DoesNotExist':
        if (present) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/**
 * The selector in the text form the API server takes in `labelSelector=` (`app=x,tier in (a,b),!old`),
 * requirements sorted by key as Kubernetes prints them; '' selects everything.
 */
export function labelSelectorString(selector: LabelSelector): string {
  const parts: { key: string; text: string }[] = [];
  for (const [key, value] of Object.entries(selector.matchLabels ?? {}))
    parts.push({ key, text: `${key}=${value}` });
  for (const req of selector.matchExpressions ?? []) {
    const values = [...(req.values ?? [])].sort().join(',');
    switch (req.operator) {
      case 'In':
        parts.push({ key: req.key, text: `${req.key} in (${values})` });
        break;
      case 'NotIn':
        parts.push({ key: req.key, text: `${req.key} notin (${values})` });
        break;
      case 'Exists':
        parts.push({ key: req.key, text: req.key });
        break;
      case 'DoesNotExist':
        parts.push({ key: req.key, text: `!${req.key}` });
        break;
    }
  }
  return parts
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((p) => p.text)
    .join(',');
}

/**
 * Reads a selector in the API server's text form (`app=x,tier in (a,b),!old,env!=prod`) back into
 * requirements; throws a FieldError at `path` naming the term it cannot read.
 */
export function parseLabelSelectorString(text: string, path = 'selector'): LabelSelector {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      terms.push(text.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(text.slice(start));
  const matchExpressions: LabelSelectorRequirement[] = [];
  for (const raw of terms) {
    const term = raw.trim();
    if (term === '') continue;
    const set = /^(\S+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(term);
    if (set !== null) {
      const values = (set[3] ?? '')
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
      matchExpressions.push({ key: set[1] as string, operator: set[2] === 'in' ? 'In' : 'NotIn', values });
      continue;
    }
    const compare = /^([^=!\s]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
    if (compare !== null) {
      const [, key = '', op, value = ''] = compare;
      matchExpressions.push({ key, operator: op === '!=' ? 'NotIn' : 'In', values: [value] });
      continue;
    }
    const absent = /^!\s*([^=!\s]+)$/.exec(term);
    if (absent !== null) {
      matchExpressions.push({ key: absent[1] as string, operator: 'DoesNotExist' });
      continue;
    }
    if (/^[^=!\s()]+$/.test(term)) {
      matchExpressions.push({ key: term, operator: 'Exists' });
      continue;
    }
    throw new FieldError(path, `cannot read the label selector term '${term}'`);
  }
  return { matchExpressions };
}
