/**
 * The capsule sandbox's costs (lib/capsules/sandbox.ts), in process, against a plain in-process
 * function call as the floor:
 *
 * 1. Start-up: compiling QuickJS's wasm (once per process), then per sandbox a fresh WebAssembly
 *    instance, a QuickJS runtime and context, and the prelude plus a small module (`openSandbox`);
 *    and a whole `runSandboxed` of a tiny entry (open, call, drop), which is what one capsule tool
 *    invocation costs when each gets its own instance.
 * 2. Call overhead on an open sandbox: a tiny function (`n + 1` on a JSON input) called N times, JSON
 *    copied in and out, each call one watchdog slice; the floor is the same function called in
 *    process (awaited, as the sandbox's call is).
 * 3. A tool-call round trip: the guest awaits `capsule.callTool('echo', …)` once per call; the host
 *    tool answers at once; the floor is the same host tool awaited directly. The round trip alone is
 *    that call's time less the tiny call's.
 * 4. What each guard costs: one `node:vm` watchdog slice around nothing (the hard wall clock), and
 *    the CPU time one unit of fuel stands for (a tight loop run to its budget).
 *
 * Samples of the sandbox and of its floor alternate in one loop, so load on this shared machine hits
 * both alike. Run: `npm run bench:capsule-sandbox [-- --iterations 2000 --startups 200]`.
 */
import os from 'node:os';
import { parseArgs } from 'node:util';
import vm from 'node:vm';
import {
  openSandbox,
  prepareSandbox,
  runSandboxed,
  type SandboxHost,
  type SandboxResult,
  sealVerifiedBundle,
} from '../lib/capsules/sandbox.ts';

const CODE = `
export function tiny(input) { return { n: input.n + 1 }; }
export async function oneTool(input, capsule) { const echoed = await capsule.callTool('echo', { n: input.n }); return { n: echoed.n + 1 }; }
export function spin() { for (;;) {} }
export function work() { let s = 0; const o = { k: 1 }; for (let i = 0; ; i++) s = (s + i * o.k) % 1000003; }
`;
const bundle = sealVerifiedBundle({ bundleHash: 'e'.repeat(64), code: CODE, capabilities: ['read:inputs', 'call:tool:echo'] });
const host: SandboxHost = { callTool: async (_name, args) => args };
const capabilities = ['read:inputs', 'call:tool:echo'] as const;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

function quantiles(samples: number[]): { p50: number; p95: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95) };
}

const fmt = (ms: number) => (ms < 0.01 ? `${(ms * 1000).toFixed(2)} µs` : ms < 1 ? `${(ms * 1000).toFixed(0)} µs` : `${ms.toFixed(2)} ms`);
const row = (name: string, samples: number[]) => {
  const q = quantiles(samples);
  return `| ${name} | ${fmt(q.p50)} | ${fmt(q.p95)} |`;
};

function expectOk(result: SandboxResult): void {
  if (!result.ok) throw new Error(`the sandbox failed: ${result.error.kind}: ${result.error.message}`);
}

async function plainTiny(input: { n: number }): Promise<{ n: number }> {
  return { n: input.n + 1 };
}

