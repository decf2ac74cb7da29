/**
 * PII detection quality and speed on a labelled public corpus, beside a peer measured in the same run.
 *   node bench/pii.ts [--split held-out|tune] [--corpus <file>] [--errors <n>] [--type <TYPE>]
 *
 * Corpus: test/fixtures/gateway/pii/corpus.jsonl (see SOURCE.md there; built by
 * scripts/pii-corpus.ts from CoNLL-2003, python-stdnum, validator.js and usaddress). Detectors were
 * tuned on `tune` only; the README reports `held-out`.
 *
 * Scoring: a prediction is a true positive when it has the gold entity's type and covers at least
 * half of the gold span (each gold entity matched once); every other prediction is a false positive
 * of its type (so a phone number "found" in a football score costs precision), every unmatched gold
 * entity a false negative. Overall figures are micro-averaged over all entities.
 *
 * Peer: redact-pii (npm), its built-in redactors for the compared classes only (names, e-mail,
 * phone, IP, US SSN, card, street address; its zipcode/digits/url/credential redactors are off, as
 * they have no gold class here). It returns redacted text, so its spans are recovered by aligning
 * the text around each replacement token with the input.
 *
 * Throughput: the held-out texts run through each detector three times; the best run, in KB of
 * UTF-8 input per second, single thread.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SyncRedactor } from 'redact-pii';
import { detectPii } from '../lib/gateway/pii.ts';

interface Span {
  type: string;
  start: number;
  end: number;
}
interface CorpusRecord {
  id: string;
  source: string;
  split: 'tune' | 'held-out';
  text: string;
  entities: Span[];
}

const { values } = parseArgs({
  options: {
    split: { type: 'string', default: 'held-out' },
    corpus: { type: 'string' },
    errors: { type: 'string', default: '0' },
    type: { type: 'string' },
  },
  strict: true,
});
if (values.split !== 'held-out' && values.split !== 'tune') throw new Error('--split must be held-out or tune');

const candidates = [
  values.corpus,
  fileURLToPath(new URL('../test/fixtures/gateway/pii/corpus.jsonl', import.meta.url)),
  fileURLToPath(new URL('../../shared/conformance/pii/corpus.jsonl', import.meta.url)),
].filter((p): p is string => p !== undefined);
const corpusPath = candidates.find((p) => existsSync(p));
if (!corpusPath) {
  process.stderr.write(
    `bench:pii: no corpus at ${candidates.join(' or ')} (build it with scripts/pii-corpus.ts, see test/fixtures/gateway/pii/SOURCE.md)\n`,
  );
  process.exit(0);
}
const records = readFileSync(corpusPath, 'utf8')
  .split('\n')
  .filter((line) => line.trim() !== '')
  .map((line) => JSON.parse(line) as CorpusRecord)
  .filter((r) => r.split === values.split);

// The peer replaces each class by a fixed token (its `replaceWith` option applies only to custom redactors).
const PEER_TOKENS: Record<string, string> = {
  PERSON_NAME: 'PERSON',
  EMAIL_ADDRESS: 'EMAIL',
  PHONE_NUMBER: 'PHONE',
  IP_ADDRESS: 'IP_ADDRESS',
  US_SOCIAL_SECURITY_NUMBER: 'NATIONAL_ID',
  CREDIT_CARD_NUMBER: 'CREDIT_CARD',
  STREET_ADDRESS: 'STREET_ADDRESS',
};
const peer = new SyncRedactor({
  builtInRedactors: {
    zipcode: { enabled: false },
    digits: { enabled: false },
    url: { enabled: false },
    username: { enabled: false },
    password: { enabled: false },
    credentials: { enabled: false },
  },
});
const PEER_SPLIT = new RegExp(`(${Object.keys(PEER_TOKENS).join('|')})`);

/** Spans of the peer's replacements in the original text: literal pieces are located in order. */
function peerSpans(text: string): Span[] {
  const redacted = peer.redact(text);
  const parts = redacted.split(PEER_SPLIT);
  const spans: Span[] = [];
  let at = 0;
  for (let i = 0; i < parts.length; i += 2) {
    const literal = parts[i] ?? '';
    const found = i === 0 ? 0 : literal === '' ? (i + 1 < parts.length ? at : text.length) : text.indexOf(literal, at + 1);
    if (i > 0) {
      const type = parts[i - 1] ?? '';
      spans.push({ type: PEER_TOKENS[type] ?? type, start: at, end: found < 0 ? at : found });
    }
    at = (found < 0 ? at : found) + literal.length;
  }
  return spans;
}

interface Counts {
  tp: number;
  fp: number;
  fn: number;
}

