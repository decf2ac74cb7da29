/**
 * Serving the approvals page (`GET /governance/ui?asset=`): which file, its content type and the
 * security headers every reply carries. The files are string constants (lib/governance/ui/page.ts,
 * lib/governance/ui/app-script.ts), so they travel inside each function's bundle: nothing is read
 * from disk at run time.
 */
import type { uiAssets } from '../ui-route.ts';
import { appScript } from './app-script.ts';
import { appStyles, pageHtml } from './page.ts';

/** A file of the page, as the route's `asset` parameter names it. */
export type UiAsset = (typeof uiAssets)[number];

/**
 * The page's Content-Security-Policy: nothing by default; scripts, styles and API calls from its own
 * origin only (so no inline script or style runs, and nothing is sent elsewhere); no base URL, no form
 * submission, no framing. Trusted Types are required and no policy may be created, so the browser
 * itself refuses any HTML string assigned to `innerHTML` and the like.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/** Headers on every reply of the page's files. */
export const UI_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // For browsers that predate frame-ancestors.
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  // The files are small and change with each deploy; a stale script beside a new page is worse than a refetch.
  'cache-control': 'no-store',
};

/** One file of the page, ready to send. */
export interface UiAssetReply {
  contentType: string;
  body: string;
  headers: Record<string, string>;
}

const files: Record<UiAsset, { contentType: string; body: string }> = {
  page: { contentType: 'text/html; charset=utf-8', body: pageHtml },
  'app.js': { contentType: 'text/javascript; charset=utf-8', body: appScript },
  'app.css': { contentType: 'text/css; charset=utf-8', body: appStyles },
};

/**
 * The reply for one file of the approvals page, with {@link UI_SECURITY_HEADERS}.
 * @example
 * const { contentType, body, headers } = uiAsset('app.js'); // text/javascript, the script, the CSP …
 */
export function uiAsset(asset: UiAsset): UiAssetReply {
  const file = files[asset];
  return { contentType: file.contentType, body: file.body, headers: { ...UI_SECURITY_HEADERS } };
}
