// Header value encoding of the HTTP protocol binding (section 3.1.3.2): space, '"', '%' and anything
// outside printable ASCII is percent-encoded as UTF-8 bytes; decoding accepts needless escapes and a
// stray '%', and rejects byte sequences that are not UTF-8.
//
// Double quotes are read literally, not as an RFC 7230 quoted-string: a 3.1.3.2 sender percent-encodes
// every '"', so a raw one only comes from senders that do not encode at all (the Go and JavaScript SDKs,
// upstream Knative, our 'upstream' header form), and they mean the value `"quoted"` as it stands.

const PCT: readonly string[] = Array.from(
  { length: 256 },
  (_, b) => '%' + b.toString(16).toUpperCase().padStart(2, '0'),
);

const needsEncoding = (c: number): boolean => c <= 0x20 || c >= 0x7f || c === 0x22 || c === 0x25;

/** Percent-encodes a string attribute value for an HTTP header; returns `s` itself when nothing needs it. */
export function percentEncode(s: string): string {
  const n = s.length;
  let i = 0;
  while (i < n && !needsEncoding(s.charCodeAt(i))) i++;
  if (i === n) return s;
  let out = s.slice(0, i);
  let run = i;
  for (; i < n; i++) {
    let c = s.charCodeAt(i);
    if (!needsEncoding(c)) continue;
    if (run < i) out += s.slice(run, i);
    if (c < 0x80) {
      out += PCT[c];
    } else if (c < 0x800) {
      out += PCT[0xc0 | (c >> 6)]! + PCT[0x80 | (c & 0x3f)]!;
    } else {
      const next = s.charCodeAt(i + 1);
      if (c >= 0xd800 && c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        out +=
          PCT[0xf0 | (cp >> 18)]! +
          PCT[0x80 | ((cp >> 12) & 0x3f)]! +
          PCT[0x80 | ((cp >> 6) & 0x3f)]! +
          PCT[0x80 | (cp & 0x3f)]!;
        i++;
      } else {
        if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd; // a lone surrogate has no UTF-8 form
        out += PCT[0xe0 | (c >> 12)]! + PCT[0x80 | ((c >> 6) & 0x3f)]! + PCT[0x80 | (c & 0x3f)]!;
      }
    }
    run = i + 1;
  }
  return run < n ? out + s.slice(run) : out;
}

const hexValue = (c: number): number => {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
};

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
let scratch = new Uint8Array(64);

/**
 * Decodes an HTTP header value into an attribute value, or returns undefined when the percent-encoded
 * bytes are not valid UTF-8. A '%' not followed by two hex digits is kept as it is.
 */
export function decodeHeaderValue(v: string): string | undefined {
  let i = v.indexOf('%');
  if (i === -1) return v;
  const n = v.length;
  let out = '';
  let run = 0;
  while (i !== -1) {
    let j = i;
    let len = 0;
    while (j + 2 < n && v.charCodeAt(j) === 0x25) {
      const hi = hexValue(v.charCodeAt(j + 1));
      const lo = hexValue(v.charCodeAt(j + 2));
      if (hi < 0 || lo < 0) break;
      if (len === scratch.length) {
        const grown = new Uint8Array(len * 2);
        grown.set(scratch);
        scratch = grown;
      }
      scratch[len++] = (hi << 4) | lo;
      j += 3;
    }
    if (len === 0) {
      i = v.indexOf('%', i + 1);
      continue;
    }
    let decoded: string;
    try {
      decoded = strictUtf8.decode(scratch.subarray(0, len));
    } catch {
      return undefined;
    }
    out += v.slice(run, i) + decoded;
    run = j;
    i = v.indexOf('%', j);
  }
  return out + v.slice(run);
}
