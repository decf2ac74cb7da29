/**
 * The demo engine: a function that plays a service for the self-repair demo (`npm run demo --
 * self-repair`, scripts/demo.ts). Deployed to the `local` and `dev` stages only (`stages`), so
 * staging and prod never carry a function whose purpose is to fail on request. It touches no data:
 * the demo invokes it through an alias, and its fault switch is its own configuration.
 */
import { defineEngine } from '../engines/manifest.ts';

export const demoEngine = defineEngine({
  name: 'demo',
  description: 'A service to break and repair: the self-repair demo (local and dev stages only)',
  stages: ['local', 'dev'],
  actions: {
    service: {
      description: 'Plays a service whose latency and error rate follow its fault switch (DEMO_SERVICE_FAULT); invoked through an alias',
      // Invoked directly (Lambda Invoke with the alias as qualifier), as a service behind an alias is.
      task: true,
      memorySize: 256,
      timeout: 10,
      needs: [],
    },
  },
});
