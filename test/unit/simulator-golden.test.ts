/**
 * Golden output of the simulator: for fixed seeds and a fixed sequence of calls, the exact JSON text
 * of every meter in every view (through the HTTP searches and single-meter routes, and through
 * `meter()`), of filtered search pages with their page tokens, and of the webhook events must not
 * change. The expected sha256 per (seed, phase, view) was computed from the renderer before it was
 * rewritten to build JSON text directly; any byte of difference fails here.
 *
 * To see the values: `GOLDEN_PRINT=1 npx mocha --require tsx/cjs --no-config test/unit/simulator-golden.test.ts`;
 * `GOLDEN_DUMP=/some/dir` also writes the texts, one file per (seed, phase, view), to diff.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Simulator } from '../../src/simulator';

const KEY = 'golden-key';
const AUTH = `Bearer ${KEY}`;
const METERS = 3000;
/** Page tokens carry their (real) issue time: frozen here so they are part of the golden output. */
const FROZEN_NOW = Date.parse('2026-06-10T12:34:56.789Z');

const EXPECTED: Record<string, string> = {
  'seed1/initial/details-search': 'f72a36d6cd4171811c77b766240fee37f8a5e9a2411cd503f377ba2af4a15fc4',
  'seed1/initial/enrollment-search': '1ed2101bd3e6bbce4192913482a7ccc70c998e422abfef7f1faaac6dd564e495',
  'seed1/initial/v1-search': '496db41383a042d96c5eafa8fb15f690e0def43bc8d2a784cad7a837c1b45087',
  'seed1/initial/details-search-default': 'f72a36d6cd4171811c77b766240fee37f8a5e9a2411cd503f377ba2af4a15fc4',
  'seed1/initial/filtered-search': '2835d5b9b93ad7eed63ddd0ffc387ef21d998efbd731c3f5b1ef62a7edfc834c',
  'seed1/initial/single-routes': 'fbd73f5e2c6950f39861aee01f4384f2545e55583ef1392cd066694719ac6597',
  'seed1/initial/meter-details': 'e958c273eeb5af48f6c778862968b48df4d6c5cdc68217fb9cda0dd431d7461f',
  'seed1/initial/meter-enrollment': '47870a19719be7c77bde25b61375dc4b45718ad1318e622d566f46481db728a7',
  'seed1/initial/meter-v1': '97c1a0366e9555264ff21ddab70c54d7d6459f28d67a09102c5f91105e6c44eb',
  'seed1/initial/events': '37517e5f3dc66819f61f5a7bb8ace1921282415f10551d2defa5c3eb0985b570',
  'seed1/advanced-48h/details-search': '4dc09a6a2ae167e6ee38297d734c8a641f6a9222eca3f2fdc62cb83d993529a2',
  'seed1/advanced-48h/enrollment-search': '7807ee3fcced139f2b8f6d7d575483892f5b54d46a72013c46ce247fc49c51cf',
  'seed1/advanced-48h/v1-search': '5f29f456b74e9b96f75bca29dcd53e89c9085f9939802cb5908f7ebd35ded640',
  'seed1/advanced-48h/details-search-default': '4dc09a6a2ae167e6ee38297d734c8a641f6a9222eca3f2fdc62cb83d993529a2',
  'seed1/advanced-48h/filtered-search': '3b52eb23aeafad11097390e5c9436d68d77536402456a5ec9b38713d23d5bffc',
  'seed1/advanced-48h/single-routes': 'f526aba61142d0a8af6e60e7ea835c2f739870ec2016dbf9c5ead6d87ce56026',
  'seed1/advanced-48h/meter-details': 'ce855d4483d00c808b2ec88678c27ef0f5f127f5b316f6ec18449b6bd789af4d',
  'seed1/advanced-48h/meter-enrollment': '242854c8055c947c47360ba16ba9079b123b625077f4327f66ca88056df3ed29',
  'seed1/advanced-48h/meter-v1': 'd4a85f2921b46b55a6374c04447f083c1a2612ad448055208857727cc9a77b7b',
  'seed1/advanced-48h/events': '028015e9d74fc67bd5552c4f5d9a8c08286913454536c5c01bd58b0597d1e131',
  'seed1/helpers/details-search': '889958f6de8d239c42106ca61cc064a03e2d427bf4325be864e929b9557c369e',
  'seed1/helpers/enrollment-search': '23eb9ed4f51bf4e25e63af937ac9ca9cfdd979beaf1fbba6e3548f3432d5a563',
  'seed1/helpers/v1-search': '682bedb2c05e9b1159c9fd69025c36e8d4702c63591879d6069836b14c578349',
  'seed1/helpers/details-search-default': '889958f6de8d239c42106ca61cc064a03e2d427bf4325be864e929b9557c369e',
  'seed1/helpers/filtered-search': 'b2ea61c83a67c2710382b2b61db04b65179a0f8d9ce7d8b51a91c32bb356154f',
  'seed1/helpers/single-routes': '8a9c19880e04e409e3eeb2b27c463a30702d4e55b04b6183d1859409f9b73149',
  'seed1/helpers/meter-details': '016358e24baebd777aac14fd6a7459d807c0c23940969eb266cb73fd0b042ee5',
  'seed1/helpers/meter-enrollment': '9e1069fc07683b54de1473b6149c566ae6e4a781f7c7ec1a1450a0e9eedcb3fc',
  'seed1/helpers/meter-v1': '0c51d921dab92f4c05cfa0c1bca7c3b2994dcd9574e0998221b02ea559f17cef',
  'seed1/helpers/events': 'cb01432b59fd1e8e37cc060354d5246f24955f3e82b5207433849db9b95d5f69',
  'seed1/advanced-40d/details-search': 'cfbd1fc95ff7361cccbc77af6444305748b38ac505f75d8b712f937aae6cd8f6',
  'seed1/advanced-40d/enrollment-search': 'b8303760a6f1d67285dd9a725f96e3ea20c41ee3a8d2d6a0bb5ee9941ef49021',
  'seed1/advanced-40d/v1-search': 'da2302af88c2a0d76afb45da0812c5636a77b804a0f3f74323172fc7f248cb55',
  'seed1/advanced-40d/details-search-default': 'cfbd1fc95ff7361cccbc77af6444305748b38ac505f75d8b712f937aae6cd8f6',
  'seed1/advanced-40d/filtered-search': '04401a8633b6d6d0c66be9712d437f370f1939b7af90d5387e7dc8b92aa4db1e',
  'seed1/advanced-40d/single-routes': 'f8db3a937fbbe83feb91868aa23dc471cea3844f5bbe41893ef6c1b621e0efd7',
  'seed1/advanced-40d/meter-details': '43b315d8e09eb59d25696a94557f58a97fdb22331e18791985273a01fb3ed5a0',
  'seed1/advanced-40d/meter-enrollment': 'd054bc1a9d2e478c35d46eb9c2a59a1a75a2bc6477ebb868ad34488b9edadd06',
  'seed1/advanced-40d/meter-v1': 'cc0556aa3ccd9d5ba142d0b1cc9d663b1a03b7ed22ed76657e0e8a7b0f008de6',
  'seed1/advanced-40d/events': 'df02dd7116a509a08d1573b4108ee6ff9e19802ad6fb9c8a7b2c9cf3741b26ea',
  'seed7/initial/details-search': 'ca1b3f85798d07e7ecfd12b856453eabd495c813b53ad4906308be0b20ef82c4',
  'seed7/initial/enrollment-search': '57a105bfcc11a28af70f30b2c9e5342b32467fd9824e327ab09ceaf1f0b9ad99',
  'seed7/initial/v1-search': 'e40cc1fea6581304c63edce3832305463cac100b1fc82ee571c5d92e01ec4311',
  'seed7/initial/details-search-default': 'ca1b3f85798d07e7ecfd12b856453eabd495c813b53ad4906308be0b20ef82c4',
  'seed7/initial/filtered-search': 'bf57f52457cb50fdacdf40fdc414f8b764c82d98d33ccad2717b18c40d08f2bd',
  'seed7/initial/single-routes': 'bddf6da908fe85f338eff8b78f26dbbdfdea69e52b107c2522c88cc30e640dfa',
  'seed7/initial/meter-details': 'eee7766ad12639653c3651c4e7984fd571ffb6062795afa15a864d56674bdf45',
  'seed7/initial/meter-enrollment': 'da5167e69c84dbcd1a2eb40a61c9c477f9e7813245ad7eb9a2987430041b6432',
  'seed7/initial/meter-v1': '65dc52e4ae64a494568d3efecb76e9769212311cf6be82f6f84932aae38628e6',
  'seed7/initial/events': '37517e5f3dc66819f61f5a7bb8ace1921282415f10551d2defa5c3eb0985b570',
  'seed7/advanced-48h/details-search': '310026faccaf983be1ede804b524b2b73258e32ff2f806fc5b1cd52f790118a9',
  'seed7/advanced-48h/enrollment-search': '0d35bb935e0c342acdc9f5d361ce7c457cb3e8d44e8d8607172f0c83b9b741c7',
  'seed7/advanced-48h/v1-search': 'c27f11888bd535338e619dac342f152141008bd77f466b842da43836c6becfab',
  'seed7/advanced-48h/details-search-default': '310026faccaf983be1ede804b524b2b73258e32ff2f806fc5b1cd52f790118a9',
  'seed7/advanced-48h/filtered-search': '7134d5dcc4c1b4f67c0133b1ed53ea08c493c875ff89d75192f1367fd0a5f744',
  'seed7/advanced-48h/single-routes': 'f1e6cdae2814a122aa4207c90877cdcf8c544eab8c39e0e959af88a33ffd135a',
  'seed7/advanced-48h/meter-details': '901c8ebb5ae9f9c089e001af7223c55e86c1b11a390a2dcb051d637b92b08777',
  'seed7/advanced-48h/meter-enrollment': '70e013322fa3e4eef08d908e9a55eb39ab9bbca47737b9583871d3ab5f9407c1',
  'seed7/advanced-48h/meter-v1': '489d6f53f7a30b0ca13cd979bb2a57ea6466c4edaae58b474f0ee1875db2e964',
  'seed7/advanced-48h/events': 'a5a195df349cd0b3b5871355739e9675c0168124986612594050e9104d2363cf',
  'seed7/helpers/details-search': 'f2ea213d88e6602e46ff40f2ad2c6f5ae8490a75252c947778570975c4ec7679',
  'seed7/helpers/enrollment-search': 'd05ee1a846f524c6c8a4e3df2febe28f075dba2106ccb99162768534b4aae00a',
  'seed7/helpers/v1-search': 'a222a33892ccf7a7e779b5c71c53117b8ca646d4a52e5693a304f0808369c4c5',
  'seed7/helpers/details-search-default': 'f2ea213d88e6602e46ff40f2ad2c6f5ae8490a75252c947778570975c4ec7679',
  'seed7/helpers/filtered-search': 'd410d49b6895e6504961e7ce10fb47a796a87a0d2547c104825843a7be41f0ad',
  'seed7/helpers/single-routes': '16a25e6b2700c6e04e5ef8844cdb3c2923912e8e6e1f4ce4d0592dfa5c0adeb6',
  'seed7/helpers/meter-details': '2a7ef615dd95f93fedb1424b03d9165c1a0da78abe8d8698f9566656f531b3bd',
  'seed7/helpers/meter-enrollment': '3a6147f4c7ae59dc970fbe4d0bae38a315640c345a6c1774e701eeb697a23448',
  'seed7/helpers/meter-v1': 'b3a5ea0c20edf8c41f1648b1951ae163fcbe9181f06e10c568dce8368fab3e8a',
  'seed7/helpers/events': 'd585450e5acdc78adf6eda74ba386fe15e8ee1b68f917282dafd97f9985eb313',
  'seed7/advanced-40d/details-search': 'b2a4d8e37a0b31b6bd251b03ed80e10d73a944319dcb6dc7f0a67631b9e0061e',
  'seed7/advanced-40d/enrollment-search': 'e72f913b211aab090a212ab26765c8cc33fe37605d8b1eb626a835e6ce2b14a2',
  'seed7/advanced-40d/v1-search': '897d9668ff86857bed01eaada84fed950a451363de049f965bf22c2647e48f1f',
  'seed7/advanced-40d/details-search-default': 'b2a4d8e37a0b31b6bd251b03ed80e10d73a944319dcb6dc7f0a67631b9e0061e',
  'seed7/advanced-40d/filtered-search': '9de7c5047ca93194b59235e0fb9a099c572bfd3965079b7c1da0fa08bf44beff',
  'seed7/advanced-40d/single-routes': '1d67b257e758ca816bdd3099b90bf065bc3976944f7bd1af282cab0fd9ba7272',
  'seed7/advanced-40d/meter-details': '881cfd36baa89feac088d3200733764485d5923b5b3023e3dcaef21e0d0e286d',
  'seed7/advanced-40d/meter-enrollment': '95aced3403a98bfca81a37b3ae3a4d1b678ef64bb39a7c35d4081d995b296a5c',
  'seed7/advanced-40d/meter-v1': '2dc34ae8ecd42de5db6d1c52f0e8d8226bd24de3c42de73e881300d313f3b3cb',
  'seed7/advanced-40d/events': '170458fb7634a89cf35fb36140a41d7604adac18034a23d9dc52ef1f8f2a61b8',
};

