/**
 * Conversation logs against the ledger: a recorded log verifies; any change to a kept message, to a
 * turn's metadata or to the ledger entry is caught and named per message; retention's removal of the
 * content keeps the log verifying (hashes kept); a turn never recorded says so.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { payloadHash } from '../../lib/audit/chain.ts';
import {
  CONVERSATIONS_STREAM,
  conversationKey,
  expiredLog,
  loggedMessage,
  messageHash,
  newConversationLog,
  recordTurn,
  seqsToRead,
  turnRecord,
  type UnrecordedTurn,
  verifyConversation,
  withoutContent,
  withTurn,
} from '../../lib/gateway/conversation-log.ts';
import { memoryGatewayLedger } from '../../lib/gateway/memory-store.ts';
import type { ConversationLog } from '../../lib/gateway/schemas.ts';

const T0 = new Date('2026-03-01T10:00:00.000Z');

function turn(index: number, user: string, reply: string): UnrecordedTurn {
  return {
    turn: index,
    requestId: `req-${index}`,
    correlationId: `corr-${index}`,
    actor: 'alice',
    at: new Date(T0.getTime() + index * 1000).toISOString(),
    model: 'standin-chat',
    models: ['standin-chat'],
    template: null,
    messages: [loggedMessage('user', user, 3), loggedMessage('assistant', reply, 4)],
    usage: { inputTokens: 3, outputTokens: 4 },
    costUsd: 0.0000042,
    finishReason: 'stop',
    decisions: [
      { step: 'budget', reservedTokens: 100, reservedCostUsd: 0.001, settledTokens: 7, settledCostUsd: 0.0000042, outcome: 'settled' },
    ],
  };
}

async function recordedLog(turns: Array<[string, string]>) {
  const ledger = memoryGatewayLedger();
  let log = newConversationLog('acme', 'c-1', T0);
  for (const [index, [user, reply]] of turns.entries())
    log = withTurn(log, await recordTurn(ledger, 'acme', 'c-1', turn(index, user, reply)), T0);
  return { ledger, log };
}

async function verify(ledger: ReturnType<typeof memoryGatewayLedger>, log: ConversationLog) {
  const entries = await ledger.read('acme', CONVERSATIONS_STREAM, 0, Number.MAX_SAFE_INTEGER);
  const payloads = new Map();
  for (const entry of entries) payloads.set(entry.payloadHash, await ledger.payload('acme', entry.payloadHash));
  return verifyConversation(log, new Map(entries.map((entry) => [entry.seq, entry])), payloads);
}

describe('conversation logs', () => {
  it('keep logs under <tenant>/conversations/<id>.json and hash role and content together', () => {
    assert.equal(conversationKey('acme', 'c-1'), 'acme/conversations/c-1.json');
    assert.notEqual(messageHash({ role: 'user', content: 'hi' }), messageHash({ role: 'assistant', content: 'hi' }));
    assert.match(messageHash({ role: 'user', content: 'hi' }), /^[0-9a-f]{64}$/);
  });

  it('record no content in the ledger: only hashes, counts and metadata', async () => {
    const { ledger } = await recordedLog([['my secret is tulip-42', 'noted']]);
    const [entry] = await ledger.read('acme', CONVERSATIONS_STREAM, 0, 1);
    assert.ok(entry);
    const stored = await ledger.payload('acme', entry.payloadHash);
    const text = JSON.stringify(stored);
    assert.ok(!text.includes('tulip-42') && !text.includes('noted'), text);
    assert.equal((stored?.messages as unknown[] | undefined)?.length, 2);
    assert.equal(entry.correlationId, 'corr-0');
  });

  it('verify a recorded log, every message verified', async () => {
    const { ledger, log } = await recordedLog([
      ['hello', 'hi there'],
      ['and then?', 'then this'],
    ]);
    const result = await verify(ledger, log);
    assert.equal(result.intact, true, JSON.stringify(result));
    assert.deepEqual(
      result.turns.map((each) => each.messages),
      [
        ['verified', 'verified'],
        ['verified', 'verified'],
      ],
    );
    assert.deepEqual(seqsToRead(log), [0, 1]);
  });

  it('name the altered message when a kept message is changed, and keep the others verified', async () => {
    const { ledger, log } = await recordedLog([
      ['hello', 'hi there'],
      ['and then?', 'then this'],
    ]);
    const tampered = structuredClone(log);
    const message = tampered.turns[1]?.messages[1];
    assert.ok(message);
    message.content = 'then something else';
    const result = await verify(ledger, tampered);
    assert.equal(result.intact, false);
    assert.deepEqual(
      result.turns.map((each) => each.messages),
      [
        ['verified', 'verified'],
        ['verified', 'altered'],
      ],
    );
    assert.equal(result.turns[1]?.payloadMatches, false);
  });

  it("catch a change to a turn's metadata (its token count) even when every content still matches", async () => {
    const { ledger, log } = await recordedLog([['hello', 'hi there']]);
    const tampered = structuredClone(log);
    const first = tampered.turns[0];
    assert.ok(first);
    first.usage.outputTokens = 1;
    const result = await verify(ledger, tampered);
    assert.equal(result.intact, false);
    assert.equal(result.turns[0]?.payloadMatches, false);
  });

  it('keep verifying after retention removed the content (content-removed, hashes chained)', async () => {
    const { ledger, log } = await recordedLog([['hello', 'hi there']]);
    const stripped = withoutContent(log, new Date('2027-03-01T00:00:00Z'));
    assert.ok(stripped.turns.every((each) => each.messages.every((message) => message.content === null)));
    assert.equal(stripped.contentRemovedAt, '2027-03-01T00:00:00.000Z');
    const result = await verify(ledger, stripped);
    assert.equal(result.intact, true, JSON.stringify(result));
    assert.deepEqual(result.turns[0]?.messages, ['content-removed', 'content-removed']);
    assert.equal(withoutContent(stripped, new Date()), stripped, 'stripping twice changes nothing');
  });

  it('report a ledger entry that was changed as ledger-broken', async () => {
    const { ledger, log } = await recordedLog([
      ['hello', 'hi there'],
      ['more', 'yes'],
    ]);
    const entries = await ledger.read('acme', CONVERSATIONS_STREAM, 0, 2);
    const forged = entries.map((entry) => (entry.seq === 1 ? { ...entry, actor: 'mallory' } : entry));
    const result = verifyConversation(log, new Map(forged.map((entry) => [entry.seq, entry])));
    assert.equal(result.intact, false);
    assert.deepEqual(result.turns[1]?.messages, ['ledger-broken', 'ledger-broken']);
    assert.equal(result.turns[0]?.entryIntact, true);
  });

  it('say a turn that has no ledger entry is unrecorded', () => {
    const log = withTurn(newConversationLog('acme', 'c-2', T0), turn(0, 'a', 'b'), T0);
    const result = verifyConversation(log, new Map());
    assert.equal(result.intact, false);
    assert.deepEqual(result.turns[0]?.messages, ['unrecorded', 'unrecorded']);
  });

  it('rebuild exactly the recorded payload from any logged turn (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 })), { minLength: 1, maxLength: 4 }),
        async (pairs) => {
          const { ledger, log } = await recordedLog(pairs);
          const entries = await ledger.read('acme', CONVERSATIONS_STREAM, 0, pairs.length);
          for (const logged of log.turns) {
            const entry = entries[logged.ledger?.seq ?? -1];
            assert.equal(payloadHash(turnRecord('c-1', logged)), entry?.payloadHash);
          }
          assert.equal(verifyConversation(log, new Map(entries.map((entry) => [entry.seq, entry]))).intact, true);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('expire a log whose last update is older than the retention window', () => {
    const log = newConversationLog('acme', 'c-3', T0);
    assert.equal(expiredLog(log, 30, new Date(T0.getTime() + 29 * 86_400_000)), false);
    assert.equal(expiredLog(log, 30, new Date(T0.getTime() + 31 * 86_400_000)), true);
  });
});
