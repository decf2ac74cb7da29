/**
 * EventBridge schedule expressions: `rate(value unit)` and six-field `cron(min hour dom month dow year)`
 * (UTC), computing the next fire time. `L`, `W` and `#` are refused rather than approximated.
 */

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

/** Raised for an expression EventBridge would reject or the local cloud cannot run. */
export class ScheduleExpressionError extends Error {
  override name = 'ValidationException';
}

/** A parsed schedule: gives the next fire time strictly after `from`. */
export interface Schedule {
  next(from: Date): Date;
}

function parseField(field: string, min: number, max: number, names: string[] = [], offset = 0): Set<number> | 'any' {
  if (field === '*' || field === '?') return 'any';
  if (/[LW#]/.test(field)) throw new ScheduleExpressionError(`cron field "${field}": L, W and # are not supported by the local cloud`);
  const values = new Set<number>();
  const toNumber = (token: string): number => {
    const index = names.indexOf(token.toUpperCase());
    const value = index >= 0 ? index + offset : Number(token);
    if (!Number.isInteger(value) || value < min || value > max) throw new ScheduleExpressionError(`cron value "${token}" out of range ${min}-${max}`);
    return value;
  };
  for (const part of field.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new ScheduleExpressionError(`cron step "${stepText}" is invalid`);
    let start: number;
    let end: number;
    if (range === '*') {
      start = min;
      end = max;
    } else if (range.includes('-')) {
      const [a = '', b = ''] = range.split('-');
      start = toNumber(a);
      end = toNumber(b);
    } else {
      start = toNumber(range);
      end = stepText === undefined ? start : max;
    }
    for (let value = start; value <= end; value += step) values.add(value);
  }
  return values;
}

const has = (set: Set<number> | 'any', value: number) => set === 'any' || set.has(value);

/**
 * Parses a schedule expression.
 * @throws ScheduleExpressionError for malformed or unsupported expressions.
 */
export function parseSchedule(expression: string): Schedule {
  const rate = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2] ?? 'minutes';
    if (value < 1) throw new ScheduleExpressionError('rate value must be positive');
    if ((value === 1) !== !unit.endsWith('s')) throw new ScheduleExpressionError(`rate(${value} ${unit}): use the singular unit only with 1`);
    const ms = value * (unit.startsWith('minute') ? 60_000 : unit.startsWith('hour') ? 3_600_000 : 86_400_000);
    return { next: (from) => new Date(from.getTime() + ms) };
  }
  const cron = /^cron\((.+)\)$/.exec(expression.trim());
  if (!cron) throw new ScheduleExpressionError(`Parameter ScheduleExpression is not valid: ${expression}`);
  const fields = (cron[1] ?? '').trim().split(/\s+/);
  if (fields.length !== 6) throw new ScheduleExpressionError('cron expressions need six fields: minutes hours day-of-month month day-of-week year');
  const [minF = '', hourF = '', domF = '', monthF = '', dowF = '', yearF = ''] = fields;
  if ((domF === '?') === (dowF === '?')) throw new ScheduleExpressionError('cron: exactly one of day-of-month and day-of-week must be "?"');
  const minutes = parseField(minF, 0, 59);
  const hours = parseField(hourF, 0, 23);
  const dom = parseField(domF, 1, 31);
  const months = parseField(monthF, 1, 12, MONTHS, 1);
  const dow = parseField(dowF, 1, 7, DAYS, 1);
  const years = parseField(yearF, 1970, 2199);
  return {
    next(from) {
      const t = new Date(from.getTime());
      t.setUTCSeconds(0, 0);
      t.setUTCMinutes(t.getUTCMinutes() + 1);
      // Bounded search: five years of minutes at most (a valid expression fires well before).
      for (let guard = 0; guard < 5 * 366 * 24 * 60; guard += 1) {
        if (!has(years, t.getUTCFullYear()) || !has(months, t.getUTCMonth() + 1)) {
          t.setUTCMonth(t.getUTCMonth() + 1, 1);
          t.setUTCHours(0, 0);
          continue;
        }
        if (!has(dom, t.getUTCDate()) || !has(dow, t.getUTCDay() + 1)) {
          t.setUTCDate(t.getUTCDate() + 1);
          t.setUTCHours(0, 0);
          continue;
        }
        if (!has(hours, t.getUTCHours())) {
          t.setUTCHours(t.getUTCHours() + 1, 0);
          continue;
        }
        if (has(minutes, t.getUTCMinutes())) return t;
        t.setUTCMinutes(t.getUTCMinutes() + 1);
      }
      throw new ScheduleExpressionError(`cron(${cron[1]}) never fires`);
    },
  };
}
