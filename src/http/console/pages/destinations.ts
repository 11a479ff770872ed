import type { Router } from 'express';
import { NotFoundError } from '../../../errors';
import { destinationState } from '../format';
import type { ConsoleDeps } from '../deps';
import { render } from '../render';

const ACTIONS = ['pause', 'resume'] as const;
type Action = (typeof ACTIONS)[number];

/** Destinations with their state and mapping file; pausing and resuming, each confirmed first. */
export function destinationPages(router: Router, deps: ConsoleDeps): void {
  router.get('/destinations', async (req, res) => {
    const list = (await deps.deliveryAdmin.destinations()).map((d) => ({ ...d, shown: destinationState(d), file: deps.destinationFile(d.name) }));
    const done = typeof req.query.done === 'string' && /^(paused|resumed)$/.test(req.query.done) ? req.query.done : null;
    const name = typeof req.query.name === 'string' ? req.query.name : '';
    render(res, 'destinations', { title: 'Destinations', section: 'destinations', now: deps.clock.now(), destinations: list, notice: done ? `${name} ${done}.` : null }, req.console!);
  });

  for (const action of ACTIONS) {
    router.get(`/destinations/:name/${action}`, async (req, res) => {
      const d = await find(deps, req.params.name!);
      render(res, 'destination-confirm', { title: `${action === 'pause' ? 'Pause' : 'Resume'} ${d.name}`, section: 'destinations', action, d: { ...d, shown: destinationState(d) } }, req.console!);
    });
    router.post(`/destinations/:name/${action}`, async (req, res) => {
      const by = `console:${req.console!.keyName}`;
      const name = req.params.name!;
      await act(deps, action, name, by);
      res.redirect(303, `/console/destinations?done=${action === 'pause' ? 'paused' : 'resumed'}&name=${encodeURIComponent(name)}`);
    });
  }
}

function act(deps: ConsoleDeps, action: Action, name: string, by: string) {
  return action === 'pause' ? deps.deliveryAdmin.pause(name, by) : deps.deliveryAdmin.resume(name, by);
}

async function find(deps: ConsoleDeps, name: string) {
  const d = (await deps.deliveryAdmin.destinations()).find((x) => x.name === name && x.configured);
  if (!d) throw new NotFoundError('destination', name);
  return d;
}
