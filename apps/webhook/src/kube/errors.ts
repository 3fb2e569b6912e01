/** A short description of an error from the Kubernetes client (status code and message when there are). */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const code =
      (err as { code?: unknown; statusCode?: unknown }).code ?? (err as { statusCode?: unknown }).statusCode;
    const body = (err as { body?: unknown }).body;
    let message = err.message.split('\n')[0] ?? err.message;
    if (typeof body === 'string') {
      try {
        const status = JSON.parse(body) as { message?: string };
        if (status.message) message = status.message;
      } catch {
        // not a Status document
      }
    }
    return typeof code === 'number' ? `${code}: ${message}` : message;
  }
  return String(err);
}

/** The HTTP status of a failed Kubernetes API call, when it has one. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' ? code : undefined;
}
