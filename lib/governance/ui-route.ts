/** GET /governance/ui: the approvals page and its assets (public: the page signs in with the caller's own credentials). */
import { z } from 'zod';
import { defineRoute } from '../api/route.ts';

/** The page's files, served by the same route. */
export const uiAssets = ['page', 'app.js', 'app.css'] as const;

/** GET /governance/ui?asset=: the page (default), its script or its stylesheet. */
export const uiRoute = defineRoute({
  engine: 'governance',
  action: 'ui',
  method: 'GET',
  permission: 'public',
  summary: 'The approvals page (HTML), its script and stylesheet; it calls the approvals API with the credentials typed in',
  parameters: z.object({ asset: z.enum(uiAssets).default('page') }),
  result: z.string().max(200_000).describe('The asset itself (not an envelope)'),
  rawContentType: 'text/html',
});
