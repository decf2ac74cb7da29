/**
 * What the self-repair loop's execute step needs in a deployed function: Reflex's incidents,
 * Observation's series health and the Execution engine, in a file of its own so that the executors'
 * SDK clients come only into the bundle of the function that runs playbooks.
 */
import type { ActDeps } from '../../reflex/loop.ts';
import { executionDeps } from './execution-deps.ts';
import { watchDeps } from './reflex-deps.ts';

/** The execute step's ports. */
export function actDeps(): ActDeps {
  return { ...watchDeps(), execution: executionDeps() };
}
