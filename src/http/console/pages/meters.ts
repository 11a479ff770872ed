import type { Router } from 'express';
import type { ConsoleDeps } from '../deps';
import { render } from '../render';

const RESULTS = 50;

/** Meter search, and one meter with its status, actions, groups, readiness, events and deliveries. */
export function meterPages(router: Router, deps: ConsoleDeps): void {
  router.get('/meters', async (req, res) => {
    const q = typeof req.query.q === 'string' ? req.query.q.trim().slice(0, 200) : '';
    const meters = q ? await deps.meters.search(q, RESULTS + 1) : [];
    render(res, 'meters', { title: 'Meters', section: 'meters', q, meters: meters.slice(0, RESULTS), more: meters.length > RESULTS }, req.console!);
  });

  router.get('/meters/:id', async (req, res) => {
    const id = req.params.id!;
    const record = await deps.meters.get(id);
    const [events, deliveries] = await Promise.all([deps.syncAdmin.listEvents({ meterId: id }, 100), deps.deliveryAdmin.list({ meterId: id }, 100)]);
    render(
      res,
      'meter',
      {
        title: `Meter ${id}`,
        section: 'meters',
        now: deps.clock.now(),
        r: record,
        m: record.meter,
        address: addressOf(record.meter.customer),
        device: record.meter.device,
        events: [...events].sort((a, b) => b.sequence - a.sequence),
        deliveries: deliveries.deliveries,
      },
      req.console!,
    );
  });
}

/** The service address as one line, from whichever spelling Leap used. */
function addressOf(customer: Record<string, unknown> | null): string | null {
  if (!customer) return null;
  if (typeof customer.service_address_full === 'string') return customer.service_address_full;
  const parts = ['street_1', 'street_2', 'city', 'state', 'zip_code', 'postal_code'].map((k) => customer[k]).filter((v): v is string => typeof v === 'string' && v !== '');
  return parts.length ? parts.join(', ') : null;
}
