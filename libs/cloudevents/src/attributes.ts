import { type AttributeValue, type CloudEvent } from './event';

/** The CloudEvents spec versions this data plane accepts; an event's specversion is never rewritten. */
export const SPEC_VERSIONS = ['1.0', '0.3'] as const;

/** A rule violation, naming the attribute at fault. */
export interface AttributeError {
  reason: string;
  attribute: string;
}

const fail = (attribute: string, problem: string): AttributeError => ({
  reason: `attribute "${attribute}" ${problem}`,
  attribute,
});

// Character classes as 128-entry tables, built once (RFC 3986 section 2, RFC 2045 section 5.1).
const ALPHA = 1;
const DIGIT = 2;
const SCHEME = 4; // ALPHA / DIGIT / "+" / "-" / "."
const PATH = 8; // pchar minus pct-encoded, plus "/" and "?" (path, query and fragment)
const AUTHORITY = 16; // userinfo, host (incl. IP-literal brackets), port
const TOKEN = 32; // RFC 2045 token character
const HEX = 64;

const CHAR_CLASS = new Uint8Array(128);
{
  const mark = (chars: string, flag: number): void => {
    for (let i = 0; i < chars.length; i++) CHAR_CLASS[chars.charCodeAt(i)]! |= flag;
  };
  const lower = 'abcdefghijklmnopqrstuvwxyz';
  const upper = lower.toUpperCase();
  const digits = '0123456789';
  const unreserved = lower + upper + digits + '-._~';
  const subDelims = "!$&'()*+,;=";
  mark(lower + upper, ALPHA);
  mark(digits, DIGIT);
  mark(lower + upper + digits + '+-.', SCHEME);
  mark(unreserved + subDelims + ':@/?', PATH);
  mark(unreserved + subDelims + ':@[]', AUTHORITY);
  for (let c = 0x21; c < 0x7f; c++) {
    if ('()<>@,;:\\"/[]?='.indexOf(String.fromCharCode(c)) === -1) CHAR_CLASS[c]! |= TOKEN;
  }
  mark(digits + 'abcdefABCDEF', HEX);
}

const isHex = (c: number): boolean => c < 128 && (CHAR_CLASS[c]! & HEX) !== 0;

/** True for a valid attribute name: lower-case ASCII letters and digits only (core spec, "Naming Conventions"). */
export function isAttributeName(name: string): boolean {
  const n = name.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = name.charCodeAt(i);
    if (!((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39))) return false;
  }
  return true;
}

// Control characters, unpaired surrogates and noncharacters are not allowed in a CloudEvents String
// (core spec, "Type System"). Only consulted once a character outside printable ASCII is seen.
const FORBIDDEN_STRING_CHARS = /[\p{Cc}\p{Cs}\p{Noncharacter_Code_Point}]/u;

/** True when every character of `s` is allowed in a CloudEvents String. */
export function isCloudEventsString(s: string): boolean {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f) return !FORBIDDEN_STRING_CHARS.test(s);
  }
  return true;
}

/**
 * Checks a URI-reference (RFC 3986 section 4.1); with `absolute`, a scheme is required (section 4.3,
 * though a fragment is tolerated as JSON Schema's "uri" and the upstream SDKs do).
 */
export function isUriReference(s: string, absolute: boolean): boolean {
  const n = s.length;
  let i = 0;
  let colon = -1;
  for (let j = 0; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c === 0x3a) {
      colon = j;
      break;
    }
    if (c === 0x2f || c === 0x3f || c === 0x23) break;
  }
  if (colon !== -1) {
    // A ':' before any '/', '?' or '#' can only end a scheme: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
    if (colon === 0) return false;
    const first = s.charCodeAt(0);
    if (first >= 128 || (CHAR_CLASS[first]! & ALPHA) === 0) return false;
    for (let j = 1; j < colon; j++) {
      const c = s.charCodeAt(j);
      if (c >= 128 || (CHAR_CLASS[c]! & SCHEME) === 0) return false;
    }
    i = colon + 1;
  } else if (absolute) {
    return false;
  }
  if (s.charCodeAt(i) === 0x2f && s.charCodeAt(i + 1) === 0x2f) {
    for (i += 2; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c === 0x2f || c === 0x3f || c === 0x23) break;
      if (c === 0x25) {
        if (!isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) return false;
        i += 2;
      } else if (c >= 128 || (CHAR_CLASS[c]! & AUTHORITY) === 0) {
        return false;
      }
    }
  }
  let fragment = false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x23) {
      if (fragment) return false;
      fragment = true;
    } else if (c === 0x25) {
      if (!isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) return false;
      i += 2;
    } else if (c >= 128 || (CHAR_CLASS[c]! & PATH) === 0) {
      return false;
    }
  }
  return true;
}

