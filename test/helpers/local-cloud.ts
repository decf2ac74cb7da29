/**
 * What integration tests know about the local cloud `npm test` started (from its environment).
 */
import type { LocalCloud } from '../../infra/local/cloud.ts';

/** The running test cloud; throws with a clear message when the test was not started by `npm test`. */
export function testCloud(): { apiUrl: string; resources: LocalCloud['resources']; stage: string } {
  const apiUrl = process.env.AUTONOMY_TEST_API_URL;
  const resources = process.env.AUTONOMY_TEST_RESOURCES;
  if (!apiUrl || !resources) throw new Error('Integration tests need the local cloud: run them with `npm test` (test/run.ts starts it)');
  return { apiUrl, resources: JSON.parse(resources) as LocalCloud['resources'], stage: process.env.AUTONOMY_TEST_STAGE ?? 'local' };
}

/**
 * Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`.
 * @throws Error naming `what` when the deadline passes.
 */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}
