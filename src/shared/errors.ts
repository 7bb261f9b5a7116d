// Every failure the proxy reports has a stable code. Config problems carry the field path.

export class OrionError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = 'OrionError';
  }
}

/** A problem found while loading or translating configuration. */
export interface ConfigIssue {
  /** Dotted field path from the document root, e.g. `static_resources.listeners[0].address`. */
  path: string;
  message: string;
  severity: 'error' | 'warning';
}

export class ConfigError extends OrionError {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super('ORION_CONFIG_INVALID', issues.filter((i) => i.severity === 'error').map((i) => `${i.path}: ${i.message}`).join('\n'));
    this.issues = issues;
    this.name = 'ConfigError';
  }
}