/** Runs the bench and prints its tables; returns the p50s (ms) of the main figures. */
export async function benchCapsuleSandbox(options: { iterations: number; startups: number }) {
  const started = Date.now();
  console.log(
    `machine: ${os.cpus()[0]?.model ?? 'unknown cpu'} × ${os.cpus().length}, node ${process.version}, load ${os.loadavg()[0]?.toFixed(2)}`,
  );

  let t = performance.now();
  await prepareSandbox();
  const compileMs = performance.now() - t;

  // 1. Start-up.
  const opens: number[] = [];
  const runs: number[] = [];
  const floorStart: number[] = [];
  for (let i = 0; i < options.startups; i++) {
    t = performance.now();
    const opened = await openSandbox({ bundle, capabilities: [...capabilities], host });
    opens.push(performance.now() - t);
    if (!opened.ok) throw new Error(opened.error.message);
    opened.sandbox.close();
    t = performance.now();
    expectOk(await runSandboxed({ bundle, entry: 'tiny', input: { n: i }, capabilities: [...capabilities], host }));
    runs.push(performance.now() - t);
    t = performance.now();
    await plainTiny({ n: i });
    floorStart.push(performance.now() - t);
  }

  // 2 and 3. Calls on one open sandbox.
  const opened = await openSandbox({ bundle, capabilities: [...capabilities], host, limits: { timeoutMs: 60_000 } });
  if (!opened.ok) throw new Error(opened.error.message);
  const { sandbox } = opened;
  const calls: number[] = [];
  const toolCalls: number[] = [];
  const floorCalls: number[] = [];
  const floorTools: number[] = [];
  for (let i = 0; i < Math.min(200, options.iterations); i++) {
    expectOk(await sandbox.call('tiny', { n: i }));
    expectOk(await sandbox.call('oneTool', { n: i }));
  }
  for (let i = 0; i < options.iterations; i++) {
    t = performance.now();
    const result = await sandbox.call('tiny', { n: i });
    calls.push(performance.now() - t);
    expectOk(result);
    t = performance.now();
    const tool = await sandbox.call('oneTool', { n: i });
    toolCalls.push(performance.now() - t);
    expectOk(tool);
    t = performance.now();
    await plainTiny({ n: i });
    floorCalls.push(performance.now() - t);
    t = performance.now();
    await host.callTool('echo', { n: i }, { signal: AbortSignal.timeout(1_000) });
    floorTools.push(performance.now() - t);
  }
  sandbox.close();

  // 4. The guards.
  const context = vm.createContext({ slice: undefined as (() => unknown) | undefined });
  const script = new vm.Script('slice()');
  const slices: number[] = [];
  for (let i = 0; i < options.iterations; i++) {
    t = performance.now();
    context.slice = () => i;
    script.runInContext(context, { timeout: 1_000 });
    slices.push(performance.now() - t);
  }
  const fuelUnits = 2_000;
  const perFuel: Record<string, { wallMs: number; perUnitMs: number }> = {};
  for (const entry of ['spin', 'work']) {
    const stopped = await runSandboxed({ bundle, entry, capabilities: [], limits: { fuel: fuelUnits, timeoutMs: 60_000 } });
    if (stopped.ok || stopped.error.kind !== 'fuel' || !stopped.usage) throw new Error(`${entry} did not stop on fuel`);
    perFuel[entry] = { wallMs: stopped.usage.wallMs, perUnitMs: stopped.usage.wallMs / stopped.usage.fuelOrInterrupts };
  }
  const memory = process.memoryUsage();
  console.log('');
  console.log(`QuickJS wasm compiled once per process: ${fmt(compileMs)}.`);
  console.log('');
  console.log(`Start-up, ${options.startups} samples each (p50 / p95)`);
  console.log('');
  console.log('| what | p50 | p95 |');
  console.log('|---|---|---|');
  console.log(row('openSandbox: new wasm instance + runtime + context + prelude + module', opens));
  console.log(row('runSandboxed of a tiny entry (open, call, drop)', runs));
  console.log(row('floor: the same function in process', floorStart));
  console.log('');
  console.log(`Calls on one open sandbox, ${options.iterations} samples each (p50 / p95)`);
  console.log('');
  console.log('| what | p50 | p95 |');
  console.log('|---|---|---|');
  console.log(row('sandbox.call of a tiny function (JSON in and out, one watchdog slice)', calls));
  console.log(row('floor: the same function called in process', floorCalls));
  console.log(row('sandbox.call with one tool call (guest → host tool → guest)', toolCalls));
  console.log(row('floor: the host tool awaited directly', floorTools));
  const roundTrip = quantiles(toolCalls).p50 - quantiles(calls).p50;
  console.log(`| tool-call round trip alone (p50 with one tool call − p50 without) | ${fmt(roundTrip)} | |`);
  console.log('');
  console.log('Guards');
  console.log('');
  console.log('| what | p50 | p95 |');
  console.log('|---|---|---|');
  console.log(row('one node:vm watchdog slice around nothing (hard wall clock)', slices));
  const fuelRow = (what: string, entry: string) =>
    `| one unit of fuel (interrupt), ${what}: ${fuelUnits} units in ${fmt(perFuel[entry]?.wallMs ?? Number.NaN)} | ${fmt(perFuel[entry]?.perUnitMs ?? Number.NaN)} | |`;
  console.log(fuelRow('an empty loop `for (;;) {}`', 'spin'));
  console.log(fuelRow('a loop with arithmetic and a property read', 'work'));
  console.log('');
  console.log(
    `Process after ${options.startups * 2 + 2} instances: rss ${(memory.rss / 2 ** 20).toFixed(0)} MiB, array buffers ${(memory.arrayBuffers / 2 ** 20).toFixed(0)} MiB; load ${os.loadavg()[0]?.toFixed(2)}; ${((Date.now() - started) / 1000).toFixed(0)} s.`,
  );
  return { openP50: quantiles(opens).p50, runP50: quantiles(runs).p50, callP50: quantiles(calls).p50, roundTripP50: roundTrip };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      iterations: { type: 'string', default: '2000' },
      startups: { type: 'string', default: '200' },
    },
  });
  const number = (name: string, value: string | undefined, min: number) => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
    return parsed;
  };
  await benchCapsuleSandbox({ iterations: number('iterations', values.iterations, 1), startups: number('startups', values.startups, 1) });
}
