/** What replaces a secret in logs, error bodies and stored headers. */
export const REDACTED = '[REDACTED]';