const digitAt = (s: string, i: number): number => {
  const d = s.charCodeAt(i) - 0x30;
  return d >= 0 && d <= 9 ? d : -1;
};

/** Reads `count` digits at `i` as a number, or -1. */
function digits(s: string, i: number, count: number): number {
  let v = 0;
  for (let k = 0; k < count; k++) {
    const d = digitAt(s, i + k);
    if (d < 0) return -1;
    v = v * 10 + d;
  }
  return v;
}

const DAYS_IN_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Checks an RFC 3339 `date-time`: `YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)`, `T`/`Z` in either case. */
export function isRfc3339(s: string): boolean {
  const n = s.length;
  if (n < 20) return false;
  const year = digits(s, 0, 4);
  const month = digits(s, 5, 2);
  const day = digits(s, 8, 2);
  if (
    year < 0 ||
    s.charCodeAt(4) !== 0x2d ||
    s.charCodeAt(7) !== 0x2d ||
    month < 1 ||
    month > 12 ||
    day < 1
  ) {
    return false;
  }
  if (day > DAYS_IN_MONTH[month]!) return false;
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return false;
  if ((s.charCodeAt(10) | 0x20) !== 0x74) return false; // 'T' or 't'
  const hour = digits(s, 11, 2);
  const minute = digits(s, 14, 2);
  const second = digits(s, 17, 2);
  if (hour < 0 || hour > 23 || s.charCodeAt(13) !== 0x3a || minute < 0 || minute > 59) return false;
  if (s.charCodeAt(16) !== 0x3a || second < 0 || second > 60) return false; // 60: leap second
  let i = 19;
  if (s.charCodeAt(i) === 0x2e) {
    const start = ++i;
    while (digitAt(s, i) >= 0) i++;
    if (i === start) return false;
  }
  const z = s.charCodeAt(i);
  if ((z | 0x20) === 0x7a) return i + 1 === n; // 'Z' or 'z'
  if (z !== 0x2b && z !== 0x2d) return false;
  const offH = digits(s, i + 1, 2);
  const offM = digits(s, i + 4, 2);
  return i + 6 === n && offH >= 0 && offH <= 23 && s.charCodeAt(i + 3) === 0x3a && offM >= 0 && offM <= 59;
}

const isToken = (c: number): boolean => c < 128 && (CHAR_CLASS[c]! & TOKEN) !== 0;

