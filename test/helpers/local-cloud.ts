/**
 * What integration tests know about the local cloud `npm test` started (from its environment).
 */
import { randomUUID } from 'node:crypto';
import type { LocalCloud } from '../../infra/local/cloud.ts';
import { loadOrCreateIdpKey, signLocalToken, type TokenRequest } from '../../infra/local/idp.ts';
import type { Role } from '../../lib/auth/roles.ts';

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

/**
 * A JWT signed by the test cloud's identity provider, which the local API verifies through its JWKS.
 * @example
 * const token = await tokenFor({ tenant: 'acme', roles: ['operator'] });
 */
export async function tokenFor(request: TokenRequest): Promise<string> {
  const dataDir = process.env.AUTONOMY_TEST_DATA_DIR;
  if (!dataDir) throw new Error('tokenFor needs the local cloud: run the test with `npm test` (test/run.ts starts it)');
  return signLocalToken(await loadOrCreateIdpKey(dataDir), request);
}

/** A fresh tenant id for one test, so tests never see each other's data. */
export function freshTenant(prefix = 't'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/**
 * Calls the local API as a tenant with roles (JWT), or with an explicit `apiKey`, or with no
 * credentials (`auth: 'none'`). Returns the status, headers and parsed JSON body.
 */
export async function api(
  method: string,
  pathAndQuery: string,
  options: { tenant?: string; roles?: Role[]; apiKey?: string; auth?: 'none'; body?: unknown; headers?: Record<string, string> } = {},
  // biome-ignore lint/suspicious/noExplicitAny: tests read whatever JSON a route replies
): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}), ...options.headers };
  if (options.apiKey) headers['x-api-key'] = options.apiKey;
  else if (options.auth !== 'none') headers.authorization = `Bearer ${await tokenFor({ tenant: options.tenant ?? 'default', roles: options.roles ?? ['admin'] })}`;
  const response = await fetch(`${testCloud().apiUrl}${pathAndQuery}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : typeof options.body === 'string' ? options.body : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: response.status, headers: response.headers, body };
}
