/**
 * The PII filter: each detector on real formats (and the checksum failures it must refuse), the
 * four redaction modes, UTF-16 offsets, and a fuzz that no string makes it throw.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  codiceFiscaleValid,
  hetuValid,
  ibanValid,
  luhnValid,
  ninoValid,
  personnummerValid,
  spanishIdValid,
  ssnValid,
} from '../../lib/gateway/pii/checksums.ts';
import { detectPii, redactPii } from '../../lib/gateway/pii.ts';

const found = (text: string) => detectPii(text, { includeText: true }).map((e) => [e.type, e.text]);

describe('PII checksums', () => {
  it('accepts the published sample numbers and refuses one changed digit', () => {
    assert.ok(luhnValid('4111111111111111'));
    assert.ok(!luhnValid('4111111111111112'));
    assert.ok(ibanValid('GB82WEST12345698765432'));
    assert.ok(!ibanValid('GB82WEST12345698765433'));
    assert.ok(!ibanValid('GB82WEST1234569876543'), 'one short of the UK length');
    assert.ok(ssnValid('536904399'));
    for (const bad of ['000123456', '666123456', '912345678', '123004567', '123450000', '078051120']) assert.ok(!ssnValid(bad), bad);
    assert.ok(ninoValid('AB123456C'));
    for (const bad of ['GB123456C', 'DA123456C', 'AB123456E']) assert.ok(!ninoValid(bad), bad);
    assert.ok(spanishIdValid('12345678Z') && spanishIdValid('X1234567L'));
    assert.ok(!spanishIdValid('12345678A'));
    assert.ok(hetuValid('131052-308T') && !hetuValid('131052-308U'));
    assert.ok(personnummerValid('8803200016') && !personnummerValid('8803200018'));
    assert.ok(codiceFiscaleValid('RSSMRA45C12F205C') && !codiceFiscaleValid('RSSMRA45C12F205D'));
  });
});

describe('detectPii', () => {
  it('finds each structured type with its UTF-16 offsets', () => {
    const text =
      'Mail ada@example.org, call +44 20 7946 0958, card 4111-1111-1111-1111, IBAN GB82 WEST 1234 5698 7654 32, from 10.0.0.7 or 2001:db8::1.';
    const entities = detectPii(text);
    assert.deepEqual(
      entities.map((e) => [e.type, text.slice(e.start, e.end)]),
      [
        ['EMAIL', 'ada@example.org'],
        ['PHONE', '+44 20 7946 0958'],
        ['CREDIT_CARD', '4111-1111-1111-1111'],
        ['IBAN', 'GB82 WEST 1234 5698 7654 32'],
        ['IP_ADDRESS', '10.0.0.7'],
        ['IP_ADDRESS', '2001:db8::1'],
      ],
    );
  });

  it('counts offsets in UTF-16 code units (an emoji before the entity moves it by two)', () => {
    const text = '😀 ada@example.org';
    const [email] = detectPii(text);
    assert.equal(email?.start, 3);
    assert.equal(text.slice(email?.start, email?.end), 'ada@example.org');
  });

  it('refuses numbers whose check fails: a card off by one digit, an IBAN with a bad checksum, an unissued SSN', () => {
    const types = found('card 4111 1111 1111 1112, IBAN GB82 WEST 1234 5698 7654 33, SSN 666-12-3456').map(([type]) => type);
    for (const type of ['CREDIT_CARD', 'IBAN', 'NATIONAL_ID']) assert.ok(!types.includes(type), type);
  });

  it('finds national ids with their kind', () => {
    const kinds = detectPii('SSN 536-90-4399, NINO AB 12 34 56 C, DNI 12345678Z, HETU 131052-308T, CF RSSMRA45C12F205C').map((e) => e.kind);
    assert.deepEqual(kinds, ['US_SSN', 'UK_NINO', 'ES_DNI', 'FI_HETU', 'IT_CODICE_FISCALE']);
  });

  it('takes nine bare digits as an SSN only after a word saying so', () => {
    assert.deepEqual(
      found('order 536904399 shipped').filter(([type]) => type === 'NATIONAL_ID'),
      [],
    );
    assert.deepEqual(found('my SSN is 536904399'), [['NATIONAL_ID', '536904399']]);
  });

  it('finds a date of birth only in a birth context', () => {
    assert.deepEqual(found('The meeting is on 12 March 1985.'), []);
    assert.deepEqual(found('She was born on 12 March 1985.'), [['DATE_OF_BIRTH', '12 March 1985']]);
    assert.deepEqual(found('DOB: 1985-03-12'), [['DATE_OF_BIRTH', '1985-03-12']]);
  });

  it('finds street addresses with unit, city, state and ZIP, and PO boxes', () => {
    assert.deepEqual(found('I live at 1600 Pennsylvania Ave NW, Washington, DC 20500.'), [
      ['STREET_ADDRESS', '1600 Pennsylvania Ave NW, Washington, DC 20500'],
    ]);
    assert.deepEqual(found('Send it to 221B Baker Street please'), [['STREET_ADDRESS', '221B Baker Street']]);
    assert.deepEqual(found('Write to P.O. Box 1234 instead'), [['STREET_ADDRESS', 'P.O. Box 1234']]);
    assert.deepEqual(found('I walked 5 miles yesterday.'), []);
  });

  it('finds person names with the lexicon and the honorific rule, and later mentions of them', () => {
    const names = found('Dr. Ada Lovelace met Charles Babbage in London. Babbage was late.')
      .filter(([t]) => t === 'PERSON')
      .map(([, v]) => v);
    assert.deepEqual(names, ['Dr. Ada Lovelace', 'Charles Babbage', 'Babbage']);
  });

  const people = (text: string) => detectPii(text, { types: ['PERSON'], includeText: true }).map((e) => e.text);

  it('names: a first name followed by a surname, but not a street, a club or a place', () => {
    assert.deepEqual(people('Yesterday Maria Okonkwo signed the lease.'), ['Maria Okonkwo']);
    assert.deepEqual(people('They met at Grace Road and flew to New York.'), []);
    assert.deepEqual(people('Mark United won the cup.'), [], 'a first name before a club word is not a person');
  });

  it('names: unknown names by context (role, speech verb, age, results-table brackets)', () => {
    assert.deepEqual(people('The broker Tavish Quorndel expects a rally.'), ['Tavish Quorndel']);
    assert.deepEqual(people('Prime Minister Oriel Vantascu arrived.'), ['Oriel Vantascu'], 'the role is not part of the name');
    assert.deepEqual(people('Vantascu told reporters he would stay.'), ['Vantascu']);
    assert.deepEqual(people('Quorndel , 52 , retired.'), ['Quorndel']);
    assert.deepEqual(people('3. Ilvo Sarkanen ( Finland ) 10.21'), ['Ilvo Sarkanen']);
    assert.deepEqual(people('Scorers : Ilvo Sarkanen ( 31st )'), ['Ilvo Sarkanen']);
    assert.deepEqual(people('Vantascu Holdings told investors nothing.'), [], 'an organisation word blocks the name');
    assert.deepEqual(people('The shares were sold to Reuters yesterday, told Reuters nothing.'), []);
  });

  it('names: unknown names in a list beside a found name, and mentions in an upper-case headline', () => {
    assert.deepEqual(people('Leading: Michael Brandt , Tavish Quorndel and Oriel Vantascu .'), [
      'Michael Brandt',
      'Tavish Quorndel',
      'Oriel Vantascu',
    ]);
    assert.deepEqual(people('GOLF - BRANDT LEADS\nMichael Brandt shot 64 on Thursday.'), ['BRANDT', 'Michael Brandt']);
  });

  it('names: a surname spelt like a place after a given name, a surname mentioned alone later, a name wrapped over two lines', () => {
    assert.deepEqual(people('2. Anthony Washington ( U.S. ) 68.44'), ['Anthony Washington']);
    assert.deepEqual(people('Neal Lancaster shot 66 .'), ['Neal Lancaster']);
    assert.deepEqual(people('Neal England shot 66 .'), [], 'a country after a given name is not a surname without context');
    assert.deepEqual(people('Mary Woods shot 67 . Woods , who turned pro , was happy .'), ['Mary Woods', 'Woods']);
    assert.deepEqual(people('Teams : Ian Healy , Michael Bevan , Damien\nFlemming , Jason Gillespie'), [
      'Ian Healy',
      'Michael Bevan',
      'Damien\nFlemming',
      'Jason Gillespie',
    ]);
    assert.deepEqual(people('In May the council met.'), []);
  });

  it('names: results context (cricket scorecards, line-ups with shirt numbers and minutes)', () => {
    assert.deepEqual(people('M. Bevan c Vaas b Chandana 56'), ['M. Bevan', 'Vaas', 'Chandana']);
    assert.deepEqual(people('Bowling : Muralitharan 10-0-41-2 , Jayasuriya 10-0-43-2'), ['Muralitharan', 'Jayasuriya']);
    assert.deepEqual(people('France - 7 - Didier Deschamps , Sabri Lamouchi 87th'), ['Didier Deschamps', 'Sabri Lamouchi']);
  });

  it('names: the name after a role inside a run, appositions, ages, and bracketed roles or countries', () => {
    assert.deepEqual(people('The German Defence Minister Oriel Vantascu will visit Israel .'), ['Oriel Vantascu']);
    assert.deepEqual(people('Tavish Quorndel , who lost the title , retired .'), ['Tavish Quorndel']);
    assert.deepEqual(people('The Cardinals , who won , lead .'), [], 'a team after an article is no name');
    assert.deepEqual(people('as 20-year-old Tavish Quorndel shot 67'), ['Tavish Quorndel']);
    assert.deepEqual(people('Sri Lanka - Tavish Quorndel ( captain ) , Harold Pinter'), ['Tavish Quorndel', 'Harold Pinter']);
    assert.deepEqual(people('15. Tavish Quorndel ( South Africa ) 195,283'), ['Tavish Quorndel']);
    assert.deepEqual(people('2. Tavish Quorndel ( U.S. ) 50.42'), ['Tavish Quorndel']);
  });

  it('names: a direction after a house number is an address, not an initial', () => {
    assert.deepEqual(found('We moved to 217 N. Greenview Unit 4 last spring.'), [['STREET_ADDRESS', '217 N. Greenview Unit 4']]);
  });

  it('addresses: street, unit and city-state-ZIP make one span; a street line without a number before a city counts', () => {
    assert.deepEqual(found('Ship it to 111 Speen Street, Ste. 410, Framingham, MA 01701 please.'), [
      ['STREET_ADDRESS', '111 Speen Street, Ste. 410, Framingham, MA 01701'],
    ]);
    assert.deepEqual(found('We moved to Drum Point Road, Deale, MD 20751 last spring.'), [
      ['STREET_ADDRESS', 'Drum Point Road, Deale, MD 20751'],
    ]);
    assert.deepEqual(found('Ship it to One S. Dearborn St., Chicago, IL 60603.'), [
      ['STREET_ADDRESS', 'One S. Dearborn St., Chicago, IL 60603'],
    ]);
  });

  it('addresses: no street across a line break or in a quantity, and "or" is not Oregon', () => {
    assert.deepEqual(
      found('Results 15-10 15-6 15-7\nAnthony Hill ( Australia ) won').filter(([t]) => t === 'STREET_ADDRESS'),
      [],
    );
    assert.deepEqual(
      found('the par-71 , 6,739-yard Brown Deer Park course').filter(([t]) => t === 'STREET_ADDRESS'),
      [],
    );
    assert.deepEqual(
      found('the bond fell 23/32 of a point , or $ 7.19').filter(([t]) => t === 'STREET_ADDRESS'),
      [],
    );
  });

  it('addresses: the street type before the name, a state written out, and a house number after words announcing an address', () => {
    assert.deepEqual(found('Address: 10810 Ave. H'), [['STREET_ADDRESS', '10810 Ave. H']]);
    assert.deepEqual(found('We moved to 985 Cox Ave., S.W., Atlanta, Georgia 30310 last spring.'), [
      ['STREET_ADDRESS', '985 Cox Ave., S.W., Atlanta, Georgia 30310'],
    ]);
    assert.deepEqual(found('Address: 30 Breakenridge Farm'), [['STREET_ADDRESS', '30 Breakenridge Farm']]);
    assert.deepEqual(found('We moved to 2225 COMMONWEALTH APT F last spring.'), [['STREET_ADDRESS', '2225 COMMONWEALTH APT F']]);
    assert.deepEqual(found('She scored 30 Goals for Leeds.'), [], 'no announcing word: no address');
  });

  it('phones: figures are not phone numbers, and a said international number of possible length is one', () => {
    const phones = (text: string) => detectPii(text, { types: ['PHONE'], includeText: true }).map((e) => e.text);
    assert.deepEqual(phones('He was prime minister 1905-1908 .'), []);
    assert.deepEqual(phones('Canadian dollar 639.55 639.38'), []);
    assert.deepEqual(phones('Robert Allenby ( Australia ) 69 71 71 73 , Miguel Martin'), []);
    assert.deepEqual(phones('host 200.0200.200.200 port 22'), []);
    assert.deepEqual(phones('Call me on +420 123 456 789 after six.'), ['+420 123 456 789']);
    assert.deepEqual(phones('The code +420 123 456 789 appears in the table.'), [], 'not said to be a phone number');
    assert.deepEqual(phones('She left +31(0)612345678 as her contact number.'), ['+31(0)612345678']);
  });

  it('IBANs: partial-IBAN countries, and letters where the registry puts a bank code', () => {
    assert.ok(ibanValid('DZ580002100001113000000570'));
    assert.ok(ibanValid('GB82WEST12345698765432'));
    // Mod 97 recomputed for a digit in the bank code: the checksum passes, the format does not.
    const digits = 'GI00NW3K000000007099453';
    const check = String(
      98 - Number(BigInt([...`${digits.slice(4)}GI00`].map((c) => (c >= 'A' ? String(c.charCodeAt(0) - 55) : c)).join('')) % 97n),
    ).padStart(2, '0');
    assert.ok(!ibanValid(`GI${check}${digits.slice(4)}`));
  });

  it('a card number is not read inside a longer code, and a named identity number beats a phone reading', () => {
    // A Danish IBAN whose check digits fail: its 16-digit tail passes Luhn, and is still no card.
    assert.ok(!ibanValid('DK5000400440116342'));
    assert.deepEqual(found('Please transfer the rent to DK5000400440116342 by the 3rd.'), []);
    assert.deepEqual(found('Card: 4111111111111111.'), [['CREDIT_CARD', '4111111111111111']]);
    assert.deepEqual(found('Her identity number is 8803200016.'), [['NATIONAL_ID', '8803200016']]);
    assert.deepEqual(found('Social security number 880320-0016 was on the form.'), [['NATIONAL_ID', '880320-0016']]);
  });

  it('does not read score tables or dates as phone numbers', () => {
    assert.deepEqual(
      found('Sampras beat Novak 6-3 1-6 6-3 4-6 6-4').filter(([t]) => t === 'PHONE'),
      [],
    );
    assert.deepEqual(
      found('due 03/27/2011').filter(([t]) => t === 'PHONE'),
      [],
    );
  });

  it('restricts to the asked types and drops scores below minScore', () => {
    assert.deepEqual(
      detectPii('ada@example.org 10.0.0.7', { types: ['IP_ADDRESS'] }).map((e) => e.type),
      ['IP_ADDRESS'],
    );
    assert.deepEqual(detectPii('ada@example.org', { minScore: 0.99 }), []);
  });

  it('never throws and returns ordered, non-overlapping, in-bounds entities for any string', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.string({ unit: 'grapheme', maxLength: 300 }),
          fc.stringMatching(/^[0-9 .:@+()A-Za-z-]{0,120}$/),
        ),
        (text) => {
          const entities = detectPii(text);
          let last = 0;
          for (const e of entities) {
            assert.ok(e.start >= last && e.end > e.start && e.end <= text.length);
            last = e.end;
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('stays fast on a long adversarial input (50k characters of near-matches)', () => {
    const text = '1-2-3-4-5-6-7-8-9-0 a@b. ::::: 4111 1111 Mr '.repeat(1200);
    const t0 = performance.now();
    detectPii(text);
    assert.ok(performance.now() - t0 < 20_000);
  });
});

describe('redactPii', () => {
  const text = 'Card 4111 1111 1111 1111, mail Ada@Example.org';

  it('redact: replaces each entity by its type in brackets', () => {
    assert.equal(redactPii(text, { mode: 'redact' }).text, 'Card [CREDIT_CARD], mail [EMAIL]');
  });

  it('mask: keeps the length and separators, and a card keeps its last four digits', () => {
    const masked = redactPii(text, { mode: 'mask' }).text;
    assert.equal(masked, 'Card **** **** **** 1111, mail ***@*******.***');
    assert.equal(masked.length, text.length);
  });

  it('hash: the same value gives the same token, normalised, and a key changes it', () => {
    const a = redactPii('ada@example.org', { mode: 'hash' }).text;
    const b = redactPii('ADA@EXAMPLE.ORG', { mode: 'hash' }).text;
    const keyed = redactPii('ada@example.org', { mode: 'hash', hashKey: 'k1' }).text;
    assert.match(a, /^\[EMAIL:[0-9a-f]{12}\]$/);
    assert.equal(a, b);
    assert.notEqual(a, keyed);
  });

  it('tag: wraps each entity, and entities keep offsets into the original text', () => {
    const result = redactPii(text, { mode: 'tag' });
    assert.equal(result.text, 'Card <CREDIT_CARD>4111 1111 1111 1111</CREDIT_CARD>, mail <EMAIL>Ada@Example.org</EMAIL>');
    assert.equal(text.slice(result.entities[1]?.start, result.entities[1]?.end), 'Ada@Example.org');
  });

  it('rejects an unknown mode with a ZodError naming mode', () => {
    assert.throws(
      () => redactPii('x', { mode: 'shred' as 'mask' }),
      (error: Error) => error.name === 'ZodError' && /mode/.test(error.message),
    );
  });
});
