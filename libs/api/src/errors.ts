/** One validation failure, naming the full field path (e.g. `spec.filters[2].exact`). */
export class FieldError {
  constructor(
    public path: string,
    public message: string,
  ) {}

  /** Renders `path: message`. */
  toString(): string {
    return `${this.path}: ${this.message}`;
  }
}

/** Joins a parent path and a property name: `join('spec', 'delivery')` → `spec.delivery`. */
export function joinPath(parent: string, field: string): string {
  return parent === '' ? field : `${parent}.${field}`;
}

/** Appends an index or map key: `indexPath('spec.filters', 2)` → `spec.filters[2]`. */
export function indexPath(parent: string, key: string | number): string {
  return `${parent}[${key}]`;
}

/** Renders a list of errors one per line, for logs and HTTP bodies. */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => e.toString()).join('\n');
}
