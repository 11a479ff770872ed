import assert from 'node:assert/strict';
import type { Knex } from 'knex';
import request from 'supertest';
import type { Express } from 'express';

/** What a hostile Leap record, partner or receiver might send, to be shown inert. */
export const HOSTILE = {
  script: '<script>window.__pwned=1</script>',
  attribute: '"><img src=x onerror="window.__pwned=1">',
  url: 'javascript:window.__pwned=1',
};
export const HOSTILE_TEXTS = Object.values(HOSTILE);

/** The hidden field's value in a form of the page. */
export function hiddenValue(html: string, name: string): string {
  const m = new RegExp(`name="${name}" value="([^"]*)"`).exec(html);
  assert.ok(m, `the page has a ${name} field`);
  return m[1]!;
}

/** A browser-like client (cookies kept) signed in with the key. */
export async function signedIn(app: Express, key: string): Promise<{ agent: ReturnType<typeof request.agent>; csrf: string }> {
  const agent = request.agent(app);
  const login = await agent.get('/console/login').expect(200);
  await agent.post('/console/login').type('form').send({ _login: hiddenValue(login.text, '_login'), key, next: '/console' }).expect(303);
  const page = await agent.get('/console').expect(200);
  return { agent, csrf: hiddenValue(page.text, '_csrf') };
}

/**
 * Plant hostile text in a stored meter as Leap would send it: the street (an attribute break-out),
 * the device model (a script), the city (a javascript: URL), and a participation reason.
 */
export async function plantHostileMeter(knex: Knex, meterId: string): Promise<void> {
  const ref = ((await knex('meters').where({ meter_id: meterId }).first('id')) as { id: number }).id;
  const parts = (await knex('meter_raw_parts').where({ meter_ref: ref })) as { part: string; json: string | Buffer }[];
  for (const p of parts) {
    const json = JSON.parse(String(p.json)) as Record<string, unknown>;
    const section = (k: string) => (json[k] && typeof json[k] === 'object' ? (json[k] as Record<string, unknown>) : {});
    if (p.part === 'details' || p.part === 'v1') {
      json.customer = { ...section('customer'), street_1: HOSTILE.attribute, city: HOSTILE.url };
      json.device = { ...section('device'), device_model: HOSTILE.script, device_manufacturer: HOSTILE.attribute };
    }
    const preferences = json.participation_preferences;
    if (p.part === 'enrollment' && Array.isArray(preferences) && preferences.length) (preferences[0] as Record<string, unknown>).reason = HOSTILE.script;
    await knex('meter_raw_parts').where({ meter_ref: ref, part: p.part }).update({ json: JSON.stringify(json) });
  }
}

/** The page shows each hostile text only escaped: no tag, attribute or URL of it is live. */
export function assertInert(html: string, where: string): void {
  assert.ok(!html.includes('<script'), `${where}: no script element`);
  assert.ok(!/<img[^>]*onerror/i.test(html), `${where}: no injected image`);
  assert.ok(!/href="\s*javascript:/i.test(html), `${where}: no javascript: link`);
  for (const text of [HOSTILE.script, HOSTILE.attribute]) assert.ok(!html.includes(text), `${where}: ${text} is shown only escaped`);
}
