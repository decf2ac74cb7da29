import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseSchedule, ScheduleExpressionError } from '../../infra/local/eventbridge/schedule.ts';

const at = (iso: string) => new Date(iso);

describe('schedule expressions', () => {
  it('fires rate(5 minutes) five minutes after the previous fire', () => {
    assert.equal(parseSchedule('rate(5 minutes)').next(at('2026-01-01T00:00:00Z')).toISOString(), '2026-01-01T00:05:00.000Z');
  });

  it('rejects rate(1 minutes) and rate(5 minute) as EventBridge does', () => {
    assert.throws(() => parseSchedule('rate(1 minutes)'), ScheduleExpressionError);
    assert.throws(() => parseSchedule('rate(5 minute)'), ScheduleExpressionError);
  });

  it('fires cron(0 12 * * ? *) at the next noon UTC', () => {
    assert.equal(parseSchedule('cron(0 12 * * ? *)').next(at('2026-03-10T12:00:00Z')).toISOString(), '2026-03-11T12:00:00.000Z');
  });

  it('handles steps, ranges and day names: cron(0/15 9-17 ? * MON-FRI *)', () => {
    const schedule = parseSchedule('cron(0/15 9-17 ? * MON-FRI *)');
    // 2026-03-13 is a Friday; after 17:45 the next fire is Monday 09:00.
    assert.equal(schedule.next(at('2026-03-13T17:45:00Z')).toISOString(), '2026-03-16T09:00:00.000Z');
    assert.equal(schedule.next(at('2026-03-16T09:00:00Z')).toISOString(), '2026-03-16T09:15:00.000Z');
  });

  it('requires exactly one of day-of-month and day-of-week to be ?', () => {
    assert.throws(() => parseSchedule('cron(0 12 * * * *)'), /exactly one/);
  });

  it('refuses L, W and # instead of approximating them', () => {
    assert.throws(() => parseSchedule('cron(0 12 L * ? *)'), /not supported/);
  });
});
