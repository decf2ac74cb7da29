/**
 * Guards the conformance pass rate of the local Step Functions engine against data recorded on
 * real AWS. Raise the floors when the engine gets better; never lower them to make a change pass.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runStepFunctionsConformance } from '../../infra/local/stepfunctions/conformance.ts';
import { conformancePath } from '../helpers/conformance.ts';

/** Passed tests, overall (measured: 563 of 579 run; refused JSONata/Assign tests not counted). */
const OVERALL_PASSED_FLOOR = 563;
/** Overall pass rate floor (measured 97.2 %). */
const OVERALL_RATE_FLOOR = 0.97;

const results = await runStepFunctionsConformance(conformancePath('step-functions-asl'));

describe('local Step Functions conformance (recorded on AWS)', () => {
  it('keeps the pass rate at or above the floor', () => {
    const passed = results.reduce((n, r) => n + r.passed, 0);
    const total = results.reduce((n, r) => n + r.total, 0);
    const failures = results.flatMap((r) => r.failures.map((f) => `${r.suite} ${f.test}: ${f.reason}`));
    assert.ok(passed >= OVERALL_PASSED_FLOOR, `passed ${passed} < floor ${OVERALL_PASSED_FLOOR}\n${failures.join('\n')}`);
    assert.ok(passed / total >= OVERALL_RATE_FLOOR, `rate ${(passed / total).toFixed(3)} < ${OVERALL_RATE_FLOOR}`);
  });
});
