import { REDACTED } from './redaction';

const SECRET_HEADER = /authorization|token|secret|api[-_]?key|password|cookie|signature-key/i;

/** Request headers as the attempt log keeps them: credentials replaced, signatures kept for debugging. */
export function redactHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = SECRET_HEADER.test(k) && k.toLowerCase() !== 'webhook-signature' ? REDACTED : v;
  return out;
}
