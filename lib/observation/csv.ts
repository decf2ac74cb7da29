/**
 * Parsing of `timestamp,value[,…]` CSV text for replays and evaluations. Pure: text in, points out.
 * Timestamps may be ISO 8601 (quoted or not; without an offset they are read as UTC) or epoch
 * numbers (seconds below 1e11, milliseconds otherwise). A first line whose value is not numeric is a
 * header.
 */
import { DomainError } from '../errors.ts';

/** A malformed CSV line; `line` is 1-based. */
export class CsvLineError extends DomainError {
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.line = line;
  }
}

/** One parsed row: the point plus any extra columns (e.g. a label) as raw strings. */
export interface CsvRow {
  line: number;
  timestamp: number;
  value: number;
  extra: string[];
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

function unquote(cell: string): string {
  const trimmed = cell.trim();
  return trimmed.length >= 2 && trimmed.startsWith('"') && trimmed.endsWith('"') ? trimmed.slice(1, -1) : trimmed;
}

/** Epoch ms of a timestamp cell, or null when it is neither ISO 8601 nor a number. */
export function parseTimestampCell(cell: string): number | null {
  const text = unquote(cell);
  if (text === '') return null;
  if (/^-?\d+(\.\d+)?$/.test(text)) {
    const number = Number(text);
    return Math.abs(number) < 1e11 ? number * 1000 : number;
  }
  if (!ISO_DATE.test(text)) return null;
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(text) && text.length > 10;
  const normalised = text.replace(' ', 'T');
  const ms = Date.parse(hasZone ? normalised : normalised.length === 10 ? `${normalised}T00:00:00Z` : `${normalised}Z`);
  return Number.isNaN(ms) ? null : ms;
}

/**
 * Parses CSV text into rows. Blank lines are skipped.
 * @throws {CsvLineError} naming the 1-based line of the first malformed row.
 * @example
 * parseSeriesCsv('timestamp,value\n2026-01-01T00:00:00Z,1.5\n1767225660,2\n');
 */
export function parseSeriesCsv(text: string): CsvRow[] {
  const rows: CsvRow[] = [];
  const lines = text.split(/\r?\n/);
  const headerLine = lines.findIndex((l) => l.trim() !== '') + 1;
  lines.forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    const cells = raw.split(',');
    if (cells.length < 2) throw new CsvLineError(line, 'expected at least two columns: timestamp,value');
    const valueText = unquote(cells[1] as string);
    const value = valueText === '' ? Number.NaN : Number(valueText);
    const timestamp = parseTimestampCell(cells[0] as string);
    if (rows.length === 0 && line === headerLine && !Number.isFinite(value)) return; // header
    if (timestamp === null) throw new CsvLineError(line, `invalid timestamp '${unquote(cells[0] as string)}'`);
    if (!Number.isFinite(value)) throw new CsvLineError(line, `invalid value '${valueText}'`);
    rows.push({ line, timestamp, value, extra: cells.slice(2).map(unquote) });
  });
  return rows;
}
