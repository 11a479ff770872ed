import type { Router } from 'express';
import { METER_EVENT_TYPES } from '../../../domain/events';
import { AppError, NotFoundError } from '../../../errors';
import { replayJobView } from '../../../services/delivery/admin-service';
import type { ConsoleDeps } from '../deps';
import { render } from '../render';
import { CONSOLE_STATUSES, filterQuery, formTime, formValue, readFilter, type FilterForm } from './filters';

const PAGE_SIZE = 50;
/** Statuses a bulk replay can take (the API's rule: finished deliveries, or pending ones to bring forward). */
const REPLAYABLE = ['dead', 'delivered', 'pending'];
const DAY_MS = 86_400_000;

const bodyText = (body: unknown, k: string): string => {
  const v = (body as Record<string, unknown> | undefined)?.[k];
  return typeof v === 'string' ? v : '';
};

/** Deliveries: the filtered list, one delivery with its attempts, replaying one, and bulk replays with their count shown first. */
export function deliveryPages(router: Router, deps: ConsoleDeps): void {
  router.get('/deliveries', async (req, res) => {
    const { form, filter, problems } = readFilter(req.query);
    const before = typeof req.query.before === 'string' && /^[\w-]{1,40}$/.test(req.query.before) ? req.query.before : undefined;
    const page = problems.length ? { deliveries: [], next_before: null } : await deps.deliveryAdmin.list(filter, PAGE_SIZE, before);
    const destinations = (await deps.deliveryAdmin.destinations()).map((d) => d.name);
    res.status(problems.length ? 400 : 200);
    render(
      res,
      'deliveries',
      {
        title: 'Deliveries',
        section: 'deliveries',
        now: deps.clock.now(),
        form,
        problem: problems.length ? `Fix the filter: ${problems.join('; ')}.` : null,
        deliveries: page.deliveries,
        older: page.next_before ? `/console/deliveries${filterQuery(form, { before: page.next_before })}` : null,
        newest: before ? `/console/deliveries${filterQuery(form)}` : null,
        statuses: CONSOLE_STATUSES,
        eventTypes: METER_EVENT_TYPES,
        destinations,
        bulkHref: REPLAYABLE.includes(form.status) && !problems.length ? `/console/replays/new${filterQuery(form)}` : null,
      },
      req.console!,
    );
  });

  router.get('/deliveries/:id', async (req, res) => {
    const d = await deps.deliveryAdmin.get(req.params.id!);
    const event = d.event_id === null ? undefined : await deps.syncAdmin.getEvent(d.event_id);
    render(
      res,
      'delivery',
      {
        title: `Delivery ${d.id}`,
        section: 'deliveries',
        now: deps.clock.now(),
        notice: req.query.replayed === '1' ? 'Queued again: it keeps its webhook-id and body, and is signed afresh when sent.' : null,
        d,
        event: event ? { type: event.type, origin: event.origin, occurred_at: event.occurred_at, sequence: event.sequence, changes: event.changes } : null,
        replayable: d.status !== 'delivering',
      },
      req.console!,
    );
  });

  router.post('/deliveries/:id/replay', async (req, res) => {
    const id = req.params.id!;
    await deps.deliveryAdmin.get(id);
    await deps.replays.replay([id], 'replay');
    res.redirect(303, `/console/deliveries/${encodeURIComponent(id)}?replayed=1`);
  });

  // Bulk replay, step 1: the filter (status, time range) and how many deliveries it matches now.
  router.get('/replays/new', async (req, res) => {
    const { form, filter, problems } = readFilter(req.query);
    if (!form.status) form.status = 'dead';
    if (!REPLAYABLE.includes(form.status)) problems.push(`a bulk replay takes dead, delivered or pending deliveries, not ${form.status}`);
    // The API asks for a start; the form offers the last week when the list had none.
    if (!form.since) form.since = formValue(new Date(deps.clock.now().getTime() - 7 * DAY_MS));
    let matched: number | null = null;
    if (!problems.length) {
      const dry = await deps.replays.createBulk({ filter: bulkFilter(form), dryRun: true, requestedBy: `console:${req.console!.keyName}` });
      matched = dry.matched;
    }
    res.status(problems.length ? 400 : 200);
    render(
      res,
      'replay-new',
      { title: 'Replay deliveries', section: 'replays', form, matched, filter, problem: problems.length ? `Fix the filter: ${problems.join('; ')}.` : null, destinations: (await deps.deliveryAdmin.destinations()).map((d) => d.name), eventTypes: METER_EVENT_TYPES },
      req.console!,
    );
  });

  // Step 2: the confirmed replay; it runs in the background as a replay job.
  router.post('/replays', async (req, res) => {
    const { form, problems } = readFilter((req.body ?? {}) as Record<string, unknown>);
    if (!REPLAYABLE.includes(form.status)) problems.push('status must be dead, delivered or pending');
    if (!form.since) problems.push('since is required');
    const expected = Number(bodyText(req.body, 'expected'));
    if (problems.length) throw new AppError(400, 'invalid_replay', `Fix the replay: ${problems.join('; ')}.`);
    // No more than the count that was shown and confirmed: deliveries that match only later wait for another replay.
    const job = await deps.replays.createBulk({ filter: bulkFilter(form), dryRun: false, cap: Number.isInteger(expected) && expected > 0 ? expected : undefined, requestedBy: `console:${req.console!.keyName}` });
    deps.startReplayJobs();
    res.redirect(303, `/console/replays/${encodeURIComponent(job.id)}`);
  });

  router.get('/replays', async (req, res) => {
    const jobs = (await deps.replays.list(50)).map(replayJobView);
    render(res, 'replays', { title: 'Replays', section: 'replays', now: deps.clock.now(), jobs }, req.console!);
  });

  router.get('/replays/:id', async (req, res) => {
    const job = await deps.replays.get(req.params.id!);
    if (!job) throw new NotFoundError('replay', req.params.id);
    const view = replayJobView(job);
    const running = view.status === 'pending' || view.status === 'running';
    render(res, 'replay', { title: 'Replay job', section: 'replays', now: deps.clock.now(), job: view, running, refreshSeconds: running ? 2 : null }, req.console!);
  });
}

/** The replay service's filter for a form (times as RFC 3339, the API's shape). */
function bulkFilter(form: FilterForm) {
  const iso = (t: string) => formTime(t)?.toISOString();
  return {
    status: form.status as 'dead' | 'delivered' | 'pending',
    since: iso(form.since)!,
    until: form.until ? iso(form.until) : undefined,
    destination: form.destination || undefined,
    eventType: form.event_type || undefined,
    meterId: form.meter_id || undefined,
  };
}