function score(predict: (text: string) => Span[]) {
  const perType = new Map<string, Counts>();
  const get = (type: string) => {
    const counts = perType.get(type) ?? { tp: 0, fp: 0, fn: 0 };
    perType.set(type, counts);
    return counts;
  };
  const errors: string[] = [];
  for (const record of records) {
    const predicted = predict(record.text);
    const used = new Set<number>();
    for (const gold of record.entities) {
      const index = predicted.findIndex(
        (p, i) =>
          !used.has(i) && p.type === gold.type && Math.min(p.end, gold.end) - Math.max(p.start, gold.start) >= (gold.end - gold.start) / 2,
      );
      if (index >= 0) {
        used.add(index);
        get(gold.type).tp += 1;
      } else {
        get(gold.type).fn += 1;
        errors.push(
          `FN ${gold.type} ${JSON.stringify(record.text.slice(gold.start, gold.end))} in ${JSON.stringify(record.text.slice(Math.max(0, gold.start - 60), gold.end + 60))}`,
        );
      }
    }
    predicted.forEach((p, i) => {
      if (used.has(i)) return;
      get(p.type).fp += 1;
      errors.push(
        `FP ${p.type} ${JSON.stringify(record.text.slice(p.start, p.end))} in ${JSON.stringify(record.text.slice(Math.max(0, p.start - 60), p.end + 60))}`,
      );
    });
  }
  return { perType, errors };
}

const ratio = (a: number, b: number) => (b === 0 ? Number.NaN : a / b);
const f1 = (p: number, r: number) => (p + r === 0 ? 0 : (2 * p * r) / (p + r));
const fmt = (x: number) => (Number.isNaN(x) ? '  –  ' : x.toFixed(3));

function throughput(predict: (text: string) => unknown): number {
  const bytes = records.reduce((sum, r) => sum + Buffer.byteLength(r.text), 0);
  let best = Number.POSITIVE_INFINITY;
  for (let run = 0; run < 3; run += 1) {
    const t0 = performance.now();
    for (const record of records) predict(record.text);
    best = Math.min(best, performance.now() - t0);
  }
  return bytes / 1024 / (best / 1000);
}

const ours = (text: string) => detectPii(text);
const oursScore = score(ours);
const peerScore = score(peerSpans);

const types = [...new Set([...oursScore.perType.keys(), ...records.flatMap((r) => r.entities.map((e) => e.type))])].sort();
const goldCount = (type: string) => records.reduce((n, r) => n + r.entities.filter((e) => e.type === type).length, 0);
const bytes = records.reduce((sum, r) => sum + Buffer.byteLength(r.text), 0);
console.log(
  `corpus ${corpusPath}, split ${values.split}: ${records.length} texts, ${(bytes / 1024).toFixed(0)} KB, ${types.reduce((n, t) => n + goldCount(t), 0)} gold entities`,
);
console.log('| class | gold | P | R | F1 | peer P | peer R | peer F1 |');
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
const total = (perType: Map<string, Counts>) => {
  const sum = { tp: 0, fp: 0, fn: 0 };
  for (const c of perType.values()) {
    sum.tp += c.tp;
    sum.fp += c.fp;
    sum.fn += c.fn;
  }
  return sum;
};
const row = (label: string, gold: number, a: Counts, b: Counts | undefined, peerCovers: boolean) => {
  const p = ratio(a.tp, a.tp + a.fp);
  const r = ratio(a.tp, a.tp + a.fn);
  const pp = b ? ratio(b.tp, b.tp + b.fp) : Number.NaN;
  const pr = b ? ratio(b.tp, b.tp + b.fn) : Number.NaN;
  const peer = peerCovers ? `${fmt(pp)} | ${fmt(pr)} | ${fmt(f1(pp, pr))}` : 'n/a | n/a | n/a';
  console.log(`| ${label} | ${gold} | ${fmt(p)} | ${fmt(r)} | ${fmt(f1(p, r))} | ${peer} |`);
};
const peerTypes = new Set(Object.values(PEER_TOKENS));
for (const type of types) {
  row(type, goldCount(type), oursScore.perType.get(type) ?? { tp: 0, fp: 0, fn: 0 }, peerScore.perType.get(type), peerTypes.has(type));
}
row(
  '**overall (micro)**',
  types.reduce((n, t) => n + goldCount(t), 0),
  total(oursScore.perType),
  total(peerScore.perType),
  true,
);

const oursKbs = throughput(ours);
const peerKbs = throughput((text) => peer.redact(text));
console.log(
  `\nthroughput (held-in-memory texts, single thread, best of 3): detectPii ${oursKbs.toFixed(0)} KB/s, redact-pii ${peerKbs.toFixed(0)} KB/s`,
);

const show = Number(values.errors);
if (show > 0) {
  if (values.split !== 'tune') console.log('\n(errors are shown for inspection; tune only on --split tune)');
  const filtered = oursScore.errors.filter((e) => values.type === undefined || e.split(' ')[1] === values.type);
  for (const line of filtered.slice(0, show)) console.log(line);
}
