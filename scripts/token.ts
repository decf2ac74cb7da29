/**
 * `npm run token -- --tenant <id> --roles <role,...> [--subject <sub>] [--ttl <seconds>] [--data-dir <dir>]`
 * prints a JWT signed by the local cloud's identity provider (key under `.local/idp/`), which the
 * local API verifies against its JWKS like any issuer's token. It carries `iat` and `exp` (`--ttl`,
 * default one hour, at most the local stage's `authMaxTokenLifetimeSeconds`).
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { clientTenantSchema } from '../events/ids.ts';
import { roleSchema } from '../lib/auth/roles.ts';
import { LOCAL_MAX_TOKEN_LIFETIME_SECONDS, loadOrCreateIdpKey, signLocalToken } from '../infra/local/idp.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    tenant: { type: 'string' },
    roles: { type: 'string', default: 'viewer' },
    subject: { type: 'string' },
    ttl: { type: 'string', default: '3600' },
    'data-dir': { type: 'string', default: path.join(root, '.local') },
  },
});

const tenant = clientTenantSchema.safeParse(values.tenant);
const roles = (values.roles ?? '').split(',').map((role) => roleSchema.safeParse(role.trim()));
const ttl = Number(values.ttl);
const problems = [
  ...(tenant.success ? [] : ['--tenant <id> is required: 1-63 lower-case letters, digits or dashes']),
  ...(roles.every((role) => role.success) ? [] : ['--roles takes a comma-separated list of viewer, operator, approver, admin']),
  ...(Number.isInteger(ttl) && ttl > 0 && ttl <= LOCAL_MAX_TOKEN_LIFETIME_SECONDS
    ? []
    : [`--ttl must be a whole number of seconds, 1 to ${LOCAL_MAX_TOKEN_LIFETIME_SECONDS} (the local stage's authMaxTokenLifetimeSeconds)`]),
];
if (problems.length > 0) {
  console.error(`usage: npm run token -- --tenant <id> --roles <role,...> [--subject <sub>] [--ttl <seconds>]\n${problems.join('\n')}`);
  process.exit(2);
}
const key = await loadOrCreateIdpKey(values['data-dir'] ?? '.local');
console.log(
  await signLocalToken(key, {
    tenant: tenant.data ?? '',
    roles: roles.flatMap((role) => (role.success ? [role.data] : [])),
    subject: values.subject,
    ttlSeconds: ttl,
  }),
);
