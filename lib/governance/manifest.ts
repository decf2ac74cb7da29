/** The governance engine: the approval gate's tasks and the approvals API. */
import { defineEngine, need } from '../engines/manifest.ts';
import { decideApprovalRoute, listApprovalsRoute } from './routes.ts';
import { uiRoute } from './ui-route.ts';

export const governanceEngine = defineEngine({
  name: 'governance',
  description: 'Approval gates: who may approve what, and the decisions',
  actions: {
    'request-approval': {
      description: 'Opens an approval for a waiting execution (waitForTaskToken)',
      task: true,
      needs: [need.table('state', ['PutItem'], ['*#approval']), need.publish()],
    },
    approvals: {
      description: 'Lists approvals and decides one (approver role); resumes the waiting execution',
      routes: [listApprovalsRoute, decideApprovalRoute],
      needs: [
        need.table('state', ['GetItem', 'PutItem', 'UpdateItem'], ['*#approval']),
        need.index('state', 'gsi1', ['Query']),
        need.publish(),
        need.taskCallbacks(),
      ],
    },
    ui: {
      description: 'The approvals page: pending approvals with their risk, policy decision and evidence; approve or reject with a reason',
      routes: [uiRoute],
      memorySize: 256,
      // Static files: it touches no data (the page calls the approvals API with the caller's credentials).
      needs: [],
    },
  },
});
