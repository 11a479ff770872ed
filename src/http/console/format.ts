/**
 * How the console shows values: times in UTC with their age, durations, status words with a
 * colour class. Every function answers plain text; the templates escape it.
 */

/** `2026-12-07 11:32:05 UTC`, or an em dash for nothing. */
export function time(iso: string | Date | null | undefined): string {
  if (!iso) return '—';
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** `3 min ago`, `in 2 h`, from `now`. */
export function ago(iso: string | Date | null | undefined, now: Date): string {
  if (!iso) return '';
  const d = typeof iso === 'string' ? new Date(iso) : iso;
  const ms = now.getTime() - d.getTime();
  const text = span(Math.abs(ms));
  return ms >= 0 ? `${text} ago` : `in ${text}`;
}

/** A length of time in the largest sensible unit: `850 ms`, `12 s`, `4 min`, `3 h 20 min`, `2 d 4 h`. */
export function span(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** Between two times, or from a start to `now` while unfinished. */
export function between(start: string | null, end: string | null, now: Date): string {
  if (!start) return '—';
  return span((end ? new Date(end) : now).getTime() - new Date(start).getTime());
}

/** 12,345 */
export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? '—' : n.toLocaleString('en-US');
}

/** The first `max` characters, with a note of how much was left out. */
export function truncate(text: string | null | undefined, max = 2000): string {
  if (text === null || text === undefined) return '';
  return text.length > max ? `${text.slice(0, max)}… (${(text.length - max).toLocaleString('en-US')} more characters)` : text;
}

/** JSON text indented for reading; text that is not JSON as it is. */
export function pretty(text: string | null | undefined): string {
  if (!text) return '';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2) ?? 'null';
}

type Tone = 'good' | 'bad' | 'warn' | 'wait' | 'quiet';

const TONES: Record<string, Tone> = {
  delivered: 'good',
  succeeded: 'good',
  ready: 'good',
  active: 'good',
  matched: 'good',
  dead: 'bad',
  failed: 'bad',
  overdue: 'bad',
  not_ready: 'bad',
  breaker_open: 'bad',
  gone: 'bad',
  interrupted: 'warn',
  retrying: 'warn',
  paused: 'warn',
  awaiting: 'warn',
  missing: 'warn',
  extra: 'warn',
  pending: 'wait',
  delivering: 'wait',
  running: 'wait',
  queued: 'wait',
  disabled: 'quiet',
  not_required: 'quiet',
};

/** A status as a word and the colour class that goes with it (the word is always shown). */
export function badge(status: string | null | undefined): { word: string; tone: Tone } {
  const s = status ?? 'unknown';
  return { word: s.replace(/_/g, ' '), tone: TONES[s] ?? 'quiet' };
}

/** A destination's state as support reads it: a breaker that opened is not a manual pause. */
export function destinationState(d: { state: string; paused_reason: string | null }): string {
  if (d.state !== 'paused') return d.state;
  if (d.paused_reason === 'failures') return 'breaker_open';
  if (d.paused_reason === 'gone') return 'gone';
  return 'paused';
}

/** The helpers every template gets as `it.f`. */
export const helpers = { time, ago, span, between, count, truncate, pretty, json, badge, destinationState };
export type Helpers = typeof helpers;
