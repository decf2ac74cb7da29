/**
 * Readiness: runs each dependency check with a deadline and reports which answered.
 */

/** A named dependency probe; resolves when the dependency answers. */
export interface HealthCheck {
  name: string;
  probe: () => Promise<unknown>;
}

/** The outcome of one check. */
export interface CheckResult {
  ok: boolean;
  latencyMs: number;
  /** The error's name only: a public route never shows internals. */
  error?: string;
}

/** The health report: `ok` when every check answered in time. */
export interface HealthReport {
  status: 'ok' | 'degraded';
  stage: string;
  version: string;
  checks: Record<string, CheckResult>;
}

/**
 * Runs all checks concurrently, each bounded by `timeoutMs`.
 * @example
 * const report = await checkHealth([{ name: 'state-table', probe: () => store.ping() }], { stage: 'dev', version: '0.1.0' });
 */
export async function checkHealth(
  checks: HealthCheck[],
  meta: { stage: string; version: string; timeoutMs?: number },
): Promise<HealthReport> {
  const timeoutMs = meta.timeoutMs ?? 2000;
  const results = await Promise.all(
    checks.map(async (check): Promise<[string, CheckResult]> => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check.probe(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { name: 'TimeoutError' })), timeoutMs);
          }),
        ]);
        return [check.name, { ok: true, latencyMs: Math.round(performance.now() - started) }];
      } catch (error) {
        const name = error instanceof Error ? error.name : 'Error';
        return [check.name, { ok: false, latencyMs: Math.round(performance.now() - started), error: name }];
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  const checksByName = Object.fromEntries(results);
  const status = results.every(([, result]) => result.ok) ? 'ok' : 'degraded';
  return { status, stage: meta.stage, version: meta.version, checks: checksByName };
}
