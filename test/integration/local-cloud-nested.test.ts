/**
 * The local cloud deploys nested stacks: a root that keeps the table, bus and HTTP API, and a child
 * stack with a function, its route, integration and permission, bound to the root through parameters
 * and read back by the root through the child's outputs.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { type LocalCloud, startLocalCloud } from '../../infra/local/cloud.ts';
import { freePorts } from '../../infra/local/ports.ts';
import type { CfnTemplate } from '../../infra/local/template.ts';
import { eventually } from '../helpers/local-cloud.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const fixtures = path.join(root, 'test', 'fixtures', 'local-cloud', 'nested');
const CHILD = 'cloudformation-template-engine-notes.json';

let cloud: LocalCloud;
let dataDir: string;

const readTemplate = async (file: string) => JSON.parse(await readFile(path.join(fixtures, file), 'utf8')) as CfnTemplate;

describe('local cloud (nested stacks fixture)', () => {
  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-nested-'));
    cloud = await startLocalCloud({
      root,
      dataDir,
      ports: await freePorts(),
      template: await readTemplate('root.json'),
      templateFiles: { [CHILD]: await readTemplate(CHILD) },
      stage: 'nested',
      functionOutput: 'silent',
      log: () => {},
    });
  });

  after(async () => {
    await cloud?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('lists the child stack and deploys its function and route from the one flattened template', () => {
    assert.deepEqual(cloud.stacks, [{ logicalId: 'NotesStack', parent: null, file: CHILD, resources: 4, outputs: ['NotesFunctionArn'] }]);
    assert.equal(cloud.resources.functions.NotesFunction, 'fixture-nested-notes');
    assert.deepEqual(cloud.resources.routes, ['POST /notes/{id}']);
    assert.equal(cloud.template.Resources.NotesFunction?.Type, 'AWS::Lambda::Function');
  });

  it('serves a request through the root HTTP API to the child function, which writes the root table', async () => {
    const id = randomUUID();
    const reply = await fetch(`${cloud.apiUrl}/notes/${id}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'nested hello' }) });
    assert.equal(reply.status, 200);
    const body = (await reply.json()) as { stored: string; environment: Record<string, string> };
    assert.equal(body.stored, 'nested hello');
    assert.deepEqual(body.environment, {
      table: 'fixture-nested-table',
      tableArn: `arn:aws:dynamodb:${cloud.region}:${cloud.accountId}:table/fixture-nested-table/index/*`,
      bus: 'fixture-nested-bus',
      greeting: 'hello from the notes stack',
      stackName: 'autonomy-nested-NotesStack',
    });
    const dynamo = new DynamoDBClient({ region: cloud.region, endpoint: cloud.env.AWS_ENDPOINT_URL_DYNAMODB, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      const item = await dynamo.send(new GetItemCommand({ TableName: 'fixture-nested-table', Key: { pk: { S: `note#${id}` } }, ConsistentRead: true }));
      assert.equal(item.Item?.via?.S, 'http');
    } finally {
      dynamo.destroy();
    }
  });

  it('delivers a root rule whose target is the child function, read through the child stack output', async () => {
    const id = randomUUID();
    const base = { region: cloud.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
    const events = new EventBridgeClient({ ...base, endpoint: cloud.env.AWS_ENDPOINT_URL_EVENTBRIDGE });
    const dynamo = new DynamoDBClient({ ...base, endpoint: cloud.env.AWS_ENDPOINT_URL_DYNAMODB });
    try {
      const put = await events.send(new PutEventsCommand({ Entries: [{ EventBusName: 'fixture-nested-bus', Source: 'fixture.notes', DetailType: 'note.written', Detail: JSON.stringify({ id, text: 'from the bus' }) }] }));
      assert.equal(put.FailedEntryCount, 0);
      const item = await eventually('the note the rule delivered to the child function', async () => {
        const got = await dynamo.send(new GetItemCommand({ TableName: 'fixture-nested-table', Key: { pk: { S: `note#${id}` } }, ConsistentRead: true }));
        return got.Item;
      });
      assert.equal(item.text?.S, 'from the bus');
      assert.equal(item.via?.S, 'bus');
    } finally {
      events.destroy();
      dynamo.destroy();
    }
  });
});