/** Checks an RFC 2045/2046 media type: `type/subtype *( ";" attribute "=" ( token / quoted-string ) )`. */
export function isMediaType(s: string): boolean {
  const n = s.length;
  let i = 0;
  while (i < n && isToken(s.charCodeAt(i))) i++;
  if (i === 0 || s.charCodeAt(i) !== 0x2f) return false;
  const subStart = ++i;
  while (i < n && isToken(s.charCodeAt(i))) i++;
  if (i === subStart) return false;
  for (;;) {
    while (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09) i++;
    if (i === n) return true;
    if (s.charCodeAt(i) !== 0x3b) return false;
    i++;
    while (s.charCodeAt(i) === 0x20 || s.charCodeAt(i) === 0x09) i++;
    if (i === n) return true; // a trailing ';' is common enough to tolerate
    const nameStart = i;
    while (i < n && isToken(s.charCodeAt(i))) i++;
    if (i === nameStart || s.charCodeAt(i) !== 0x3d) return false;
    i++;
    if (s.charCodeAt(i) === 0x22) {
      for (i++; ; i++) {
        if (i >= n) return false;
        const c = s.charCodeAt(i);
        if (c === 0x5c) i++;
        else if (c === 0x22) break;
        // qtext is ASCII (RFC 822 3.3): a Content-Type header cannot carry other text, so an event
        // with it would be accepted and then fail every delivery in binary mode.
        else if ((c < 0x20 && c !== 0x09) || c > 0x7e) return false;
      }
      i++;
    } else {
      const valueStart = i;
      while (i < n && isToken(s.charCodeAt(i))) i++;
      if (i === valueStart) return false;
    }
  }
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/** Checks a value typed as a CloudEvents String attribute. */
function checkString(name: string, v: AttributeValue, nonEmpty: boolean): AttributeError | undefined {
  if (typeof v !== 'string') return fail(name, `must be a string, got ${typeof v}`);
  if (nonEmpty && v.length === 0) return fail(name, 'must be a non-empty string');
  if (!isCloudEventsString(v))
    return fail(name, 'contains a control character, unpaired surrogate or noncharacter');
  return undefined;
}

/** Checks an extension attribute: its name and a String, Boolean or Integer value. */
function checkExtension(name: string, v: AttributeValue): AttributeError | undefined {
  if (!isAttributeName(name)) {
    return fail(name, 'has an invalid name: attribute names are lower-case ASCII letters and digits');
  }
  if (name === 'data') return fail(name, 'is reserved: "data" cannot be an attribute name');
  switch (typeof v) {
    case 'string':
      return isCloudEventsString(v)
        ? undefined
        : fail(name, 'contains a control character, unpaired surrogate or noncharacter');
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isInteger(v) && v >= INT32_MIN && v <= INT32_MAX
        ? undefined
        : fail(name, 'must be a 32-bit integer when it is a number');
    default:
      return fail(name, `must be a string, boolean or integer, got ${v === null ? 'null' : typeof v}`);
  }
}

/** Validates required attributes, specversion, known attribute formats, extension names and value types. */
export function validateEvent(event: CloudEvent): AttributeError | undefined {
  const a = event.attributes;
  const specversion = a.specversion;
  if (specversion === undefined) return fail('specversion', 'is required');
  if (specversion !== '1.0' && specversion !== '0.3') {
    return fail(
      'specversion',
      `has unsupported value ${JSON.stringify(specversion)} (supported: "1.0", "0.3")`,
    );
  }
  const v03 = specversion === '0.3';
  if (a.id === undefined) return fail('id', 'is required');
  if (a.source === undefined) return fail('source', 'is required');
  if (a.type === undefined) return fail('type', 'is required');
  for (const name in a) {
    const v = a[name]!;
    let err: AttributeError | undefined;
    switch (name) {
      case 'specversion':
        continue;
      case 'id':
      case 'type':
      case 'subject':
        err = checkString(name, v, true);
        break;
      case 'source':
        err = checkString(name, v, true);
        if (err === undefined && !isUriReference(v as string, false))
          err = fail(name, 'is not a URI-reference');
        break;
      case 'time':
        err = checkString(name, v, true);
        if (err === undefined && !isRfc3339(v as string)) err = fail(name, 'is not an RFC 3339 timestamp');
        break;
      case 'datacontenttype':
        err = checkString(name, v, true);
        if (err === undefined && !isMediaType(v as string)) err = fail(name, 'is not an RFC 2046 media type');
        break;
      case 'dataschema':
        if (v03) {
          err = checkExtension(name, v);
          break;
        }
        err = checkString(name, v, true);
        if (err === undefined && !isUriReference(v as string, true))
          err = fail(name, 'is not an absolute URI');
        break;
      case 'schemaurl':
        if (!v03) {
          err = checkExtension(name, v);
          break;
        }
        err = checkString(name, v, true);
        if (err === undefined && !isUriReference(v as string, false))
          err = fail(name, 'is not a URI-reference');
        break;
      case 'datacontentencoding':
        err = v03 ? checkString(name, v, true) : checkExtension(name, v);
        break;
      default:
        err = checkExtension(name, v);
    }
    if (err !== undefined) return err;
  }
  return undefined;
}
