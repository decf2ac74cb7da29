/**
 * `npm run audit:gate`: the CI gate on known vulnerabilities of what we ship. It runs
 * `npm audit --omit=dev --json` (production dependencies only; bounded by a timeout) and decides:
 *
 * - **vulnerable** (exit 1): the report lists a high or critical advisory: CI is red.
 * - **clean** (exit 0): a report came back with none at those levels (lower ones are listed).
 * - **unavailable** (exit 0, unless `AUDIT_GATE_STRICT=1`, then 2): the registry's audit endpoint
 *   could not be used (unreachable, timed out, or it refused the request: some registries and
 *   mirrors answer the bulk advisory endpoint with 405). CI must not turn red for a network fault
 *   we cannot fix, so the run goes on, but it says loudly that nothing was checked.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The gate's decision on one `npm audit` run. */
export type AuditVerdict =
  | { status: 'clean'; counts: Record<string, number> }
  | { status: 'vulnerable'; counts: Record<string, number>; packages: string[] }
  | { status: 'unavailable'; reason: string };

/** Severities that fail the gate. */
const FAILING = ['high', 'critical'];

/**
 * Classifies `npm audit --json` output. A report (`metadata.vulnerabilities`) is clean or
 * vulnerable; anything else (an error body, no JSON, a timeout) means the endpoint was unavailable.
 * @example auditVerdict('{"message":"405 Method Not Allowed …","error":{}}', { timedOut: false }) // { status: 'unavailable', … }
 */
export function auditVerdict(stdout: string, run: { timedOut: boolean; spawnError?: string }): AuditVerdict {
  if (run.timedOut) return { status: 'unavailable', reason: 'npm audit timed out' };
  if (run.spawnError) return { status: 'unavailable', reason: `npm audit did not run: ${run.spawnError}` };
  let report: { metadata?: { vulnerabilities?: Record<string, number> }; vulnerabilities?: Record<string, { severity?: string }>; message?: string; error?: { summary?: string } };
  try {
    report = JSON.parse(stdout) as typeof report;
  } catch {
    return { status: 'unavailable', reason: `npm audit printed no JSON report (${stdout.trim().slice(0, 120) || 'nothing'})` };
  }
  const counts = report.metadata?.vulnerabilities;
  if (!counts || typeof counts !== 'object') {
    return { status: 'unavailable', reason: report.message ?? report.error?.summary ?? 'npm audit returned no report' };
  }
  const packages = Object.entries(report.vulnerabilities ?? {})
    .filter(([, entry]) => FAILING.includes(entry.severity ?? ''))
    .map(([name, entry]) => `${name} (${entry.severity})`);
  const failing = FAILING.reduce((sum, level) => sum + (counts[level] ?? 0), 0);
  return failing > 0 || packages.length > 0 ? { status: 'vulnerable', counts, packages } : { status: 'clean', counts };
}

/** Runs `npm audit --omit=dev --json` for at most `timeoutMs`. */
async function runAudit(timeoutMs: number): Promise<{ stdout: string; timedOut: boolean; spawnError?: string }> {
  return new Promise((resolve) => {
    const child = spawn('npm', ['audit', '--omit=dev', '--json'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.on('error', (error) => resolve({ stdout, timedOut: false, spawnError: error.message }));
    child.on('close', (_code, signal) => resolve({ stdout, timedOut: signal === 'SIGKILL' }));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const timeoutMs = Number(process.env.AUDIT_GATE_TIMEOUT_MS ?? 120_000);
  const run = await runAudit(timeoutMs);
  const verdict = auditVerdict(run.stdout, run);
  const summary = (counts: Record<string, number>) => ['critical', 'high', 'moderate', 'low'].map((level) => `${counts[level] ?? 0} ${level}`).join(', ');
  switch (verdict.status) {
    case 'clean':
      console.log(`audit: production dependencies have no high or critical advisory (${summary(verdict.counts)})`);
      break;
    case 'vulnerable':
      console.error(`audit: FAIL: production dependencies have high or critical advisories (${summary(verdict.counts)}): ${verdict.packages.join(', ')}; run \`npm audit --omit=dev\` for the fixes`);
      process.exit(1);
      break;
    case 'unavailable':
      console.warn(`audit: WARNING: the registry's audit endpoint could not be used (${verdict.reason}); production dependencies were NOT checked for advisories in this run`);
      if (process.env.AUDIT_GATE_STRICT === '1') process.exit(2);
  }
}
