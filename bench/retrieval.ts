/**
 * Retrieval quality and speed of the gateway's BM25 (lib/gateway/retrieval.ts) on BEIR SciFact.
 *   npm run bench:retrieval            (node bench/retrieval.ts [--runs 3])
 *
 * Data: test/fixtures/gateway/retrieval/ (SOURCE.md): the BEIR SciFact corpus (5,183 abstracts, title
 * and text), its 300 test queries and 339 relevance judgements. Nothing is tuned on it: the index runs
 * with its defaults (k1 1.2, b 0.75, Porter stemming, Lucene's stop list), which are Elasticsearch's,
 * the BEIR paper's BM25 baseline. Each document is indexed as one field, `title + "\n\n" + text`.
 *
 * Rows:
 * - `documents`: each abstract one indexed unit (as BEIR evaluates);
 * - `documents, k1 0.9 b 0.4`: the same with Anserini's BM25 defaults, to compare with Anserini's
 *   `flat` regression (title and text concatenated, as here);
 * - `documents, no stemming`: the analyser without Porter's stemmer;
 * - `chunks 256/32 (MaxP)`: what the gateway does with a tenant's documents: each abstract cut into
 *   chunks of ≤ 256 tokens with 32 overlapping (⌈UTF-16 units / 4⌉ per token), chunks indexed, a
 *   document scored by its best chunk.
 *
 * Metrics (binary relevance, as trec_eval and BEIR compute them): nDCG@10 (gain 1 / log2(rank + 1),
 * ideal from the judged documents), recall@10 and recall@100 (share of a query's judged documents in
 * the top 10 / 100), averaged over the 300 queries. Peers: the BEIR paper's BM25 (Elasticsearch, title
 * and text as two fields; Thakur et al., NeurIPS 2021 Datasets and Benchmarks, Table 2 and appendix)
 * and Anserini's BEIR regressions (docs/regressions-beir-v1.0.0-scifact-{multifield,flat}.md).
 *
 * Speed (single thread, median of `--runs`): indexing documents/s and MB/s of text, query latency
 * p50/p95 and queries/s (top 100), the serialised index's size (JSON, and gzipped as S3 would hold it)
 * and its write/read time.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Bm25Index, type Bm25Options, chunkDocument } from '../lib/gateway/retrieval.ts';
import { requireDataset } from './datasets.ts';

const fixtures = fileURLToPath(new URL('../test/fixtures/gateway/retrieval/', import.meta.url));
const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' } } });
const runs = Math.max(1, Number(values.runs) || 3);

interface Doc {
  _id: string;
  title: string;
  text: string;
}
requireDataset('bench/retrieval.ts', fixtures, ['scifact-corpus.jsonl.gz', 'scifact-queries-test.jsonl', 'scifact-qrels-test.tsv']);
const corpus: Doc[] = gunzipSync(readFileSync(`${fixtures}scifact-corpus.jsonl.gz`))
  .toString('utf8')
  .split('\n')
  .filter((line) => line.length > 0)
  .map((line) => JSON.parse(line) as Doc);
const queries = readFileSync(`${fixtures}scifact-queries-test.jsonl`, 'utf8')
  .split('\n')
  .filter((line) => line.length > 0)
  .map((line) => JSON.parse(line) as { _id: string; text: string });
const qrels = new Map<string, Set<string>>();
for (const line of readFileSync(`${fixtures}scifact-qrels-test.tsv`, 'utf8').split('\n').slice(1)) {
  const [query, doc, score] = line.split('\t');
  if (!query || !doc || Number(score) <= 0) continue;
  const judged = qrels.get(query) ?? new Set<string>();
  judged.add(doc);
  qrels.set(query, judged);
}
const documentText = (doc: Doc): string => `${doc.title}\n\n${doc.text}`;
const textBytes = corpus.reduce((sum, doc) => sum + Buffer.byteLength(documentText(doc)), 0);
const approxTokens = (text: string): number => Math.ceil(text.length / 4);

interface Scores {
  ndcg10: number;
  recall10: number;
  recall100: number;
}

/** Mean nDCG@10, recall@10 and recall@100 of ranked document ids per query. */
function evaluate(rankings: Map<string, string[]>): Scores {
  let ndcg10 = 0;
  let recall10 = 0;
  let recall100 = 0;
  for (const query of queries) {
    const judged = qrels.get(query._id) ?? new Set<string>();
    const ranked = rankings.get(query._id) ?? [];
    let dcg = 0;
    ranked.slice(0, 10).forEach((doc, position) => {
      if (judged.has(doc)) dcg += 1 / Math.log2(position + 2);
    });
    let ideal = 0;
    for (let position = 0; position < Math.min(10, judged.size); position++) ideal += 1 / Math.log2(position + 2);
    ndcg10 += ideal > 0 ? dcg / ideal : 0;
    recall10 += judged.size > 0 ? ranked.slice(0, 10).filter((doc) => judged.has(doc)).length / judged.size : 0;
    recall100 += judged.size > 0 ? ranked.slice(0, 100).filter((doc) => judged.has(doc)).length / judged.size : 0;
  }
  return { ndcg10: ndcg10 / queries.length, recall10: recall10 / queries.length, recall100: recall100 / queries.length };
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
const quantile = (values: number[], q: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
};

interface Row {
  name: string;
  scores: Scores;
  units: number;
  indexMs: number;
  queryMs: number[];
  index: Bm25Index;
}

function runDocuments(name: string, options: Bm25Options): Row {
  const indexTimes: number[] = [];
  let index = new Bm25Index(options);
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    index = new Bm25Index(options);
    for (const doc of corpus) index.add(doc._id, documentText(doc));
    indexTimes.push(performance.now() - started);
  }
  const queryMs: number[] = [];
  const rankings = new Map<string, string[]>();
  for (const query of queries) {
    const started = performance.now();
    const hits = index.search(query.text, 100);
    queryMs.push(performance.now() - started);
    rankings.set(
      query._id,
      hits.map((hit) => hit.id),
    );
  }
  return { name, scores: evaluate(rankings), units: index.size, indexMs: median(indexTimes), queryMs, index };
}

