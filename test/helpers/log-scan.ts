/**
 * Finds credentials in captured function logs: any JWT (three base64url parts, the first two JSON
 * objects) and any full API key (`apk_<tenant>_<keyId>_<secret>`). A key id alone is not a secret
 * and is not reported. Used by the security suite and by `npm test` on the logs of the whole run.
 */
import { TENANT_ID_FRAGMENT } from '../../events/ids.ts';

const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g;
const API_KEY = new RegExp(`apk_${TENANT_ID_FRAGMENT}_[0-9a-f]{16}_[A-Za-z0-9_-]{43}`, 'g');

/**
 * Every credential-shaped string in `text`, each once, shortened so a report does not repeat it whole.
 * @example leakedCredentials('{"authorization":"Bearer eyJhbGciOi….eyJ0ZW5hbnQi….sig"}') // ['JWT eyJhbGciOi…']
 */
export function leakedCredentials(text: string): string[] {
  const found = new Set<string>();
  for (const match of text.matchAll(JWT)) found.add(`JWT ${match[0].slice(0, 16)}…`);
  for (const match of text.matchAll(API_KEY)) found.add(`API key ${match[0].slice(0, 28)}…`);
  return [...found];
}
