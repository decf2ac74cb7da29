/**
 * Local-cloud boot time to readiness: a cold boot on an empty data directory (tables, queues and
 * buckets created) and a warm boot on the same directory (everything already there), template cached.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalCloud } from '../infra/local/cloud.ts';
import { freePorts } from '../infra/local/ports.ts';
import { packageTemplate } from '../infra/local/template.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function benchBoot(): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-boot-'));
  // Packaged first, so both boots read the cached package (and its nested templates) instead of building it.
  await packageTemplate(root, 'local', path.join(root, '.local', 'package', 'local'));
  const times: Record<string, number> = {};
  for (const kind of ['cold (empty data dir)', 'warm (restart, data kept)']) {
    const started = performance.now();
    const cloud = await startLocalCloud({ root, dataDir, ports: await freePorts(), functionOutput: 'silent', log: () => {} });
    const ready = performance.now() - started;
    const health = await fetch(`${cloud.apiUrl}/health`);
    times[kind] = ready;
    const firstRequest = performance.now() - started - ready;
    console.log(`boot ${kind}: ready in ${(ready / 1000).toFixed(2)} s; first GET /health ${health.status} after ${firstRequest.toFixed(0)} ms more (function cold start)`);
    await cloud.stop();
  }
  await rm(dataDir, { recursive: true, force: true });
}

if (import.meta.url === `file://${process.argv[1]}`) await benchBoot();
