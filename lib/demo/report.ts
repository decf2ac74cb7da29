/**
 * What the self-repair demo reports: each step of the loop with its time since the fault was
 * injected, the figures the seed targets are about, and the ledger check. One schema for
 * the printed lines, `--json` and the bench that reads the demo's runs.
 */
import { z } from 'zod';

/** The steps of the loop, in the order they happen. */
export const demoStepNames = [
  'setup',
  'warmed',
  'injected',
  'detected',
  'diagnosed',
  'decided',
  'executed',
  'recovered',
  'ledger',
] as const;
/** A step name. */
export type DemoStepName = (typeof demoStepNames)[number];

/** One step: when it happened (ms since the injection; negative before it) and what it was. */
export const demoStepSchema = z.object({
  step: z.enum(demoStepNames),
  atMs: z.number(),
  detail: z.string().max(2000),
});
/** A step. */
export type DemoStep = z.infer<typeof demoStepSchema>;

/** One ledger stream's check (`GET /audit/verify`). */
export const ledgerCheckSchema = z.object({
  stream: z.string().max(128),
  intact: z.boolean(),
  entries: z.number().int().min(0),
  detail: z.string().max(1000),
});
/** A ledger stream's check. */
export type LedgerCheck = z.infer<typeof ledgerCheckSchema>;

const msOrNull = z.number().min(0).nullable();

/**
 * The demo's result, as `--json` prints it. Times are milliseconds since the injection (null when
 * the step did not happen); `detectionLatencyMs` runs from the arrival of the point that opened the
 * incident to the reply saying it opened, `decisionActionMs` from the incident's opening to the
 * executor's verified change.
 */
export const demoReportSchema = z.object({
  detectedMs: msOrNull,
  diagnosedMs: msOrNull,
  decidedMs: msOrNull,
  executedMs: msOrNull,
  recoveredMs: msOrNull,
  recovered: z.boolean(),
  ledgerIntact: z.boolean(),
  detectionLatencyMs: msOrNull,
  decisionActionMs: msOrNull,
  tenant: z.string().max(63),
  ledger: z.array(ledgerCheckSchema),
  /** What did not happen within the bound, in words (empty when the loop recovered). */
  missing: z.array(z.string().max(1000)),
  steps: z.array(demoStepSchema),
});
/** The demo's result. */
export type DemoReport = z.infer<typeof demoReportSchema>;

/**
 * One step as a line: its time since the injection, its name and what happened.
 * @example formatStep({ step: 'detected', atMs: 840, detail: 'incident opened' }) // '   +0.84 s  detected   incident opened'
 */
export function formatStep(step: DemoStep): string {
  const seconds = step.atMs / 1000;
  const time = `${seconds < 0 ? '-' : '+'}${Math.abs(seconds).toFixed(2)} s`;
  return `${time.padStart(9)}  ${step.step.padEnd(10)} ${step.detail}`;
}

/**
 * The figures against the seed targets, as lines: detection under 1 s from the point's arrival,
 * decision and action under 30 s.
 */
export function formatTargets(report: Pick<DemoReport, 'detectionLatencyMs' | 'decisionActionMs'>): string[] {
  const ratio = (value: number | null, target: number) =>
    value === null ? 'not reached' : `${value.toFixed(0)} ms = ${(value / target).toFixed(3)}× the ${target / 1000} s target`;
  return [
    `detection (point arrived → incident opened): ${ratio(report.detectionLatencyMs, 1000)}`,
    `decision and action (incident opened → change verified): ${ratio(report.decisionActionMs, 30_000)}`,
  ];
}
