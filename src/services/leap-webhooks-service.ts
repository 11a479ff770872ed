import type { LeapClient } from '../clients/leap-client';
import type { LeapWebhookSubscription } from '../clients/leap-webhook-types';
import { LEAP_WEBHOOK_EVENT_TYPES } from '../domain/leap-types';
import { AppError } from '../errors';

/** The meter events the connector refreshes on; connect_session events name no meter. */
export const DEFAULT_LEAP_EVENT_TYPES = LEAP_WEBHOOK_EVENT_TYPES.filter((t) => t.startsWith('meter.'));

export interface RegisterResult {
  webhookId: string;
  created: boolean;
  url: string;
  eventTypes: string[];
}

/**
 * The connector's subscription to Leap's webhooks. Leap's PUT replaces every setting of a
 * subscription, so an update re-sends everything the subscription already had.
 */
export class LeapWebhooksService {
  constructor(
    private readonly leap: LeapClient,
    private readonly settings: { headerName: string; secret: string; publicUrl: string },
  ) {}

  async register(opts: { url?: string; eventTypes?: string[] } = {}): Promise<RegisterResult> {
    const url = opts.url ?? this.settings.publicUrl;
    if (!url) throw new AppError(400, 'leap_webhook_url_missing', 'Give --url or set leap_events.public_url: the address where Leap reaches POST /leap/events');
    if (!/^https?:\/\//.test(url)) throw new AppError(400, 'leap_webhook_url_invalid', `not an http(s) URL: ${url}`);
    if (!this.settings.secret) throw new AppError(400, 'leap_webhook_secret_missing', 'Set leap_events.secret (LEAP_WEBHOOK_SECRET) first: Leap sends it back in a header and /leap/events checks it');
    const name = this.settings.headerName.toLowerCase();
    const wanted = opts.eventTypes?.length ? opts.eventTypes : [...DEFAULT_LEAP_EVENT_TYPES];
    const existing = (await this.leap.listWebhooks()).find((w) => w.receiver_url === url);
    if (!existing) {
      const r = await this.leap.createWebhook({ receiver_url: url, event_types: wanted, headers: [{ name, value: this.settings.secret }] });
      return { webhookId: r.webhook_id, created: true, url, eventTypes: wanted };
    }
    // Keep what the subscription already has; add our event types and (re)set our header.
    const eventTypes = [...new Set([...existing.event_types, ...wanted])];
    const headers = [...(existing.headers ?? []).filter((h) => h.name.toLowerCase() !== name), { name, value: this.settings.secret }];
    await this.leap.updateWebhook(existing.webhook_id, { receiver_url: url, event_types: eventTypes, headers });
    return { webhookId: existing.webhook_id, created: false, url, eventTypes };
  }

  /** Subscriptions with header values hidden: Leap echoes secrets back. */
  async list(): Promise<LeapWebhookSubscription[]> {
    return (await this.leap.listWebhooks()).map((w) => ({ ...w, headers: (w.headers ?? []).map((h) => ({ name: h.name, value: h.value ? '********' : '' })) }));
  }

  delete(webhookId: string): Promise<void> {
    return this.leap.deleteWebhook(webhookId);
  }
}
