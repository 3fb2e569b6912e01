const DURATION =
  /^([-+])?P(?:(\d+(?:[.,]\d+)?)Y)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)W)?(?:(\d+(?:[.,]\d+)?)D)?(?:T(?:(\d+(?:[.,]\d+)?)H)?(?:(\d+(?:[.,]\d+)?)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
// Calendar units have no fixed length; like upstream's period library we approximate them.
const MONTH = 30 * DAY;
const YEAR = 365 * DAY;
const UNITS = [YEAR, MONTH, 7 * DAY, DAY, HOUR, MINUTE, SECOND];

/** Parses an ISO-8601 duration (PnDTnHnMnS, fractional seconds, PnW) into milliseconds, or undefined if invalid. */
export function parseIsoDuration(text: string): number | undefined {
  const m = DURATION.exec(text);
  if (m === null) return undefined;
  // "P", "PT" and "P1DT" carry no component (or an empty time part): invalid.
  if (text.endsWith('T')) return undefined;
  let total = 0;
  let seen = false;
  for (let i = 0; i < UNITS.length; i++) {
    const part = m[i + 2];
    if (part === undefined) continue;
    seen = true;
    total += Number(part.replace(',', '.')) * (UNITS[i] as number);
  }
  if (!seen) return undefined;
  total = Math.round(total);
  return m[1] === '-' && total !== 0 ? -total : total;
}
