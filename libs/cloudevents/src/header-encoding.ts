// How string attribute values become binary-mode header values, and how raw header bytes are read back.
//
// 'percent' is the HTTP binding's own encoding (3.1.3.2, see percent.ts). 'upstream' is what the
// official CloudEvents Go SDK does, and so what upstream Knative delivers: the value as it is, with
// non-ASCII text as raw UTF-8 bytes (as Go's net/http puts a string on the wire). A Go subscriber
// never percent-decodes, so only 'upstream' hands it the exact string.
//
// Node header values are latin1 strings: one char per byte on the wire, both when undici or node:http
// write them and when node:http or undici read them. Raw UTF-8 is therefore written as its bytes in a
// latin1 string and read back by decoding those bytes as UTF-8.

import { percentEncode } from './percent';

/** How string attribute values are written as binary-mode header values. */
export type HeaderEncoding = 'upstream' | 'percent';

/** The encodings `HeaderEncoding` accepts, for validating configuration. */
export const HEADER_ENCODINGS: readonly HeaderEncoding[] = ['upstream', 'percent'];

const PCT: readonly string[] = Array.from(
  { length: 0x80 },
  (_, b) => '%' + b.toString(16).toUpperCase().padStart(2, '0'),
);

/** Printable ASCII, space and tab: written unchanged in either header form. */
const isPlain = (c: number): boolean => (c >= 0x20 && c < 0x7f) || c === 0x09;

// Control characters other than tab can never be in a header value (RFC 9110 5.5): CR and LF would
// split the header, undici and node:http throw on any of them, and Go's client refuses the request.
// They are percent-encoded, the one escape a receiver may undo (a 3.1.3.2 decoder gets the exact
// value back, a Go receiver sees `%0A`). Valid CloudEvents Strings have none, so only unvalidated
// events ever take this path.
const CONTROL = /[\x00-\x08\x0a-\x1f\x7f]/g;
const escapeControl = (c: string): string => PCT[c.charCodeAt(0)]!;

/**
 * The 'upstream' header form of a string attribute value: unchanged when it is printable ASCII (then
 * `s` itself is returned), non-ASCII as raw UTF-8 bytes in a latin1 string, control characters other
 * than tab percent-encoded. Leading and trailing spaces are kept, and HTTP receivers strip them, as
 * they do for the Go SDK.
 */
export function upstreamEncode(s: string): string {
  const n = s.length;
  let i = 0;
  while (i < n && isPlain(s.charCodeAt(i))) i++;
  if (i === n) return s;
  let ascii = true;
  for (let j = i; j < n; j++) {
    if (s.charCodeAt(j) >= 0x80) {
      ascii = false;
      break;
    }
  }
  // A lone surrogate becomes U+FFFD's bytes, as in percentEncode.
  const bytes = ascii ? s : Buffer.from(s, 'utf8').toString('latin1');
  return bytes.replace(CONTROL, escapeControl);
}

/** The function writing string attribute values in the given header form. */
export function headerValueEncoder(encoding: HeaderEncoding): (s: string) => string {
  return encoding === 'percent' ? percentEncode : upstreamEncode;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Reads a header value as Node delivers it (one latin1 char per byte) into text: `v` itself when it is
 * ASCII, raw UTF-8 bytes decoded, or undefined when those bytes are not UTF-8. A value holding a char
 * above U+00FF did not come off the wire as bytes (it was built in-process) and is kept as it is.
 */
export function textOfHeaderValue(v: string): string | undefined {
  const n = v.length;
  let i = 0;
  while (i < n && v.charCodeAt(i) < 0x80) i++;
  if (i === n) return v;
  for (let j = i; j < n; j++) if (v.charCodeAt(j) > 0xff) return v;
  try {
    return strictUtf8.decode(Buffer.from(v, 'latin1'));
  } catch {
    return undefined;
  }
}
