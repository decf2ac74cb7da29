/**
 * Every route of the API, read from the engine manifests (lib/engines/): the OpenAPI document, the
 * route-permission tests and the deployment all enumerate the same declarations.
 */
import { engines } from '../engines/index.ts';
import { routesOf } from '../engines/manifest.ts';
import type { RouteSpec } from './route.ts';

/** All routes, in documentation order. */
export const allRoutes: readonly RouteSpec[] = routesOf(engines);
