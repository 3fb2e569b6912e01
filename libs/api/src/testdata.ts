/** A self-signed certificate for CACerts tests. */
export const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBdTCCARugAwIBAgIUVNG2yrYLoiFZG2rin1kfpxVhkUgwCgYIKoZIzj0EAwIw
DzENMAsGA1UEAwwEdGVzdDAgFw0yNjExMjUxNjA2NDZaGA8yMTI2MTEwMTE2MDY0
NlowDzENMAsGA1UEAwwEdGVzdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABIa2
hiPtZOlKK92nlKxvNaVDcK4vKlLtCKX4LzPONRhCTNp+QJMYR97z3bzMQ2raHYKB
gjpt5bkKYivGXgxDCNOjUzBRMB0GA1UdDgQWBBTuMxIdrVyxXih0asHED56fhcuu
7TAfBgNVHSMEGDAWgBTuMxIdrVyxXih0asHED56fhcuu7TAPBgNVHRMBAf8EBTAD
AQH/MAoGCCqGSM49BAMCA0gAMEUCICfFD4442zpbVLEmHqK6HnqLKy2h5p5Xp6aN
kYkDcw2FAiEA4++3oVZcJYaof863ZFZZ6n04rPYsqvbLGTRf2BZ9MpA=
-----END CERTIFICATE-----
`;

/** Sets `value` at a dotted path in a deep copy of `obj` (undefined deletes). */
export function withPath<T>(obj: T, path: string, value: unknown): T {
  const copy = structuredClone(obj) as Record<string, unknown>;
  const keys = path.split('.');
  let cur: Record<string, unknown> = copy;
  for (const k of keys.slice(0, -1)) {
    if (typeof cur[k] !== 'object' || cur[k] === null) cur[k] = {};
    cur = cur[k] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1] as string;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
  return copy as T;
}
