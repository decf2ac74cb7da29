/**
 * The self-repair loop's ports on AWS (lib/reflex/loop.ts), in the state table:
 *   <tenant>#reflex#config / settings            the tenant's self-repair settings (absent: the defaults)
 * and Observation's series records (read through Observation's own store, so the stored format stays
 * Observation's), and Step Functions (starting loops). A loop waiting at a gate is kept by
 * governance's gate waits (lib/adapters/aws/gate-waits.ts). SDK failures map through lib/adapters/aws/errors.ts.
 */
import { type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { ConflictError } from '../../errors.ts';
import { seriesFacts } from '../../observation/ports.ts';
import type { LoopStarter, SeriesHealthPort } from '../../reflex/loop.ts';
import { DEFAULT_LOOP_CONFIG, type LoopConfigStore, storedLoopConfigSchema } from '../../reflex/settings.ts';
import { ConditionFailedError, mappedSend } from './errors.ts';
import { dynamoSeriesStore } from './series-store.ts';

const configKey = (tenant: string) => ({ pk: `${tenant}#reflex#config`, sk: 'settings' });

/** The tenants' self-repair settings, each write conditional on the version read. */
export function dynamoLoopConfigStore(client: DynamoDBDocumentClient, table: string): LoopConfigStore {
  const send = mappedSend(client, 'DynamoDB');
  return {
    async loopConfig(tenant) {
      const output = await send(new GetCommand({ TableName: table, Key: configKey(tenant), ConsistentRead: true }));
      if (!output.Item) return { ...DEFAULT_LOOP_CONFIG, version: 0 };
      const { pk: _pk, sk: _sk, ...stored } = output.Item;
      // Settings added later take their default in records written before them.
      return storedLoopConfigSchema.parse({ ...DEFAULT_LOOP_CONFIG, ...stored });
    },
    async putLoopConfig(tenant, next, expectedVersion) {
      try {
        await send(
          new PutCommand({
            TableName: table,
            Item: { ...configKey(tenant), ...next },
            ...(expectedVersion === 0
              ? { ConditionExpression: 'attribute_not_exists(pk)' }
              : {
                  ConditionExpression: '#version = :expected',
                  ExpressionAttributeNames: { '#version': 'version' },
                  ExpressionAttributeValues: { ':expected': expectedVersion },
                }),
          }),
        );
      } catch (error) {
        if (error instanceof ConditionFailedError)
          throw new ConflictError(`The self-repair settings of ${tenant} were changed concurrently; read them again`);
        throw error;
      }
    },
  };
}

/** A series' health from Observation's record: points applied, the tracker's open incident, the window's verdicts. */
export function dynamoSeriesHealth(client: DynamoDBDocumentClient, table: string): SeriesHealthPort {
  const store = dynamoSeriesStore(client, table);
  return {
    async health(tenant, series) {
      const record = await store.get(tenant, series);
      if (!record) return undefined;
      return {
        count: seriesFacts(record).count,
        openIncidentStart: record.incidents.open?.start ?? null,
        flags: record.window.map((point) => point[2]),
      };
    },
  };
}

/**
 * Starts loop executions of `stateMachineArn`. The same name and input give the same execution; a
 * name already used (the loop ran, or was started with another copy of the event) is the loop that
 * exists, not an error: one incident, one loop.
 */
export function sfnLoopStarter(client: SFNClient, stateMachineArn: string): LoopStarter {
  const send = mappedSend(client, 'StepFunctions');
  return {
    async start(name, input) {
      try {
        const output = await send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
        return output.executionArn ?? '';
      } catch (error) {
        if ((error as { name?: string }).name !== 'ExecutionAlreadyExists') throw error;
        return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
      }
    },
  };
}
