import { type Command, InvalidArgumentError } from 'commander';
import { generateSecret, secretProblem } from '../domain/signing';
import { startReceiver, type ReceivedDelivery, type RunningReceiver } from '../receiver/receiver';
import type { ReadinessConfirmation } from '../receiver/readiness-confirmer';
import { integer, port } from './options';

function secret(value: string, previous: string[] = []): string[] {
  const problem = secretProblem(value);
  // The value itself is never echoed: it is a secret even when malformed.
  if (problem) throw new InvalidArgumentError(`secret ${problem}`);
  return [...previous, value];
}

/** One line per delivery: what a partner's on-call would want to see scroll by. */
export function deliveryLine(d: ReceivedDelivery): string {
  const verdict = d.valid ? (d.duplicate ? 'valid duplicate' : d.outOfOrder ? 'valid OUT OF ORDER' : 'valid') : `INVALID (${d.reason ?? 'unknown'})`;
  const seq = d.sequence === null ? '#-' : `#${d.sequence}`;
  return `${(d.type ?? '(no type)').padEnd(46)} ${d.meterId ?? '(no meter)'} ${seq}  ${verdict}  ${d.status}  ${d.id ?? '(no webhook-id)'}`;
}

/** `leap-connector receiver`: the sample partner receiver, for demos and for pointing a destination at. */
export function addReceiverCommand(program: Command): Command {
  const cmd = program.command('receiver');
  return cmd
    .description('run the sample partner receiver: verifies Standard Webhooks signatures, de-duplicates on webhook-id, reports out-of-order sequences')
    .option('--port <n>', 'port to listen on', port, 4020)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--secret <whsec>', "a destination's signing secret; repeat during a rotation (also $RECEIVER_SECRETS, space-separated)", secret)
    .option('--confirm-readiness <connector_url>', "confirm dispatch readiness to this connector for every meter heard activated (the key comes from $PARTNER_API_KEY)")
    .option('--confirm-delay <ms>', 'with --confirm-readiness: wait this long first, as commissioning would', integer('confirm-delay', 0, 3_600_000), 2000)
    .option('--quiet', 'do not print a line per delivery')
    .action(async (opts: { port: number; host: string; secret?: string[]; quiet?: boolean; confirmReadiness?: string; confirmDelay: number }) => {
      const fromEnv = (process.env.RECEIVER_SECRETS ?? '').split(/\s+/).filter(Boolean);
      for (const s of fromEnv) {
        const problem = secretProblem(s);
        if (problem) cmd.error(`error: a secret in RECEIVER_SECRETS ${problem}`);
      }
      const secrets = [...(opts.secret ?? []), ...fromEnv];
      if (!secrets.length) {
        // A fresh secret in the message saves a step: paste it into the destination and here.
        cmd.error(`error: no secret: pass --secret whsec_... (or set RECEIVER_SECRETS); for example a fresh one: ${generateSecret()}`);
      }
      let confirmReadiness: ReadinessConfirmation | undefined;
      if (opts.confirmReadiness) {
        if (!/^https?:\/\/[^/]/.test(opts.confirmReadiness)) cmd.error('error: --confirm-readiness takes the connector\'s base URL, e.g. http://127.0.0.1:8080');
        const apiKey = process.env.PARTNER_API_KEY;
        if (!apiKey) cmd.error('error: --confirm-readiness needs a partner key in PARTNER_API_KEY (a key is never taken on the command line)');
        confirmReadiness = { connectorUrl: opts.confirmReadiness, apiKey: apiKey!, delayMs: opts.confirmDelay };
      }
      let running: RunningReceiver;
      try {
        running = await startReceiver({ secrets, port: opts.port, host: opts.host, confirmReadiness });
      } catch (err) {
        return cmd.error(`error: cannot listen on ${opts.host}:${opts.port}: ${err instanceof Error ? err.message : String(err)}`);
      }
      console.log(`sample receiver listening on ${running.url} (${secrets.length} secret${secrets.length === 1 ? '' : 's'}); post deliveries to any path, state at ${running.url}/_receiver/state`);
      if (confirmReadiness) console.log(`confirming readiness to ${confirmReadiness.connectorUrl} ${confirmReadiness.delayMs} ms after each meter.enrollment.activated`);
      if (!opts.quiet) running.receiver.onDelivery((d) => console.log(deliveryLine(d)));
      const shutdown = (): void => {
        const s = running.receiver.stats();
        const c = running.receiver.confirmations();
        console.log(`received ${s.received}: ${s.accepted} accepted, ${s.duplicates} duplicates, ${s.invalid} invalid, ${s.out_of_order} out of order${c ? `; readiness confirmed for ${c.confirmed} meters` : ''}`);
        void running.close().then(() => process.exit(0));
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    });
}
