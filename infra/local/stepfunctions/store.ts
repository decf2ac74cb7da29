/**
 * Tiny JSON file store for the local Step Functions service. Every write goes to a temp file in
 * the same directory and is renamed over the target, so a crash never leaves a torn file.
 * Synchronous on purpose: writes are small, and ordering with in-memory state stays trivial.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Atomic JSON files under one directory. */
export class JsonStore {
  readonly dir: string;
  constructor(dir: string) {
    this.dir = dir;
    mkdirSync(dir, { recursive: true });
  }

  /** Reads `rel` or returns undefined when it does not exist. */
  read<T>(rel: string): T | undefined {
    const file = join(this.dir, rel);
    if (!existsSync(file)) return undefined;
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  }

  /** Writes `rel` atomically (temp file + rename). */
  write(rel: string, value: unknown): void {
    const file = join(this.dir, rel);
    mkdirSync(dirname(file), { recursive: true });
    const temp = `${file}.${randomUUID()}.tmp`;
    writeFileSync(temp, JSON.stringify(value));
    renameSync(temp, file);
  }

  /** Lists the `.json` files of a sub-directory (names without directory). */
  list(sub: string): string[] {
    const d = join(this.dir, sub);
    if (!existsSync(d)) return [];
    return readdirSync(d).filter((f) => f.endsWith('.json'));
  }

  /** Removes `rel` if present. */
  remove(rel: string): void {
    rmSync(join(this.dir, rel), { force: true });
  }
}