function runChunks(name: string, chunkTokens: number, overlapTokens: number): Row {
  const indexTimes: number[] = [];
  let index = new Bm25Index();
  const docOf = new Map<string, string>();
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    index = new Bm25Index();
    for (const doc of corpus) {
      for (const chunk of chunkDocument({ id: doc._id, text: documentText(doc) }, approxTokens, { chunkTokens, overlapTokens })) {
        index.add(chunk.id, chunk.text);
        docOf.set(chunk.id, doc._id);
      }
    }
    indexTimes.push(performance.now() - started);
  }
  const queryMs: number[] = [];
  const rankings = new Map<string, string[]>();
  for (const query of queries) {
    const started = performance.now();
    const hits = index.search(query.text, 1000);
    queryMs.push(performance.now() - started);
    const docs: string[] = [];
    const seen = new Set<string>();
    for (const hit of hits) {
      const doc = docOf.get(hit.id) as string;
      if (seen.has(doc)) continue;
      seen.add(doc);
      docs.push(doc);
    }
    rankings.set(query._id, docs);
  }
  return { name, scores: evaluate(rankings), units: index.size, indexMs: median(indexTimes), queryMs, index };
}

const rows = [
  runDocuments('documents (defaults: k1 1.2, b 0.75, stemmed)', {}),
  runDocuments('documents, k1 0.9 b 0.4 (Anserini defaults)', { k1: 0.9, b: 0.4 }),
  runDocuments('documents, no stemming', { stem: false }),
  runChunks('chunks 256/32 tokens, document = best chunk (MaxP)', 256, 32),
];

const f3 = (value: number): string => value.toFixed(3);
console.log(
  `BEIR SciFact test: ${corpus.length} documents (${(textBytes / 1e6).toFixed(2)} MB of text), ${queries.length} queries, ${[...qrels.values()].reduce((sum, set) => sum + set.size, 0)} judgements\n`,
);
console.log('| run | nDCG@10 | recall@10 | recall@100 |');
console.log('|---|---|---|---|');
for (const row of rows)
  console.log(`| ${row.name} | ${f3(row.scores.ndcg10)} | ${f3(row.scores.recall10)} | ${f3(row.scores.recall100)} |`);
console.log('| peer: BEIR paper BM25 (Elasticsearch, k1 1.2, b 0.75, title and text fields) | 0.665 | n/a | 0.908 |');
console.log('| peer: Anserini BM25 multifield (k1 0.9, b 0.4), BEIR v1.0.0 regression | 0.6647 | n/a | 0.9076 |');
console.log('| peer: Anserini BM25 flat (k1 0.9, b 0.4, title + text), BEIR v1.0.0 regression | 0.6789 | n/a | 0.9253 |');

console.log(`\nSpeed (single thread, median of ${runs} indexing runs; ${queries.length} queries each):\n`);
console.log('| run | units indexed | index docs/s | index MB/s | query p50 ms | query p95 ms | queries/s |');
console.log('|---|---|---|---|---|---|---|');
for (const row of rows) {
  const total = row.queryMs.reduce((sum, value) => sum + value, 0);
  console.log(
    `| ${row.name} | ${row.units} | ${Math.round(corpus.length / (row.indexMs / 1000))} | ${(textBytes / 1e6 / (row.indexMs / 1000)).toFixed(2)} | ${quantile(row.queryMs, 0.5).toFixed(2)} | ${quantile(row.queryMs, 0.95).toFixed(2)} | ${Math.round(queries.length / (total / 1000))} |`,
  );
}

const main = rows[0] as Row;
const chunked = rows[3] as Row;
for (const row of [main, chunked]) {
  let started = performance.now();
  const json = JSON.stringify(row.index);
  const writeMs = performance.now() - started;
  const gzipped = gzipSync(json).length;
  started = performance.now();
  const restored = Bm25Index.fromJSON(JSON.parse(json));
  const readMs = performance.now() - started;
  const same = queries
    .slice(0, 50)
    .every((query) => JSON.stringify(restored.search(query.text, 20)) === JSON.stringify(row.index.search(query.text, 20)));
  console.log(
    `\nSerialised (${row.name}): ${(json.length / 1e6).toFixed(2)} MB JSON, ${(gzipped / 1e6).toFixed(2)} MB gzipped (text: ${(textBytes / 1e6).toFixed(2)} MB); write ${writeMs.toFixed(0)} ms, read ${readMs.toFixed(0)} ms; restored index ranks the same: ${same}`,
  );
}
