/**
 * Every route of the API. The OpenAPI document and the route-permission test enumerate this list,
 * and a test checks it against the routes in the packaged template: add a route here when you add one.
 */
import { auditRoutes } from '../audit/routes.ts';
import { decideApprovalRoute, listApprovalsRoute } from '../governance/routes.ts';
import { createKeyRoute, listKeysRoute, revokeKeyRoute } from '../identity/routes.ts';
import { observationRoutes } from '../observation/routes.ts';
import { healthRoute, openApiRoute } from '../platform/routes.ts';
import type { RouteSpec } from './route.ts';

/** All routes, in documentation order. */
export const allRoutes: readonly RouteSpec[] = [healthRoute, openApiRoute, createKeyRoute, listKeysRoute, revokeKeyRoute, listApprovalsRoute, decideApprovalRoute, ...observationRoutes, ...auditRoutes];
