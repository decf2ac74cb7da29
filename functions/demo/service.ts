/**
 * The demo service (invoked through an alias): waits as long as a request to it costs and fails
 * when its fault switch says so (lib/demo/service.ts). The switch is read once per environment from
 * its configuration, so each published version keeps the switch it was published with.
 */
import { z } from 'zod';
import { config } from '../../lib/config.ts';
import { DomainError } from '../../lib/errors.ts';
import { parseFault, requestOutcome } from '../../lib/demo/service.ts';
import { taskHandler } from '../../lib/triggers/task.ts';

/** The failure the fault switch causes: the request's error, as a client sees it. */
export class DemoServiceFaultError extends DomainError {}

const fault = parseFault(config().DEMO_SERVICE_FAULT);
const requestSchema = z.object({ request: z.string().max(64).optional() }).passthrough();

export const handler = taskHandler(requestSchema, async ({ request }) => {
  const outcome = requestOutcome(fault, Math.random);
  await new Promise((resolve) => setTimeout(resolve, outcome.delayMs));
  if (outcome.fail) throw new DemoServiceFaultError(`request ${request ?? '-'} failed: the fault switch is on`);
  return { ok: true, request: request ?? null, faulty: fault !== undefined };
});
