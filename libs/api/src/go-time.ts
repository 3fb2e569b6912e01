// Kubernetes' metav1.Duration and metav1.Time fields are decoded with Go's time package, not
// ISO-8601: a duration is `1h30m`, a time is RFC 3339. A value the decoder refuses is a rejected
// request upstream, so these parsers accept exactly what Go accepts.

const UNIT_NS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5 micro sign
  μs: 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

// One `<number><unit>` element: digits, an optional fraction (either side of the dot may be empty, not both).
const ELEMENT = /^(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/u;
// Go's time.Duration is an int64 of nanoseconds.
const MAX_NS = 2n ** 63n;

/**
 * Parses a Go duration (`300ms`, `-1.5h`, `2h45m`, `0`) as `time.ParseDuration` does and returns it
 * in milliseconds, or undefined when Go would refuse it (no unit, unknown unit, empty, overflow).
 */
export function parseGoDuration(text: string): number | undefined {
  let rest = text;
  let negative = false;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  // A lone zero is the one value that needs no unit.
  if (rest === '0') return 0;
  if (rest === '') return undefined;
  let total = 0n;
  while (rest !== '') {
    const m = ELEMENT.exec(rest);
    if (m === null) return undefined;
    const whole = m[1] ?? '';
    const fraction = m[2] ?? '';
    if (whole === '' && fraction === '') return undefined;
    const unit = UNIT_NS[m[3] as string] as number;
    // Exact integer arithmetic on nanoseconds, as Go does; the fraction's sub-nanosecond part is dropped.
    const scale = 10n ** BigInt(fraction.length);
    total += ((BigInt(whole || '0') * scale + BigInt(fraction || '0')) * BigInt(unit)) / scale;
    if (total > MAX_NS) return undefined;
    rest = rest.slice(m[0].length);
  }
  if (total === MAX_NS && !negative) return undefined;
  const ms = Number(total) / 1e6;
  return negative && ms !== 0 ? -ms : ms;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * Parses an RFC 3339 timestamp (`2026-01-02T15:04:05Z`, optional fraction, `Z` or `±hh:mm`) as
 * metav1.Time decodes it, with calendar checks (month 1–12, day within the month, hour < 24,
 * minute and second < 60, offset hour < 24). Returns epoch milliseconds, or undefined.
 */
export function parseRfc3339(text: string): number | undefined {
  const m = RFC3339.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return undefined;
  // Day 0 of the next month is the last day of this one (setUTCFullYear keeps years 0–99 as given).
  const last = new Date(0);
  last.setUTCFullYear(year, month, 0);
  if (day > last.getUTCDate()) return undefined;
  if (m[7] !== undefined && (Number(m[8]) > 23 || Number(m[9]) > 59)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}
