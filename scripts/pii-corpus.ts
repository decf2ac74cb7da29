/**
 * Builds the PII evaluation corpus (test/fixtures/gateway/pii/corpus.jsonl) from public, labelled
 * sources checked out as git directories (read with `git show`, so no work tree is needed):
 *   node scripts/pii-corpus.ts --conll <repo> --stdnum <repo> --validator <repo> --usaddress <repo> [--out <file>]
 *
 * Sources (SOURCE.md beside the corpus names commits and licences):
 * - CoNLL-2003 English NER (`CoNLL-2003/eng.testa` → tune, `eng.testb` → held-out): person names
 *   (PER) in Reuters news, one record per document, tokens joined by spaces, sentences by newlines.
 * - python-stdnum doctests: IBANs (valid and invalid blocks of tests/test_iban.doctest), US SSNs,
 *   Spanish DNI/NIE, Finnish HETU, Swedish personnummer, Italian codice fiscale (their `validate`/
 *   `is_valid` examples, valid and invalid).
 * - validator.js tests: e-mail addresses (isEmail, default options), IP addresses (isIP), card
 *   numbers (isCreditCard, valid and invalid), IBANs (isIBAN), mobile numbers of every locale
 *   (isMobilePhone, valid only: its invalid lists hold real landline numbers, which are PII too).
 * - usaddress `training/labeled.xml`: US street addresses (whole `AddressString`).
 * Each test vector is placed in one sentence frame (below); vectors alternate tune / held-out by
 * their order in the source, and the two splits use disjoint frames, so nothing tuned on a frame
 * or a vector is scored on it. Invalid vectors (failed checksums) are negatives: no entity.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

type Split = 'tune' | 'held-out';
interface Gold {
  type: string;
  start: number;
  end: number;
}
interface CorpusRecord {
  id: string;
  source: string;
  split: Split;
  text: string;
  entities: Gold[];
}

const show = (repo: string, path: string) =>
  execFileSync('git', ['-C', repo, 'show', `HEAD:${path}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
const head = (repo: string) => execFileSync('git', ['-C', repo, 'rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();

/** CoNLL-2003 documents with PER spans (IOB1: a run of I-PER is one name; B-PER starts a new one). */
function conll(repo: string, file: string, split: Split): CorpusRecord[] {
  const records: CorpusRecord[] = [];
  const docs = show(repo, file).split(/^-DOCSTART-.*$/m);
  docs.forEach((doc, d) => {
    const sentences = doc.split(/\n\s*\n/).map((s) => s.split('\n').filter((l) => l.trim() !== ''));
    let text = '';
    const entities: Gold[] = [];
    for (const sentence of sentences) {
      if (sentence.length === 0) continue;
      if (text !== '') text += '\n';
      let open: Gold | undefined;
      sentence.forEach((line, i) => {
        const cols = line.split(' ');
        const token = cols[0] ?? '';
        const tag = cols.at(-1) ?? 'O';
        if (i > 0) text += ' ';
        const start = text.length;
        text += token;
        if (tag.endsWith('-PER')) {
          if (open && !tag.startsWith('B-')) open.end = text.length;
          else {
            open = { type: 'PERSON', start, end: text.length };
            entities.push(open);
          }
        } else open = undefined;
      });
    }
    if (text.trim() !== '') records.push({ id: `conll-${split}-${d}`, source: 'conll2003', split, text, entities });
  });
  return records;
}

interface Vector {
  value: string;
  valid: boolean;
}

/** The `numbers = '''…'''` blocks of a stdnum doctest, valid when checked with `not …is_valid`. */
function stdnumBlocks(text: string): Vector[] {
  const out: Vector[] = [];
  const block = /^>>> numbers = '''\n([\s\S]*?)^\.\.\. '''\n(?:>>>[^\n]*\n)*?>>> \[[^\n]*?(not )?\w+\.is_valid\(x/gm;
  for (const match of text.matchAll(block)) {
    const valid = match[2] !== undefined;
    for (const line of (match[1] ?? '').split('\n')) {
      const value = line.replace(/^\.\.\. ?/, '').trim();
      if (value !== '') out.push({ value, valid });
    }
  }
  return out;
}

/** `>>> mod.validate('X')` (valid unless a Traceback follows) and `>>> mod.is_valid('X')` → True/False. */
function stdnumExamples(text: string, fn: RegExp): Vector[] {
  const out: Vector[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const match = /^>>> (?:\w+\.)?(validate|is_valid)\('([^']+)'\)/.exec(line);
    if (!match || !fn.test(line)) return;
    const next = lines[i + 1] ?? '';
    const valid = match[1] === 'validate' ? !next.startsWith('Traceback') : next.trim() === 'True';
    out.push({ value: match[2] ?? '', valid });
  });
  return out;
}

