/** What the runner needs of one PingSource (resolved: the sink is already a URI). */
export interface PingSpec {
  namespace: string;
  name: string;
  /** Cron: 5 fields, 6 with leading seconds, or a descriptor (`@hourly`, `@daily`…); `@every` is refused. */
  schedule: string;
  /** IANA time zone the schedule is read in; UTC when absent. */
  timezone?: string;
  contentType?: string;
  /** Payload as text (sent as its UTF-8 bytes); ignored when `dataBase64` is set. */
  data?: string;
  /** Payload as base64 (decoded and sent as raw bytes). */
  dataBase64?: string;
  ceOverrides?: { extensions?: Record<string, string> };
  sinkUri: string;
}
