import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Response } from 'express';
import { Eta } from 'eta';
import { helpers } from './format';

import type { SignedIn } from '../../services/console-sessions';

/** The console's sections, in the order of its navigation bar. */
export const SECTIONS = [
  { id: 'overview', label: 'Overview', href: '/console' },
  { id: 'deliveries', label: 'Deliveries', href: '/console/deliveries' },
  { id: 'replays', label: 'Replays', href: '/console/replays' },
  { id: 'destinations', label: 'Destinations', href: '/console/destinations' },
  { id: 'meters', label: 'Meters', href: '/console/meters' },
  { id: 'readiness', label: 'Readiness', href: '/console/readiness' },
] as const;

export type Section = (typeof SECTIONS)[number]['id'];

/** The console's templates and stylesheet: beside this file, or in the sources once compiled to dist/. */
export const CONSOLE_DIR = [__dirname, path.resolve(__dirname, '..', '..', '..', '..', 'src', 'http', 'console')].find((d) => existsSync(path.join(d, 'views'))) ?? __dirname;

/**
 * Templates in views/ (Eta): `<%= %>` escapes for HTML, and nothing here writes raw HTML from
 * data. Compiled once and kept.
 */
const eta = new Eta({ views: path.join(CONSOLE_DIR, 'views'), cache: true, autoEscape: true, autoTrim: [false, 'nl'] });

/** Render a page with what every page has: the signed-in key, its CSRF token, the section, the helpers, the time. */
export function render(res: Response, view: string, data: Record<string, unknown> & { title: string; section?: Section }, session: SignedIn | null): void {
  const html = eta.render(`./${view}`, { session, sections: SECTIONS, f: helpers, now: new Date(), ...data });
  res.type('html').send(html);
}
