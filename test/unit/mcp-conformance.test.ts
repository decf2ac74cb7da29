/**
 * The official MCP conformance suite (`@modelcontextprotocol/conformance`, its 32 server scenarios)
 * against the test-only conformance profile (scripts/mcp-conformance-profile.ts) on a loopback
 * port: no network, about 3 s. Every scenario a stateless server can serve passes; the ones that
 * need a session fail for the reason scripts/mcp-conformance.ts lists, and only those.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { conformance, parseSummary, SESSION_PROBES, STATEFUL_ONLY } from '../../scripts/mcp-conformance.ts';

describe('MCP conformance suite', () => {
  it('passes every scenario a stateless server can serve, and fails only those that need a session', async () => {
    const result = await conformance();
    assert.equal(result.scenarios.length, 32, result.output.slice(-3000));
    assert.deepEqual(result.failed, [], result.output.slice(-3000));
    assert.ok(result.ok);
    assert.deepEqual(result.expected.sort(), Object.keys(STATEFUL_ONLY).sort());
    assert.deepEqual(result.notServed.sort(), Object.keys(SESSION_PROBES).sort());
    assert.equal(result.passed.length, 22);
    for (const scenario of [
      'server-initialize',
      'tools-call-simple-text',
      'tools-call-error',
      'json-schema-2020-12',
      'resources-templates-read',
      'prompts-get-with-args',
      'dns-rebinding-protection',
    ])
      assert.ok(result.passed.includes(scenario), scenario);
    // test_simple_text and test_error_handling ran as routes and were recorded in the ledger.
    assert.ok(result.recordedCalls >= 2, `${result.recordedCalls} calls recorded`);
  });

  it('reads the suite’s summary lines', () => {
    const output =
      'noise ✓ fake: 9 passed, 0 failed\n=== SUMMARY ===\n✓ ping: 1 passed, 0 failed\n✗ resources-subscribe: 0 passed, 1 failed\n\nTotal: 1 passed, 1 failed\n';
    assert.deepEqual(parseSummary(output), [
      { scenario: 'ping', passed: 1, failed: 0 },
      { scenario: 'resources-subscribe', passed: 0, failed: 1 },
    ]);
  });
});
