import type { Clock } from '../../domain/clock';
import type { Logger } from '../../logger';
import type { DeliveryAdminService } from '../../services/delivery/admin-service';
import type { ReplayService } from '../../services/delivery/replay-service';
import type { RosterService } from '../../services/market-groups/roster-service';
import type { MeterQueryService } from '../../services/meter-query-service';
import type { ReadinessService } from '../../services/readiness/readiness-service';
import type { SyncAdminService } from '../../services/sync/admin-service';
import type { SessionDeps } from './session';

/** What the console reads and acts on: the services behind the admin API, nothing of its own. */
export interface ConsoleDeps extends SessionDeps {
  clock: Clock;
  logger: Logger;
  /** Sync runs, streams and meter events. */
  syncAdmin: SyncAdminService;
  deliveryAdmin: DeliveryAdminService;
  replays: ReplayService;
  /** Start running bulk replay jobs in the background. */
  startReplayJobs: () => void;
  meters: MeterQueryService;
  readiness: ReadinessService;
  rosters: RosterService;
  /** The mapping file a destination was loaded from, when it came from one. */
  destinationFile: (name: string) => string | null;
}
