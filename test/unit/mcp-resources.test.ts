/** MCP resources: the specs against the real route registry, URI templates, and the ledger views of an export. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadPayloads, record } from '../../lib/audit/engine.ts';
import { writeExport } from '../../lib/audit/export.ts';
import { MemoryLedgerStore, MemoryPayloadStore, MemoryStreamRegistry } from '../../lib/audit/memory-store.ts';
import { engines } from '../../lib/engines/index.ts';
import {
  checkpointLines,
  isTemplate,
  listedResources,
  listedTemplates,
  matchTemplate,
  RECENT_LEDGER_ENTRIES,
  RESOURCE_SPECS,
  readableSpecs,
  recentEntries,
  resolveResource,
} from '../../lib/mcp/resources.ts';
import { routeTools } from '../../lib/mcp/tools.ts';
import { validateMcp } from '../helpers/mcp-schema.ts';

const tools = new Map(routeTools(engines).map((tool) => [tool.name, tool]));

describe('MCP resources', () => {
  it('read each resource through a GET route of the registry, with arguments its input schema accepts', () => {
    for (const spec of RESOURCE_SPECS) {
      const tool = tools.get(spec.tool);
      assert.ok(tool, `${spec.uri}: no tool ${spec.tool}`);
      assert.equal(tool.route.method, 'GET', spec.uri);
      const variables = Object.fromEntries([...spec.uri.matchAll(/\{(\w+)\}/g)].map((match) => [match[1], 'x-1']));
      const parsed = tool.route.parameters.safeParse(spec.args(variables));
      assert.ok(parsed.success, `${spec.uri}: ${JSON.stringify(parsed.error?.issues)}`);
    }
    const uris = RESOURCE_SPECS.map((spec) => spec.uri);
    assert.equal(new Set(uris).size, uris.length);
  });

  it('list every resource for every role (each reads), and fit the official schemas', () => {
    const readable = readableSpecs(RESOURCE_SPECS, tools, ['viewer']);
    assert.equal(readable.length, RESOURCE_SPECS.length);
    assert.deepEqual(readableSpecs(RESOURCE_SPECS, tools, []), []);
    const resources = listedResources(readable);
    const templates = listedTemplates(readable);
    assert.equal(resources.length + templates.length, RESOURCE_SPECS.length);
    assert.ok(templates.some((template) => template.uriTemplate === 'autonomy://ledger/{stream}'));
    for (const revision of ['2025-06-18', '2025-11-25'] as const) {
      assert.deepEqual(validateMcp(revision, 'ListResourcesResult', { resources }), []);
      assert.deepEqual(validateMcp(revision, 'ListResourceTemplatesResult', { resourceTemplates: templates }), []);
    }
  });

  it('match a URI to its template, one decoded segment per variable, the longest template not shadowed', () => {
    assert.deepEqual(matchTemplate('autonomy://ledger/{stream}', 'autonomy://ledger/mcp.calls'), { stream: 'mcp.calls' });
    assert.equal(matchTemplate('autonomy://ledger/{stream}', 'autonomy://ledger/mcp.calls/checkpoints'), undefined);
    assert.equal(matchTemplate('autonomy://ledger/{stream}', 'autonomy://ledger/'), undefined);
    assert.equal(matchTemplate('autonomy://ledger/{stream}', 'autonomy://ledger/%E0%A4%A'), undefined);
    assert.deepEqual(matchTemplate('autonomy://observation/series/{series}', 'autonomy://observation/series/cpu%2Fhost-1'), {
      series: 'cpu/host-1',
    });
    const readable = readableSpecs(RESOURCE_SPECS, tools, ['viewer']);
    assert.equal(resolveResource(readable, 'autonomy://ledger/gateway.calls/checkpoints')?.spec.name, 'ledger-checkpoints');
    assert.equal(resolveResource(readable, 'autonomy://ledger/gateway.calls')?.spec.name, 'ledger-stream');
    assert.equal(resolveResource(readable, 'autonomy://governance/approvals/pending')?.spec.name, 'pending-approvals');
    assert.equal(resolveResource(readable, 'autonomy://governance/approvals/x/y'), undefined);
    assert.equal(isTemplate({ uri: 'autonomy://reflex/incidents/open' }), false);
  });

  it(`show the header and the newest ${RECENT_LEDGER_ENTRIES} entries of a stream's export, and its checkpoints`, async () => {
    const deps = { ledger: new MemoryLedgerStore(), payloads: new MemoryPayloadStore(), registry: new MemoryStreamRegistry() };
    const total = RECENT_LEDGER_ENTRIES + 12;
    for (let index = 0; index < total; index += 1)
      await record(deps, {
        tenant: 'acme',
        stream: 'lab',
        timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, index)).toISOString(),
        actor: 'tester',
        payload: { index },
      });
    const entries = await deps.ledger.read('acme', 'lab', 0, total);
    const exported = writeExport({
      tenant: 'acme',
      stream: 'lab',
      entries,
      payloads: await loadPayloads(deps.payloads, 'acme', entries),
      checkpoints: [],
      exportedAt: '2026-01-02T00:00:00.000Z',
    });
    const lines = recentEntries(exported)
      .split('\n')
      .map((line) => JSON.parse(line));
    assert.equal(lines[0].type, 'header');
    assert.equal(lines.length, RECENT_LEDGER_ENTRIES + 1);
    assert.deepEqual(
      lines.slice(1).map((line) => line.entry.seq),
      Array.from({ length: RECENT_LEDGER_ENTRIES }, (_, index) => total - RECENT_LEDGER_ENTRIES + index),
    );
    assert.deepEqual(lines.at(-1).payload, { index: total - 1 });
    assert.equal(checkpointLines(exported), '');
    const checkpoint = { type: 'checkpoint', checkpoint: { treeSize: 3 } };
    assert.equal(checkpointLines(`${exported}\n${JSON.stringify(checkpoint)}\n`), JSON.stringify(checkpoint));
  });
});
