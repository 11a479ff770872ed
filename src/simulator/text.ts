/**
 * Helpers for writing JSON text fast in V8. A meter view is built by `+` from short pieces: V8
 * makes each concatenation of 13 characters or more a rope node, and flattening a page of ropes
 * costs per node, so the renderer keeps the number of nodes low. Runs of constant text and
 * values from small catalogs are joined once into fragments (tables below) and reused; only
 * per-meter values (ids, serials, dates, numbers) are concatenated per meter.
 */
import * as catalog from './catalog';
import * as regions from './regions';

const {
  AUTH_0001_DESCRIPTION,
  CLASSIFICATIONS,
  COMPANIES,
  CREATED_BY,
  CUSTOMER_GROUPS,
  DEVICE_MODELS,
  DISENROLL_REASONS,
  EMAIL_DOMAINS,
  FIRST_NAMES,
  IDLE_REASONS,
  INSTALLERS,
  LAST_NAMES,
  LEAP_0001_NOMINATIONS,
  LEAP_0001_UNASSIGNED,
  METER_TYPE_CODES,
  MONTH_ABBR,
  MRKT_0001_DESCRIPTION,
  MRKT_0002_DESCRIPTION,
  OFFERINGS,
  OPEN_ENDED_SENTINELS,
  PARTNER_ACTIONS,
  PREFERENCES,
  PROGRAMS,
  STATUS_CODES,
  STREETS,
  TITLES,
  UNITS,
  V1_PREFERENCE,
  V1_STATUS,
} = catalog;
const { REGIONS, UTILITY_REFS } = regions;

/**
 * The renderer writes catalog strings into JSON as they are. This checks, once at load, that none
 * needs escaping (no quote, backslash, control character or lone surrogate, upper-cased too as v1
 * addresses are): a catalog edit that breaks it fails here rather than producing invalid JSON.
 */
export function assertCatalogIsPlainText(): void {
  const all: string[] = [
    AUTH_0001_DESCRIPTION,
    MRKT_0002_DESCRIPTION,
    MRKT_0001_DESCRIPTION,
    LEAP_0001_NOMINATIONS,
    LEAP_0001_UNASSIGNED,
    ...CLASSIFICATIONS,
    ...COMPANIES,
    ...CREATED_BY,
    ...CUSTOMER_GROUPS,
    ...DISENROLL_REASONS,
    ...EMAIL_DOMAINS,
    ...FIRST_NAMES,
    ...IDLE_REASONS,
    ...INSTALLERS,
    ...LAST_NAMES,
    ...METER_TYPE_CODES,
    ...MONTH_ABBR,
    ...OFFERINGS,
    ...OPEN_ENDED_SENTINELS,
    ...PREFERENCES,
    ...STATUS_CODES,
    ...STREETS,
    ...TITLES,
    ...UNITS,
    ...V1_PREFERENCE,
    ...V1_STATUS,
    ...PARTNER_ACTIONS.flatMap((a) => [a.code, a.actionType]),
    ...Object.values(PROGRAMS).flatMap((p) => [p.id, p.periodPrefix]),
    ...DEVICE_MODELS.flatMap((m) => [m.type, m.manufacturer, m.model, m.serialPrefix, m.evseLevel ?? '', m.fuel ?? '']),
    ...REGIONS.map((r) => r.code),
    ...UTILITY_REFS.flatMap(({ utility: u }) => [
      u.code,
      ...u.tariffs,
      ...u.commercialTariffs,
      ...u.lse,
      ...u.programs,
      ...u.groupStems,
      ...u.loadZones,
      ...u.cities.flatMap((c) => [c.name, c.state, c.areaCode, ...c.zips]),
    ]),
  ];
  for (const s of all) {
    if (!isPlain(s) || !isPlain(s.toUpperCase())) {
      throw new Error(`simulator catalog string ${JSON.stringify(s)} needs JSON escaping; the renderer writes catalog strings as they are`);
    }
  }
}

/** True when JSON.stringify(s) is s in quotes. */
export function isPlain(s: string): boolean {
  return JSON.stringify(s) === `"${s}"`;
}

/** A flat copy of `s`: a table entry then joins a rope as one node. */
export function flat(s: string): string {
  return JSON.parse(JSON.stringify(s)) as string;
}

/** Text fragments keyed by a small integer, built on first use. */
export class Fragments {
  private readonly texts: (string | undefined)[];

  constructor(
    size: number,
    private readonly build: (key: number) => string,
  ) {
    this.texts = new Array<string | undefined>(size).fill(undefined);
  }

  get(key: number): string {
    const text = this.texts[key];
    return text !== undefined ? text : this.fill(key);
  }

  private fill(key: number): string {
    if (!(key >= 0 && key < this.texts.length)) throw new RangeError(`fragment key ${key} out of range`);
    const text = flat(this.build(key));
    this.texts[key] = text;
    return text;
  }
}

export const bool = (b: boolean): string => (b ? 'true' : 'false');

/**
 * UTF-8 bytes written text by text into one growing buffer: a search page's meter texts go
 * straight into the response body, with no page-sized string built and then encoded again.
 */
export class Utf8Writer {
  private buf: Buffer;
  private length = 0;

  constructor(capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  write(text: string): void {
    // At most three bytes per UTF-16 unit.
    const need = this.length + text.length * 3;
    if (need > this.buf.length) this.grow(need);
    this.length += this.buf.write(text, this.length, 'utf8');
  }

  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }

  private grow(need: number): void {
    const next = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
}
