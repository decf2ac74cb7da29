/** MCP tools generated from the route registry: names, schemas, descriptions and role filtering. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { allRoutes } from '../../lib/api/routes.ts';
import { roleNames } from '../../lib/auth/roles.ts';
import { engines } from '../../lib/engines/index.ts';
import { isToolRoute, routeTools, TOOL_NAME_PATTERN, toolName, toolsForRoles } from '../../lib/mcp/tools.ts';
import { compiles2020, validateMcp } from '../helpers/mcp-schema.ts';

const tools = routeTools(engines);

describe('MCP tools from the route registry', () => {
  it('make one tool of every protected engine route, and none of public or MCP routes or capsule runs and plans (which call tools themselves)', () => {
    const expected = allRoutes
      .filter((spec) => isToolRoute(spec) && spec.path !== '/capsules/runs' && spec.path !== '/capsules/plans')
      .map((spec) => `${spec.method} ${spec.path}`);
    assert.deepEqual(
      tools.map((tool) => tool.title),
      expected,
    );
    assert.ok(tools.length >= 50, `${tools.length} tools`);
    assert.ok(allRoutes.filter((spec) => spec.permission === 'public').every((spec) => !tools.some((tool) => tool.route === spec)));
    assert.ok(!tools.some((tool) => tool.name.startsWith('capsules_runs_') || tool.name.startsWith('capsules_plans_')));
  });

  it('name every tool uniquely with at most 64 characters of [a-z0-9_]', () => {
    const names = tools.map((tool) => tool.name);
    assert.equal(new Set(names).size, names.length);
    for (const name of names) assert.match(name, TOOL_NAME_PATTERN);
    assert.ok(Math.max(...names.map((name) => name.length)) <= 64);
  });

  it('derive names from the path and the method', () => {
    assert.equal(toolName({ method: 'POST', path: '/governance/proposals' }), 'governance_proposals_create');
    assert.equal(toolName({ method: 'GET', path: '/audit/verify' }), 'audit_verify_get');
    assert.equal(toolName({ method: 'PUT', path: '/governance/killswitch' }), 'governance_killswitch_update');
    assert.equal(toolName({ method: 'DELETE', path: '/execution/webhook-key' }), 'execution_webhook_key_delete');
    assert.equal(toolName({ method: 'POST', path: '/governance/policies/simulate' }), 'governance_policies_simulate_create');
    assert.throws(() => toolName({ method: 'GET', path: `/${'x'.repeat(70)}` }), /must be 1-64/);
  });

  it('give every tool an input schema that compiles as JSON Schema 2020-12 (strict) and is an object', () => {
    const broken = tools.flatMap((tool) => {
      const problem = compiles2020(tool.inputSchema);
      return problem ? [`${tool.name}: ${problem}`] : [];
    });
    assert.deepEqual(broken, []);
    for (const tool of tools) {
      assert.equal(tool.inputSchema.type, 'object', tool.name);
      assert.equal(tool.inputSchema.$schema, 'https://json-schema.org/draft/2020-12/schema');
    }
  });

  it('fit the official Tool definition of MCP 2025-06-18 and 2025-11-25', () => {
    for (const revision of ['2025-06-18', '2025-11-25'] as const) {
      const problems = tools.flatMap((tool) => {
        const { route: _route, functionName: _fn, ...listed } = tool;
        return validateMcp(revision, 'Tool', listed).map((problem) => `${tool.name}: ${problem}`);
      });
      assert.deepEqual(problems, [], revision);
    }
  });

  it('describe each tool with its summary, its HTTP equivalent and the permission it needs', () => {
    const proposals = tools.find((tool) => tool.name === 'governance_proposals_create');
    assert.ok(proposals);
    assert.match(proposals.description, /^Propose an actuation/);
    assert.match(proposals.description, /Same as POST \/governance\/proposals \(needs governance:write\)/);
    assert.match(proposals.description, /pending with the approval id/);
    assert.equal(proposals.functionName, 'governanceProposals');
    const verify = tools.find((tool) => tool.name === 'audit_verify_get');
    assert.ok(verify);
    assert.equal(verify.annotations.readOnlyHint, true);
    assert.match(verify.description, /Reads only/);
  });

  it('show a viewer the read tools only, an operator also writes and configuration, an admin everything', () => {
    const viewer = toolsForRoles(tools, ['viewer']);
    assert.ok(viewer.length > 0);
    assert.ok(
      viewer.every((tool) => tool.route.permission.endsWith(':read')),
      'viewer: reads only',
    );
    const operator = toolsForRoles(tools, ['operator']);
    assert.ok(operator.some((tool) => tool.name === 'governance_proposals_create'));
    assert.ok(!operator.some((tool) => tool.name === 'governance_approvals_create'), 'an operator does not approve');
    assert.ok(!operator.some((tool) => tool.name === 'identity_keys_create'), 'an operator does not mint keys');
    assert.ok(toolsForRoles(tools, ['approver']).some((tool) => tool.name === 'governance_approvals_create'));
    assert.equal(toolsForRoles(tools, ['admin']).length, tools.length);
    assert.equal(toolsForRoles(tools, []).length, 0);
    assert.deepEqual([...roleNames], ['viewer', 'operator', 'approver', 'admin']);
  });
});
