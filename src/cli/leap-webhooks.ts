import { Option, type Command } from 'commander';
import type { Runtime } from '../compose/runtime';
import { LEAP_WEBHOOK_EVENT_TYPES } from '../domain/leap-types';
import { LeapWebhooksService } from '../services/leap-webhooks-service';
import type { OpenCommandRuntime } from './support';

/** `leap-webhooks register|list|delete`: the connector's subscription to Leap's own webhooks. */
export function addLeapWebhookCommands(program: Command, open: OpenCommandRuntime): void {
  const hooks = program.command('leap-webhooks').description("manage the connector's subscription to Leap's own webhooks");
  const withService = async (fn: (service: LeapWebhooksService) => Promise<void>): Promise<void> => {
    const runtime: Runtime = await open({ announce: (line) => console.error(line) });
    const c = runtime.composed.config;
    try {
      await fn(new LeapWebhooksService(runtime.composed.leap, { headerName: c.leap_events.header_name, secret: c.leap_events.secret, publicUrl: c.leap_events.public_url }));
    } finally {
      await runtime.close();
    }
  };
  hooks
    .command('register')
    .description("subscribe (or update the subscription of) the connector's /leap/events URL; other settings of an existing subscription are kept")
    .option('--url <url>', 'where Leap reaches POST /leap/events (default: leap_events.public_url)')
    .addOption(new Option('--events <types...>', 'event types').choices([...LEAP_WEBHOOK_EVENT_TYPES]))
    .action(async (opts: { url?: string; events?: string[] }) =>
      withService(async (service) => {
        const r = await service.register({ url: opts.url, eventTypes: opts.events });
        console.log(`${r.created ? 'created' : 'updated'} Leap webhook ${r.webhookId} → ${r.url} (${r.eventTypes.join(', ')})`);
      }),
    );
  hooks
    .command('list')
    .description("list Leap's webhook subscriptions for this account (header values hidden)")
    .action(async () =>
      withService(async (service) => {
        const subs = await service.list();
        if (!subs.length) console.log('no subscriptions');
        for (const s of subs) console.log(`${s.webhook_id}  ${s.receiver_url}\n  events: ${s.event_types.join(', ')}\n  headers: ${(s.headers ?? []).map((h) => `${h.name}: ${h.value}`).join(', ') || '(none)'}`);
      }),
    );
  hooks
    .command('delete')
    .description('delete a subscription by id')
    .argument('<webhook_id>')
    .action(async (id: string) =>
      withService(async (service) => {
        await service.delete(id);
        console.log(`deleted Leap webhook ${id}`);
      }),
    );
}