/** String literals of the array after `key: [` starting at `from` (template literals skipped). */
function literalArray(source: string, from: number): string[] {
  const out: string[] = [];
  let i = source.indexOf('[', from) + 1;
  let depth = 1;
  while (i < source.length && depth > 0) {
    const c = source[i];
    if (c === '[') depth += 1;
    else if (c === ']') depth -= 1;
    else if (c === "'" || c === '"') {
      let value = '';
      i += 1;
      while (i < source.length && source[i] !== c) {
        if (source[i] === '\\') {
          const e = source[i + 1];
          value +=
            e === 'n' ? '\n' : e === 't' ? '\t' : e === 'u' ? String.fromCharCode(Number.parseInt(source.slice(i + 2, i + 6), 16)) : e;
          i += e === 'u' ? 6 : 2;
        } else value += source[i++];
      }
      out.push(value);
    } else if (c === '`') {
      i = source.indexOf('`', i + 1);
    } else if (c === '/' && source[i + 1] === '/') {
      i = source.indexOf('\n', i);
    }
    i += 1;
  }
  return out;
}

/** valid/invalid lists of each `test({ validator: 'name', …})` call without `args`. */
function validatorCases(source: string, name: string): Vector[] {
  const out: Vector[] = [];
  const call = new RegExp(`validator: '${name}',\\n(\\s*)(valid|invalid|args):`, 'g');
  for (const match of source.matchAll(call)) {
    if (match[2] === 'args') continue;
    const at = match.index ?? 0;
    const end = source.indexOf('});', at);
    const body = source.slice(at, end);
    const validAt = body.search(/\n\s*valid: \[/);
    const invalidAt = body.search(/\n\s*invalid: \[/);
    if (validAt >= 0) for (const value of literalArray(source, at + validAt)) out.push({ value, valid: true });
    if (invalidAt >= 0) for (const value of literalArray(source, at + invalidAt)) out.push({ value, valid: false });
  }
  return out;
}

/** Valid mobile numbers of every locale fixture of isMobilePhone. */
function validatorPhones(source: string): Vector[] {
  const out: Vector[] = [];
  const from = source.indexOf("it('should validate mobile phone number'");
  const to = source.indexOf('fixtures.forEach', from);
  const region = source.slice(from, to);
  for (const match of region.matchAll(/\n\s*valid: \[/g)) {
    for (const value of literalArray(region, match.index ?? 0)) out.push({ value, valid: true });
  }
  return out;
}

function usAddresses(repo: string): Vector[] {
  const xml = show(repo, 'training/labeled.xml');
  const out: Vector[] = [];
  for (const match of xml.matchAll(/<AddressString>([\s\S]*?)<\/AddressString>/g)) {
    const value = (match[1] ?? '')
      .replace(/<[^>]+>/g, '')
      .replace(/&amp;/g, '&')
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&apos;/g, "'")
      .replace(/&quot;/g, '"')
      .replace(/\s+/g, ' ')
      .trim();
    if (value !== '') out.push({ value, valid: true });
  }
  return out;
}

/**
 * Sentence frames, disjoint between tune and held-out; `{}` is the vector. Half of each set name
 * the kind of value near it, half do not, so context words help only where a person would use them.
 */
const FRAMES: Record<string, Record<Split, string[]>> = {
  EMAIL: {
    tune: ['Please write to {} before Friday.', 'cc: {}', 'The invoice went to {} and bounced.'],
    'held-out': ['You can reach me at {} any time.', 'From: {}\nSubject: meeting notes', '{} asked whether the order had shipped.'],
  },
  IP_ADDRESS: {
    tune: ['The login came from {} at 03:12.', 'Blocked {} after five failed attempts.', 'host {} port 22'],
    'held-out': ['Client address: {}', 'We saw requests from {} all night.', 'Ping {} and tell me if it answers.'],
  },
  CREDIT_CARD: {
    tune: ['Card number {} was declined.', 'Please charge {} for the deposit.', 'I paid with {} yesterday.'],
    'held-out': ['My card is {}, expiry 09/27.', 'Refund the amount to {} please.', 'The payment used {} and went through.'],
  },
  IBAN: {
    tune: ['Please transfer the rent to {} by the 3rd.', 'IBAN: {}', 'The refund will be paid into {}.'],
    'held-out': [
      'My bank account is {} (current account).',
      'Send it to {} before the end of the month.',
      'Account {} was credited on Monday.',
    ],
  },
  PHONE: {
    tune: ['Call me on {} after six.', 'Mobile: {}', 'She left {} as her contact number.'],
    'held-out': ['You can text {} anytime.', 'My number is {} if anything changes.', 'Reached him at {} this morning.'],
  },
  NATIONAL_ID: {
    tune: ['Social security number {} was on the form.', 'ID: {}', 'Her identity number is {}.'],
    'held-out': ['Personal number {} must be checked.', 'The applicant gave {} as national ID.', 'Please verify {} against the register.'],
  },
  STREET_ADDRESS: {
    tune: ['Ship it to {} please.', 'Address: {}', 'We moved to {} last spring.'],
    'held-out': ['I live at {} with my sister.', 'The package was left at {} on Tuesday.', 'Deliver to {}, ring twice.'],
  },
};

function vectorRecords(source: string, type: string, vectors: Vector[]): CorpusRecord[] {
  const frames = FRAMES[type];
  if (!frames) throw new Error(`no frames for ${type}`);
  const seen = new Set<string>();
  const records: CorpusRecord[] = [];
  let n = 0;
  for (const vector of vectors) {
    const key = `${vector.valid}:${vector.value}`;
    if (seen.has(key) || vector.value.length > 200 || /\n/.test(vector.value)) continue;
    seen.add(key);
    const split: Split = n % 2 === 0 ? 'tune' : 'held-out';
    const list = frames[split];
    const frame = list[Math.floor(n / 2) % list.length] ?? '{}';
    const start = frame.indexOf('{}');
    const text = frame.slice(0, start) + vector.value + frame.slice(start + 2);
    records.push({
      id: `${source}-${type.toLowerCase()}-${n}`,
      source,
      split,
      text,
      entities: vector.valid ? [{ type, start, end: start + vector.value.length }] : [],
    });
    n += 1;
  }
  return records;
}

function main(): void {
  const { values } = parseArgs({
    options: {
      conll: { type: 'string' },
      stdnum: { type: 'string' },
      validator: { type: 'string' },
      usaddress: { type: 'string' },
      out: { type: 'string', default: 'test/fixtures/gateway/pii/corpus.jsonl' },
    },
    strict: true,
  });
  const { conll: conllRepo, stdnum, validator, usaddress } = values;
  if (!conllRepo || !stdnum || !validator || !usaddress) {
    process.stderr.write(
      'usage: node scripts/pii-corpus.ts --conll <repo> --stdnum <repo> --validator <repo> --usaddress <repo> [--out <file>]\n',
    );
    process.exit(2);
  }
  const records: CorpusRecord[] = [
    ...conll(conllRepo, 'CoNLL-2003/eng.testa', 'tune'),
    ...conll(conllRepo, 'CoNLL-2003/eng.testb', 'held-out'),
  ];
  const vtests = show(validator, 'test/validators.test.js');
  const iptests = show(validator, 'test/validators/isIP.test.js');
  records.push(
    ...vectorRecords(
      'validatorjs',
      'EMAIL',
      validatorCases(vtests, 'isEmail').filter((v) => v.valid),
    ),
  );
  records.push(...vectorRecords('validatorjs', 'IP_ADDRESS', validatorCases(iptests, 'isIP')));
  records.push(...vectorRecords('validatorjs', 'CREDIT_CARD', validatorCases(vtests, 'isCreditCard')));
  records.push(...vectorRecords('validatorjs', 'IBAN', validatorCases(vtests, 'isIBAN')));
  records.push(...vectorRecords('validatorjs', 'PHONE', validatorPhones(vtests)));
  records.push(...vectorRecords('stdnum', 'IBAN', stdnumBlocks(show(stdnum, 'tests/test_iban.doctest'))));
  const ids: Vector[] = [
    ...stdnumExamples(show(stdnum, 'stdnum/us/ssn.py'), /validate|is_valid/),
    ...stdnumExamples(show(stdnum, 'stdnum/es/dni.py'), /validate|is_valid/),
    ...stdnumExamples(show(stdnum, 'stdnum/es/nie.py'), /validate|is_valid/),
    ...stdnumExamples(show(stdnum, 'stdnum/fi/hetu.py'), /validate|is_valid/),
    ...stdnumExamples(show(stdnum, 'tests/test_fi_hetu.doctest'), /hetu\.(validate|is_valid)/),
    ...stdnumExamples(show(stdnum, 'stdnum/se/personnummer.py'), /validate|is_valid/),
    ...stdnumBlocks(show(stdnum, 'tests/test_se_personnummer.doctest')),
    ...stdnumExamples(show(stdnum, 'stdnum/it/codicefiscale.py'), /validate|is_valid/),
    ...stdnumBlocks(show(stdnum, 'tests/test_it_codicefiscale.doctest')),
  ];
  records.push(...vectorRecords('stdnum', 'NATIONAL_ID', ids));
  records.push(...vectorRecords('usaddress', 'STREET_ADDRESS', usAddresses(usaddress)));
  writeFileSync(values.out, `${records.map((r) => JSON.stringify(r)).join('\n')}\n`);
  const count = (split: Split) => records.filter((r) => r.split === split).length;
  process.stdout.write(
    `wrote ${records.length} records (tune ${count('tune')}, held-out ${count('held-out')}) to ${values.out}\n` +
      `commits: conll ${head(conllRepo)}, stdnum ${head(stdnum)}, validator ${head(validator)}, usaddress ${head(usaddress)}\n`,
  );
}

main();
