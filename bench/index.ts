/**
 * `npm run bench`: prints every measured figure. Each part also runs alone: `node bench/<part>.ts`.
 */
import os from 'node:os';
import { spawnSync } from 'node:child_process';
import { benchAuditAppend } from './audit-append.ts';
import { benchBoot } from './boot.ts';
import { benchBundles } from './bundles.ts';
import { benchLoad } from './load.ts';
import { benchMiddleware } from './middleware.ts';
import { benchObservationEngine, benchObservationLatency } from './observation-latency.ts';

console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown cpu'} × ${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.platform()} ${os.release()}, node ${process.version}`);
await benchBundles();
console.log('');
await benchMiddleware();
console.log('\nLocal cloud');
await benchBoot();
console.log('');
await benchObservationEngine();
await benchObservationLatency();
console.log('\nAudit: append throughput');
await benchAuditAppend();
console.log('');
await benchLoad();
for (const script of [
  'bench/audit.ts',
  'bench/audit-checkpoint.ts',
  'bench/observation.ts',
  'bench/eventbridge-conformance.ts',
  'bench/stepfunctions-conformance.ts',
  'bench/governance-proposals.ts',
  'bench/governance-killswitch.ts',
  'bench/governance-approvals.ts',
  'bench/self-repair.ts',
  'bench/arbitration.ts',
  'bench/tokenizer.ts',
  'bench/gateway-overhead.ts',
  'bench/mcp-overhead.ts',
]) {
  console.log(`\n${script}`);
  spawnSync(process.execPath, [script], { stdio: 'inherit' });
}
