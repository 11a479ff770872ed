import { Router } from 'express';
import type { ReadinessAnswerInput, ReadinessState } from '../../domain/readiness';
import { ValidationError } from '../../errors';
import type { BatchItem, ReadinessService } from '../../services/readiness/readiness-service';
import { requireJsonBody } from '../json-body';
import { idempotencyKeySchema, readinessAnswerSchema, readinessBatchItemSchema, readinessBatchSchema, readinessListQuerySchema } from '../schemas/partner';
import { validator } from '../validate';
import { meterIdParam } from './partner-meters';

const answerBody = validator<ReadinessAnswerInput>(readinessAnswerSchema, 'body');
const batchBody = validator<{ items: unknown[] }>(readinessBatchSchema, 'body');
const batchItem = validator<BatchItem>(readinessBatchItemSchema, 'item');
const listQuery = validator<{ state: Exclude<ReadinessState, 'not_required'>; limit: number; after?: string }>(readinessListQuerySchema, 'query');
const idempotencyKey = validator<string>(idempotencyKeySchema, 'Idempotency-Key header');

/** The partner's readiness confirmations (behind the partner scope, see app.ts). */
export function partnerReadinessRoutes(readiness: ReadinessService): Router {
  const router = Router();

  router.put('/api/v1/meters/:meter_id/readiness', requireJsonBody, async (req, res) => {
    const { meter_id } = meterIdParam(req.params);
    const body = answerBody(req.body);
    const r = await readiness.answer(meter_id, body, req.apiKeyName ?? 'unknown');
    res.json({ meter_id, outcome: r.outcome, readiness: r.readiness });
  });

  router.post('/api/v1/readiness/batch', requireJsonBody, async (req, res) => {
    const header = req.header('idempotency-key');
    let key: string | undefined;
    if (header !== undefined) {
      try {
        key = idempotencyKey(header);
      } catch (err) {
        if (err instanceof ValidationError) throw new ValidationError('Invalid Idempotency-Key header', [{ path: 'Idempotency-Key', message: 'must be 1 to 255 printable ASCII characters without spaces' }]);
        throw err;
      }
    }
    const body = batchBody(req.body);
    const items = body.items.map((item, index) => {
      try {
        return batchItem(item);
      } catch (err) {
        if (!(err instanceof ValidationError)) throw err;
        const details = Array.isArray(err.details) ? err.details.map((d) => ({ ...d, path: `/items/${index}${d.path ?? ''}` })) : undefined;
        return { invalid: { code: 'validation_failed', message: `Item ${index} is invalid`, details } };
      }
    });
    const answer = await readiness.answerBatch(items, req.apiKeyName ?? 'unknown', key, req.body);
    if (answer.replayed) res.setHeader('Idempotent-Replayed', 'true');
    res.status(answer.status).json(answer.body);
  });

  router.get('/api/v1/readiness', async (req, res) => {
    const q = listQuery(req.query);
    res.json(await readiness.list(q.state, q.limit, q.after));
  });
  return router;
}