type Texts = Map<string, string[]>;

/** The simulator's app on a local port, for the duration of `run`. */
async function serve<T>(sim: Simulator, run: (get: Http) => Promise<T>): Promise<T> {
  const server = sim.app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const http: Http = async (path, body) => {
    const res = await fetch(base + path, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: AUTH, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    assert.equal(res.status, 200, text.slice(0, 500));
    return text;
  };
  try {
    return await run(http);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

type Http = (path: string, body?: Record<string, unknown>) => Promise<string>;

async function searchAll(http: Http, path: string, body: Record<string, unknown>, out: string[]): Promise<void> {
  let token: string | undefined;
  let pages = 0;
  do {
    const text = await http(path, { ...body, ...(token ? { page_token: token } : {}) });
    out.push(text);
    const parsed = JSON.parse(text) as { next_page_token?: string | null };
    token = typeof parsed.next_page_token === 'string' ? parsed.next_page_token : undefined;
    pages++;
  } while (token && pages < 50);
}

/** Every text the outside world can see of the portfolio now, grouped by view. */
async function capture(sim: Simulator, http: Http): Promise<Texts> {
  const texts: Texts = new Map();
  const add = (key: string): string[] => {
    const list: string[] = [];
    texts.set(key, list);
    return list;
  };
  const v1Path = `/v1.1/account/${sim.accountId}/meters/search`;
  await searchAll(http, '/v2/meters/search', { page_size: 500 }, add('details-search'));
  await searchAll(http, '/v2/meters/enrollments/search', { page_size: 500 }, add('enrollment-search'));
  await searchAll(http, v1Path, { page_size: 500 }, add('v1-search'));
  await searchAll(http, '/v2/meters/search', {}, add('details-search-default'));

  const filtered = add('filtered-search');
  const since = new Date(sim.now().getTime() - 30 * 86_400_000).toISOString();
  await searchAll(http, '/v2/meters/search', { page_size: 137, global_enrollment_statuses: ['ACTIVE', 'NOT_PARTICIPATING'] }, filtered);
  await searchAll(http, '/v2/meters/enrollments/search', { page_size: 211, transmission_region: 'CAISO', exclude_archived: true }, filtered);
  await searchAll(http, '/v2/meters/enrollments/search', { page_size: 50, action_type: ['IS_ASSIGNED_TO_A_RESOURCE', 'NO_MISSING_FIELDS'] }, filtered);
  await searchAll(http, '/v2/meters/search', { page_size: 300, last_modified_date_time: since, meter_types: ['DEVICE'] }, filtered);
  await searchAll(http, '/v2/meters/enrollments/search', { page_size: 99, partner_action_required: true }, filtered);
  await searchAll(http, '/v2/meters/search', { meter_ids: sim.meterIds({ limit: 40 }).filter((_, k) => k % 3 === 0) }, filtered);
  await searchAll(http, v1Path, { page_size: 77, date_last_modified: since }, filtered);

  const ids = sim.meterIds();
  const single = add('single-routes');
  for (let k = 0; k < ids.length; k += 97) {
    for (const path of [`/v2/meters/${ids[k]}`, `/v2/meters/${ids[k]}/enrollments`, `/v1.1/account/${sim.accountId}/meters/${ids[k]}`]) {
      single.push(await http(path));
    }
  }
  const details = add('meter-details');
  const enrollment = add('meter-enrollment');
  const v1 = add('meter-v1');
  for (const id of ids) {
    const views = sim.meter(id);
    details.push(JSON.stringify(views.details));
    enrollment.push(JSON.stringify(views.enrollment));
    v1.push(JSON.stringify(views.v1));
  }
  add('events').push(JSON.stringify(sim.events()));
  return texts;
}

/** Scenario helpers: each kind at least once, on meters picked by status so the sequence is fixed per seed. */
function scenario(sim: Simulator): void {
  const eligible = sim.meterIds({ status: 'ELIGIBLE', includeArchived: false, limit: 20 });
  const active = sim.meterIds({ status: 'ACTIVE', includeArchived: false, limit: 60 });
  const pending = sim.meterIds({ status: 'PENDING', includeArchived: false, limit: 10 });
  const np = sim.meterIds({ status: 'NOT_PARTICIPATING', includeArchived: false, limit: 10 });
  const all = sim.meterIds({ includeArchived: false });

  sim.authorize({ count: 3, partnerReference: 'golden-site-1' });
  sim.authorize({ count: 2, region: 'NYISO', deviceType: 'BATTERY', meterType: 'DEVICE' });
  sim.authorize({ count: 1, region: 'ISONE', meterType: 'SUBMETER' });
  sim.authorize({ count: 2, partnerReference: sim.meter(active[0]).details.partner_reference as string | undefined });
  sim.activate(eligible[0]);
  sim.activate(eligible[1], sim.marketGroupsFor(eligible[1])[1].name);
  sim.addPartnerAction(active[1], 'SERV_0005');
  sim.addPartnerAction(pending[0], 'AUTH_0001');
  sim.addPartnerAction(eligible[2], 'MRKT_0002', { keepStatus: true });
  sim.addPartnerAction(eligible[3], 'SERV_0005');
  sim.clearPartnerActions(eligible[3]);
  sim.setLeapActions(active[2], ['LEAP_0001', 'MRKT_0001']);
  sim.setLeapActions(pending[1], ['MRKT_0001']);
  const group = sim.marketGroupsFor(active[3])[0].id;
  sim.setMarketGroup([active[3], ...active.slice(17).filter((id) => sim.marketGroupsFor(id)[0].id === group).slice(0, 2)], group);
  const tomorrow = new Date(sim.now().getTime() + 86_400_000).toISOString().slice(0, 10);
  sim.setMarketGroup(active[6], sim.marketGroupsFor(active[6])[1].name, { fromTradeDate: tomorrow });
  sim.setParticipation(active[7], 'IDLE');
  sim.setParticipation(active[8], 'IDLE', { end: new Date(sim.now().getTime() + 5 * 86_400_000) });
  sim.setParticipation(active[9], 'DISENROLL');
  sim.setParticipation(np[0], 'PARTICIPATE');
  sim.setStatus(active[10], 'INELIGIBLE');
  sim.setStatus(pending[2], 'ELIGIBLE');
  for (let k = 0; k < 40; k++) {
    const id = all[(k * 71) % all.length];
    sim.editDetails(id, { address: k % 2 === 0, tariff: k % 3 === 0, device: k % 4 !== 1 });
    if (k % 5 === 0) sim.editDetails(id, { address: true, device: true });
  }
  sim.archive(active[11]);
  sim.archive(eligible[4]);
  sim.setPartnerReference(active[12], 'hand-set "quoted" \\ ref\u00e9\u2028');
  sim.setPartnerReference(eligible[5], 'ab');
  sim.addUnknownField(active[13], 'grid_zone_v3', { name: 'ZONE J', list: [1, 2.5, null, 'x'] });
  sim.addUnknownField(active[14], 'flex_capacity_tier', 'GOLD', ['details']);
  sim.addUnknownField(active[14], 'meter_type', 'OVERRIDDEN', ['details', 'v1']);
  sim.addUnknownField(active[15], '7', true, ['enrollment']);
  sim.addUnknownField(active[15], 'dropped', undefined, ['v1']);
  sim.addUnknownField(active[16], 'when', new Date('2026-01-02T03:04:05Z'));
}

describe('simulator golden output', function () {
  this.timeout(300_000);
  const realNow = Date.now;
  const computed: Record<string, string> = {};
  before(() => {
    Date.now = () => FROZEN_NOW;
  });
  after(() => {
    Date.now = realNow;
    if (process.env.GOLDEN_PRINT) console.log(JSON.stringify(computed, null, 2));
  });

  const runs: [number, string][] = [
    [1, '2026-06-10T12:00:00Z'],
    [7, '2025-11-01T07:00:00Z'],
  ];
  for (const [seed, start] of runs) {
    it(`seed ${seed} from ${start}: same text for every meter in every view, through evolution and helpers`, async () => {
      const sim = new Simulator({ meters: METERS, seed, apiKey: KEY, start: new Date(start) });
      const phases: [string, () => void][] = [
        ['initial', () => undefined],
        ['advanced-48h', () => void sim.advance(48)],
        ['helpers', () => scenario(sim)],
        ['advanced-40d', () => void sim.advance(24 * 40)],
      ];
      const mismatches: string[] = [];
      for (const [phase, step] of phases) {
        step();
        const texts = await serve(sim, (http) => capture(sim, http));
        for (const [view, list] of texts) {
          const key = `seed${seed}/${phase}/${view}`;
          const hash = createHash('sha256');
          for (const t of list) hash.update(t).update('\n');
          computed[key] = hash.digest('hex');
          if (process.env.GOLDEN_DUMP) {
            mkdirSync(process.env.GOLDEN_DUMP, { recursive: true });
            writeFileSync(join(process.env.GOLDEN_DUMP, key.replaceAll('/', '_')), list.join('\n'));
          }
          if (!process.env.GOLDEN_PRINT && computed[key] !== EXPECTED[key]) mismatches.push(key);
        }
      }
      await sim.close();
      assert.deepEqual(mismatches, []);
    });
  }
});
