/**
 * Prints the pass rates of the local Step Functions engine against the conformance data
 * recorded on real AWS (`test/fixtures/conformance/step-functions-asl/`), per suite and overall.
 * Exits 0 whatever the score (a benchmark, not a gate; the floor lives in the unit test); a
 * missing conformance set is an error.
 *
 * Run: node bench/stepfunctions-conformance.ts [--failures]
 */
import { runStepFunctionsConformance } from '../infra/local/stepfunctions/conformance.ts';
import { conformancePath } from '../test/helpers/conformance.ts';

const results = await runStepFunctionsConformance(conformancePath('step-functions-asl'));
const showFailures = process.argv.includes('--failures');
let passed = 0;
let total = 0;
let refused = 0;
let skipped = 0;
for (const r of results) {
  passed += r.passed;
  total += r.total;
  refused += r.refused;
  skipped += r.skipped;
  const rate = r.total > 0 ? `${((100 * r.passed) / r.total).toFixed(1)}%` : '-';
  console.log(
    `${r.suite.padEnd(52)} ${`${r.passed}/${r.total}`.padStart(9)} ${rate.padStart(7)}  refused ${r.refused}  skipped ${r.skipped}`,
  );
  if (showFailures) for (const f of r.failures) console.log(`    - ${f.test}: ${f.reason}`);
}
console.log(
  `${'overall'.padEnd(52)} ${`${passed}/${total}`.padStart(9)} ${`${((100 * passed) / Math.max(total, 1)).toFixed(1)}%`.padStart(7)}  refused ${refused}  skipped ${skipped}`,
);
