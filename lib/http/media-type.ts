/**
 * The request media types the engine API takes: JSON, named `application/json` or with a
 * structured-syntax suffix, `application/<name>+json` (RFC 6839), in any letter case (RFC 9110 §8.3.1).
 * Parameters are ignored: RFC 8259 defines none for JSON (a `charset` is tolerated, and the body is read
 * as UTF-8 whatever it says).
 */

/** `application/json` or `application/<name>+json`, on the type/subtype before any `;` parameters. */
const JSON_MEDIA_TYPE = /^application\/(?:[!#$%&'*+.^_`|~0-9a-z-]+\+)?json$/i;

/**
 * Whether a `Content-Type` header value names JSON; undefined (no header) does not.
 * @example
 * isJsonMediaType('Application/JSON; charset=utf-8'); // true
 * isJsonMediaType('application/vnd.api+json');        // true
 * isJsonMediaType('text/plain');                      // false
 */
export function isJsonMediaType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const essence = contentType.split(';', 1)[0]?.trim() ?? '';
  return JSON_MEDIA_TYPE.test(essence);
}
