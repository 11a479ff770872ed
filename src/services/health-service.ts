import type { RejectedFile } from '../mapping/destinations';
import type { DatabaseStore } from '../stores/database-store';

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  message?: string;
  /** What is wrong without stopping the connector (a destination file refused, its last good version in force). */
  warnings?: string[];
}

export interface Readiness {
  ready: boolean;
  checks: ReadinessCheck[];
}

/** What /readyz reports: the database answers, its schema is current, the configuration loaded. */
export class HealthService {
  constructor(
    private readonly database: DatabaseStore,
    private readonly configLoaded: () => boolean,
    private readonly rejectedDestinations: () => readonly RejectedFile[] = () => [],
  ) {}

  async readiness(): Promise<Readiness> {
    const checks: ReadinessCheck[] = [];
    try {
      await this.database.ping();
      checks.push({ name: 'database', ok: true, message: this.database.dialect });
      const status = await this.database.migrationStatus();
      checks.push(
        status.current
          ? { name: 'migrations', ok: true, message: `${status.completed.length} applied` }
          : { name: 'migrations', ok: false, message: `pending: ${status.pending.join(', ')} (run: leap-connector migrate latest)` },
      );
    } catch (err) {
      checks.push({ name: 'database', ok: false, message: `unreachable: ${(err as { code?: string }).code ?? 'error'}` });
    }
    checks.push({ name: 'config', ok: this.configLoaded(), message: this.configLoaded() ? 'loaded' : 'not loaded' });
    const rejected = this.rejectedDestinations();
    checks.push(
      rejected.length
        ? {
            name: 'destinations',
            ok: true,
            message: `${rejected.length} destination file${rejected.length === 1 ? '' : 's'} refused; the others, and the last good version of each refused one, are in force`,
            warnings: rejected.map((r) => `${r.problems[0]}${r.problems.length > 1 ? ` (and ${r.problems.length - 1} more)` : ''}; ${r.keeps ? `"${r.keeps.name}" keeps running on its last good version ${r.keeps.version}` : 'nothing from it is running'}`),
          }
        : { name: 'destinations', ok: true, message: 'every file loaded' },
    );
    return { ready: checks.every((c) => c.ok), checks };
  }
}
