/**
 * The CI audit gate's decision (scripts/audit-gate.ts) on `npm audit --json` output as npm 10/11
 * prints it: a high or critical advisory fails CI; an unusable audit endpoint does not (it warns).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditVerdict } from '../../scripts/audit-gate.ts';

const report = (counts: Record<string, number>, vulnerabilities: Record<string, { severity: string }> = {}) =>
  JSON.stringify({
    auditReportVersion: 2,
    vulnerabilities: Object.fromEntries(Object.entries(vulnerabilities).map(([name, entry]) => [name, { name, ...entry, isDirect: false, via: [], effects: [], range: '*', nodes: [], fixAvailable: true }])),
    metadata: { vulnerabilities: { info: 0, low: 0, moderate: 0, high: 0, critical: 0, total: 0, ...counts }, dependencies: { prod: 120, dev: 0, optional: 0, peer: 0, peerOptional: 0, total: 120 } },
  });

describe('the audit gate', () => {
  it('fails on a high or a critical advisory, naming the packages', () => {
    assert.deepEqual(auditVerdict(report({ high: 1, total: 1 }, { 'fast-xml-parser': { severity: 'high' } }), { timedOut: false }), {
      status: 'vulnerable',
      counts: { info: 0, low: 0, moderate: 0, high: 1, critical: 0, total: 1 },
      packages: ['fast-xml-parser (high)'],
    });
    assert.equal(auditVerdict(report({ critical: 2, total: 2 }, { a: { severity: 'critical' }, b: { severity: 'critical' } }), { timedOut: false }).status, 'vulnerable');
  });

  it('passes a report with only moderate or low advisories', () => {
    assert.equal(auditVerdict(report({ moderate: 3, low: 1, total: 4 }, { x: { severity: 'moderate' } }), { timedOut: false }).status, 'clean');
    assert.equal(auditVerdict(report({}), { timedOut: false }).status, 'clean');
  });

  it('reports an unusable endpoint as unavailable, never as clean: an error body, no JSON, a timeout, npm missing', () => {
    const refused = JSON.stringify({ message: '405 Method Not Allowed - POST <registry>/-/npm/v1/security/advisories/bulk', statusCode: 405, error: { summary: '', detail: '' } });
    assert.deepEqual(auditVerdict(refused, { timedOut: false }), { status: 'unavailable', reason: '405 Method Not Allowed - POST <registry>/-/npm/v1/security/advisories/bulk' });
    assert.equal(auditVerdict('', { timedOut: false }).status, 'unavailable');
    assert.equal(auditVerdict('npm ERR! network', { timedOut: false }).status, 'unavailable');
    assert.equal(auditVerdict('', { timedOut: true }).status, 'unavailable');
    assert.equal(auditVerdict('', { timedOut: false, spawnError: 'spawn npm ENOENT' }).status, 'unavailable');
  });
});
