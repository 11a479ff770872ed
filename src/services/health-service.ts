import type { DatabaseStore } from '../stores/database-store';

export interface ReadinessCheck {
  name: string;
  ok: boolean;
  message?: string;
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
    return { ready: checks.every((c) => c.ok), checks };
  }
}
