/**
 * Nested stacks flattened for the local cloud: parameters, Fn::Sub, outputs, exports and nesting bound
 * as CloudFormation binds them, and every template CloudFormation would refuse refused by name.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { flattenStacks, siblingTemplateLoader, templateFileName, templateFilesLoader } from '../../infra/local/stacks.ts';
import { type CfnTemplate, UnsupportedTemplateError } from '../../infra/local/template.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

const url = (file: string) => ({ 'Fn::Sub': `https://\${ServerlessDeploymentBucket}.s3.\${AWS::Region}.\${AWS::URLSuffix}/serverless/autonomy/dev/1234/${file}` });
const stack = (file: string, parameters: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  Type: 'AWS::CloudFormation::Stack',
  Properties: { TemplateURL: url(file), Parameters: parameters },
  ...extra,
});
const fn = (properties: Record<string, unknown> = {}) => ({ Type: 'AWS::Lambda::Function', Properties: { Handler: 'h.handler', ...properties } });

/** The shared resources of a root template, as the product's root keeps them. */
const shared: CfnTemplate['Resources'] = {
  ServerlessDeploymentBucket: { Type: 'AWS::S3::Bucket' },
  StateTable: { Type: 'AWS::DynamoDB::Table', Properties: { TableName: 'state' } },
  Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'bus' } },
};

function flatten(rootTemplate: CfnTemplate, files: Record<string, CfnTemplate> = {}) {
  return flattenStacks(rootTemplate, templateFilesLoader(files));
}

function refused(work: () => unknown, message: RegExp) {
  assert.throws(work, (error: unknown) => error instanceof UnsupportedTemplateError && message.test(error.message), `expected UnsupportedTemplateError matching ${message}`);
}

describe('flattenStacks', () => {
  it('returns a template without nested stacks unchanged (the local cloud fixture)', async () => {
    const template = JSON.parse(await readFile(path.join(root, 'test', 'fixtures', 'local-cloud', 'template.json'), 'utf8')) as CfnTemplate;
    const flat = flattenStacks(template);
    assert.deepEqual(flat.template, template);
    assert.deepEqual(flat.stacks, []);
  });

  it('replaces a Ref to a parameter with the value the parent passes, and keeps Refs to the stack own resources', () => {
    const { template } = flatten(
      { Resources: { ...shared, ObservationStack: stack('observation.json', { StateTable: { Ref: 'StateTable' }, Stage: 'dev' }) } },
      {
        'observation.json': {
          Parameters: { StateTable: { Type: 'String' }, Stage: { Type: 'String' } },
          Resources: {
            IngestFunction: fn({ Environment: { Variables: { TABLE: { Ref: 'StateTable' }, STAGE: { Ref: 'Stage' }, REGION: { Ref: 'AWS::Region' } } } }),
            IngestPermission: { Type: 'AWS::Lambda::Permission', Properties: { FunctionName: { Ref: 'IngestFunction' } } },
          },
        },
      },
    );
    assert.deepEqual(template.Resources.IngestFunction?.Properties?.Environment, { Variables: { TABLE: { Ref: 'StateTable' }, STAGE: 'dev', REGION: { Ref: 'AWS::Region' } } });
    assert.deepEqual(template.Resources.IngestPermission?.Properties, { FunctionName: { Ref: 'IngestFunction' } });
    assert.equal(template.Resources.ObservationStack?.Type, 'AWS::CloudFormation::Stack', 'the stack resource stays (it creates nothing locally)');
    assert.deepEqual(Object.keys(template.Resources), ['ServerlessDeploymentBucket', 'StateTable', 'Bus', 'ObservationStack', 'IngestFunction', 'IngestPermission']);
  });

  it('turns parameters in a one-string Fn::Sub into variables of the two-argument form, leaving the rest as written', () => {
    const { template } = flatten(
      { Resources: { ...shared, S: stack('s.json', { StateTableArn: { 'Fn::GetAtt': ['StateTable', 'Arn'] } }) } },
      {
        's.json': {
          Parameters: { StateTableArn: { Type: 'String' } },
          Resources: {
            F: fn({ Description: { 'Fn::Sub': '${StateTableArn}/index/* in ${AWS::Region} for ${F} (${F.Arn}) ${!Literal} ${StateTableArn}' } }),
            G: fn({ Description: { 'Fn::Sub': 'plain ${AWS::Region} ${F}' } }),
          },
        },
      },
    );
    assert.deepEqual(template.Resources.F?.Properties?.Description, {
      'Fn::Sub': ['${StateTableArn}/index/* in ${AWS::Region} for ${F} (${F.Arn}) ${!Literal} ${StateTableArn}', { StateTableArn: { 'Fn::GetAtt': ['StateTable', 'Arn'] } }],
    });
    assert.deepEqual(template.Resources.G?.Properties?.Description, { 'Fn::Sub': 'plain ${AWS::Region} ${F}' }, 'nothing to bind: the one-string form stays');
  });

  it('binds parameters in a two-argument Fn::Sub: in the text and inside its variables, its own variables first', () => {
    const { template } = flatten(
      { Resources: { ...shared, S: stack('s.json', { Bus: { Ref: 'Bus' }, Prefix: 'p' }) } },
      {
        's.json': {
          Parameters: { Bus: { Type: 'String' }, Prefix: { Type: 'String' } },
          Resources: { F: fn({ Description: { 'Fn::Sub': ['${Prefix}-${Bus}-${Name}', { Name: { Ref: 'Prefix' }, Bus: 'shadowed' }] } }) },
        },
      },
    );
    assert.deepEqual(template.Resources.F?.Properties?.Description, { 'Fn::Sub': ['${Prefix}-${Bus}-${Name}', { Name: 'p', Bus: 'shadowed', Prefix: 'p' }] });
  });

  it('uses a parameter Default when the parent passes nothing, as a string; list parameters become lists', () => {
    const { template } = flatten(
      { Resources: { S: stack('s.json', { Regions: { 'Fn::Join': [',', ['a', 'b']] } }) } },
      {
        's.json': {
          Parameters: {
            Memory: { Type: 'Number', Default: 512 },
            Mode: { Type: 'String', Default: 'fast', AllowedValues: ['fast', 'slow'] },
            Zones: { Type: 'CommaDelimitedList', Default: 'x, y' },
            Regions: { Type: 'CommaDelimitedList' },
          },
          Resources: { F: fn({ MemorySize: { Ref: 'Memory' }, Description: { Ref: 'Mode' }, Tags: [{ Ref: 'Zones' }, { Ref: 'Regions' }] }) },
        },
      },
    );
    const properties = template.Resources.F?.Properties ?? {};
    assert.equal(properties.MemorySize, '512');
    assert.equal(properties.Description, 'fast');
    assert.deepEqual(properties.Tags, [['x', 'y'], { 'Fn::Split': [',', { 'Fn::Join': [',', ['a', 'b']] }] }]);
  });

  it('resolves Fn::GetAtt Outputs of one stack passed by the root as a parameter of its sibling, and in the root', () => {
    const { template } = flatten(
      {
        Resources: {
          ...shared,
          AStack: stack('a.json', { Table: { Ref: 'StateTable' } }),
          BStack: stack('b.json', { IngestArn: { 'Fn::GetAtt': ['AStack', 'Outputs.IngestArn'] }, TableName: { 'Fn::GetAtt': 'AStack.Outputs.TableName' } }),
          RootPermission: { Type: 'AWS::Lambda::Permission', Properties: { FunctionName: { 'Fn::Sub': '${AStack.Outputs.IngestArn}:live' } } },
        },
        Outputs: { IngestArn: { Value: { 'Fn::GetAtt': ['AStack', 'Outputs.IngestArn'] } } },
      },
      {
        'a.json': {
          Parameters: { Table: { Type: 'String' } },
          Resources: { IngestFunction: fn() },
          Outputs: { IngestArn: { Value: { 'Fn::GetAtt': ['IngestFunction', 'Arn'] } }, TableName: { Value: { Ref: 'Table' } } },
        },
        'b.json': {
          Parameters: { IngestArn: { Type: 'String' }, TableName: { Type: 'String' } },
          Resources: { Caller: fn({ Environment: { Variables: { TARGET: { Ref: 'IngestArn' }, TABLE: { Ref: 'TableName' } } } }) },
        },
      },
    );
    assert.deepEqual(template.Resources.Caller?.Properties?.Environment, { Variables: { TARGET: { 'Fn::GetAtt': ['IngestFunction', 'Arn'] }, TABLE: { Ref: 'StateTable' } } });
    assert.deepEqual(template.Resources.RootPermission?.Properties?.FunctionName, { 'Fn::Sub': ['${AStackOutputsIngestArn}:live', { AStackOutputsIngestArn: { 'Fn::GetAtt': ['IngestFunction', 'Arn'] } }] });
    assert.deepEqual(template.Resources.BStack?.Properties?.Parameters, { IngestArn: { 'Fn::GetAtt': ['IngestFunction', 'Arn'] }, TableName: { Ref: 'StateTable' } });
    assert.deepEqual(template.Outputs, { IngestArn: { Value: { 'Fn::GetAtt': ['IngestFunction', 'Arn'] } } });
  });

  it('resolves Fn::ImportValue to the value of the output that exports the name, in any stack', () => {
    const { template } = flatten(
      {
        Resources: { ...shared, AStack: stack('a.json', { Stage: 'dev' }), BStack: stack('b.json', { Stage: 'dev', RootName: { Ref: 'AWS::StackName' } }) },
        Outputs: { BusName: { Value: { Ref: 'Bus' }, Export: { Name: { 'Fn::Sub': '${AWS::StackName}-BusName' } } } },
      },
      {
        'a.json': {
          Parameters: { Stage: { Type: 'String' } },
          Resources: { IngestFunction: fn() },
          Outputs: { IngestArn: { Value: { 'Fn::GetAtt': ['IngestFunction', 'Arn'] }, Export: { Name: { 'Fn::Sub': 'autonomy-${Stage}-IngestArn' } } } },
        },
        'b.json': {
          Parameters: { Stage: { Type: 'String' }, RootName: { Type: 'String' } },
          Resources: {
            Caller: fn({
              Environment: {
                Variables: {
                  TARGET: { 'Fn::ImportValue': { 'Fn::Join': ['-', ['autonomy', { Ref: 'Stage' }, 'IngestArn']] } },
                  BUS: { 'Fn::ImportValue': { 'Fn::Sub': ['${Root}-BusName', { Root: { Ref: 'RootName' } }] } },
                },
              },
            }),
          },
        },
      },
    );
    assert.deepEqual(template.Resources.Caller?.Properties?.Environment, { Variables: { TARGET: { 'Fn::GetAtt': ['IngestFunction', 'Arn'] }, BUS: { Ref: 'Bus' } } });
  });

  it('flattens two levels of nesting: parameters passed down, outputs passed up, stack names composed', () => {
    const flat = flatten(
      {
        Resources: { ...shared, OuterStack: stack('outer.json', { StateTableArn: { 'Fn::GetAtt': ['StateTable', 'Arn'] } }) },
        Outputs: { DeepArn: { Value: { 'Fn::GetAtt': ['OuterStack', 'Outputs.InnerArn'] } } },
      },
      {
        'outer.json': {
          Parameters: { StateTableArn: { Type: 'String' }, ServerlessDeploymentBucket: { Type: 'String', Default: 'bucket' } },
          Resources: { InnerStack: stack('inner.json', { TableArn: { Ref: 'StateTableArn' } }) },
          Outputs: { InnerArn: { Value: { 'Fn::GetAtt': ['InnerStack', 'Outputs.FunctionArn'] } } },
        },
        'inner.json': {
          Parameters: { TableArn: { Type: 'String' } },
          Resources: { DeepFunction: fn({ Description: { 'Fn::Sub': '${AWS::StackName} reads ${TableArn}' } }) },
          Outputs: { FunctionArn: { Value: { 'Fn::GetAtt': ['DeepFunction', 'Arn'] } } },
        },
      },
    );
    assert.deepEqual(flat.template.Resources.DeepFunction?.Properties?.Description, {
      'Fn::Sub': [
        '${AWSStackName} reads ${TableArn}',
        { AWSStackName: { 'Fn::Join': ['-', [{ 'Fn::Join': ['-', [{ Ref: 'AWS::StackName' }, 'OuterStack']] }, 'InnerStack']] }, TableArn: { 'Fn::GetAtt': ['StateTable', 'Arn'] } },
      ],
    });
    assert.deepEqual(flat.template.Resources.InnerStack?.Properties?.TemplateURL, { 'Fn::Sub': [url('inner.json')['Fn::Sub'], { ServerlessDeploymentBucket: 'bucket' }] });
    assert.deepEqual(flat.template.Outputs, { DeepArn: { Value: { 'Fn::GetAtt': ['DeepFunction', 'Arn'] } } });
    assert.deepEqual(flat.stacks, [
      { logicalId: 'OuterStack', parent: null, file: 'outer.json', resources: 1, outputs: ['InnerArn'] },
      { logicalId: 'InnerStack', parent: 'OuterStack', file: 'inner.json', resources: 1, outputs: ['FunctionArn'] },
    ]);
  });

  it('merges conditions of every stack, with their parameters bound', () => {
    const { template } = flatten(
      { Resources: { S: stack('s.json', { Stage: 'prod' }) } },
      { 's.json': { Parameters: { Stage: { Type: 'String' } }, Conditions: { IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] } }, Resources: { F: fn() } } },
    );
    assert.deepEqual(template.Conditions, { IsProd: { 'Fn::Equals': ['prod', 'prod'] } });
  });
});

describe('flattenStacks refuses what CloudFormation refuses', () => {
  const child = (extra: Partial<CfnTemplate> = {}): CfnTemplate => ({ Resources: { ChildFunction: fn() }, ...extra });

  it('a logical id declared by two stacks', () => {
    refused(() => flatten({ Resources: { ChildFunction: fn(), S: stack('s.json') } }, { 's.json': child() }), /logical id ChildFunction is declared by the root template and again by nested stack S \(s\.json\)/);
  });

  it('a parameter with no value and no Default', () => {
    refused(
      () => flatten({ Resources: { S: stack('s.json') } }, { 's.json': child({ Parameters: { Table: { Type: 'String' } }, Resources: { F: fn({ Description: { Ref: 'Table' } }) } }) }),
      /nested stack S \(s\.json\) needs parameter Table: the root template passes no value for it and it has no Default/,
    );
  });

  it('a parameter the child does not declare', () => {
    refused(() => flatten({ Resources: { S: stack('s.json', { Nope: 'x' }) } }, { 's.json': child() }), /is passed parameter Nope, which its template s\.json does not declare/);
  });

  it('a value outside AllowedValues', () => {
    refused(
      () => flatten({ Resources: { S: stack('s.json', { Mode: 'warp' }) } }, { 's.json': child({ Parameters: { Mode: { Type: 'String', AllowedValues: ['fast'] } }, Resources: { F: fn({ Description: { Ref: 'Mode' } }) } }) }),
      /parameter Mode of nested stack S \(s\.json\) gets warp, which is not one of its AllowedValues/,
    );
  });

  it('an output the stack does not have', () => {
    refused(
      () => flatten({ Resources: { S: stack('s.json'), F: fn({ Description: { 'Fn::GetAtt': ['S', 'Outputs.Missing'] } }) } }, { 's.json': child({ Outputs: { Arn: { Value: 'x' } } }) }),
      /reads output Missing of nested stack S \(s\.json\), which has no such output \(it has: Arn\)/,
    );
  });

  it('an attribute of a nested stack other than its outputs', () => {
    refused(() => flatten({ Resources: { S: stack('s.json'), F: fn({ Description: { 'Fn::GetAtt': ['S', 'Arn'] } }) } }, { 's.json': child() }), /a nested stack's attributes are Outputs\.<name>/);
  });

  it('an import no stack exports', () => {
    refused(() => flatten({ Resources: { S: stack('s.json'), F: fn({ Description: { 'Fn::ImportValue': 'nobody-exports-this' } }) } }, { 's.json': child() }), /Fn::ImportValue nobody-exports-this in the root template: no stack of this deployment exports that name/);
  });

  it('an import that names the root by the child’s own AWS::StackName', () => {
    refused(
      () =>
        flatten(
          { Resources: { S: stack('s.json') }, Outputs: { A: { Value: 'a', Export: { Name: { 'Fn::Sub': '${AWS::StackName}-A' } } } } },
          { 's.json': child({ Resources: { F: fn({ Description: { 'Fn::ImportValue': { 'Fn::Sub': '${AWS::StackName}-A' } } }) } }) },
        ),
      /Fn::ImportValue \$\{AWS::StackName\}-S-A in nested stack S/,
    );
  });

  it('an import of a name the stack itself exports', () => {
    refused(
      () => flatten({ Resources: { F: fn({ Description: { 'Fn::ImportValue': 'mine' } }) }, Outputs: { Mine: { Value: 'v', Export: { Name: 'mine' } } } }),
      /a stack cannot import its own export/,
    );
  });

  it('an export name declared twice', () => {
    refused(
      () => flatten({ Resources: { S: stack('s.json') }, Outputs: { A: { Value: 'a', Export: { Name: 'dup' } } } }, { 's.json': child({ Outputs: { B: { Value: 'b', Export: { Name: 'dup' } } } }) }),
      /export name dup is declared twice: by output A of the root template and by output B of nested stack S \(s\.json\)/,
    );
  });

  it('an export name that depends on a resource', () => {
    refused(() => flatten({ Resources: { F: fn() }, Outputs: { A: { Value: 'a', Export: { Name: { 'Fn::Sub': '${F}-name' } } } } }), /must be known before any resource exists/);
  });

  it('two sibling stacks that take each other’s outputs', () => {
    refused(
      () =>
        flatten(
          { Resources: { AStack: stack('a.json', { In: { 'Fn::GetAtt': ['BStack', 'Outputs.Out'] } }), BStack: stack('b.json', { In: { 'Fn::GetAtt': ['AStack', 'Outputs.Out'] } }) } },
          {
            'a.json': { Parameters: { In: { Type: 'String' } }, Resources: { AFunction: fn() }, Outputs: { Out: { Value: 'a' } } },
            'b.json': { Parameters: { In: { Type: 'String' } }, Resources: { BFunction: fn() }, Outputs: { Out: { Value: 'b' } } },
          },
        ),
      /circular dependency between resources of the root template: AStack → BStack → AStack/,
    );
  });

  it('an output that resolves to itself through imports', () => {
    refused(
      () =>
        flatten(
          { Resources: { AStack: stack('a.json'), BStack: stack('b.json') } },
          {
            'a.json': { Resources: { AFunction: fn() }, Outputs: { Out: { Value: { 'Fn::ImportValue': 'b-out' } , Export: { Name: 'a-out' } } } },
            'b.json': { Resources: { BFunction: fn() }, Outputs: { Out: { Value: { 'Fn::ImportValue': 'a-out' }, Export: { Name: 'b-out' } } } },
          },
        ),
      /circular reference: nested stack AStack \(a\.json\) output Out → nested stack BStack \(b\.json\) output Out → nested stack AStack \(a\.json\) output Out/,
    );
  });

  it('a reference to a resource of another stack', () => {
    refused(() => flatten({ Resources: { StateTable: shared.StateTable ?? fn(), S: stack('s.json') } }, { 's.json': child({ Resources: { F: fn({ Description: { Ref: 'StateTable' } }) } }) }), /Ref to StateTable in nested stack S \(s\.json\): StateTable belongs to the root template/);
    refused(() => flatten({ Resources: { S: stack('s.json'), F: fn({ Description: { 'Fn::GetAtt': ['ChildFunction', 'Arn'] } }) } }, { 's.json': child() }), /ChildFunction belongs to nested stack S/);
    refused(() => flatten({ Resources: { S: stack('s.json'), F: fn({ Description: { 'Fn::Sub': '${ChildFunction.Arn}' } }) } }, { 's.json': child() }), /ChildFunction belongs to nested stack S/);
  });

  it('a DependsOn on a resource outside its template', () => {
    refused(() => flatten({ Resources: { F: fn(), S: stack('s.json') } }, { 's.json': child({ Resources: { G: { ...fn(), DependsOn: ['F'] } } }) }), /G in nested stack S \(s\.json\) DependsOn F, which is not a resource of that template/);
  });

  it('a nested template that is not there, and a nested stack with no loader', () => {
    refused(() => flatten({ Resources: { S: stack('s.json') } }, {}), /no nested template s\.json/);
    refused(() => flattenStacks({ Resources: { S: stack('s.json') } }), /no loader for nested templates was given/);
  });
});

describe('nested template files', () => {
  it('names the file by the last path segment of its TemplateURL', () => {
    assert.equal(templateFileName('https://${Bucket}.s3.${AWS::Region}.${AWS::URLSuffix}/serverless/autonomy/dev/1-2/cloudformation-template-observation-stack.json'), 'cloudformation-template-observation-stack.json');
    assert.equal(templateFileName('https://b.s3.amazonaws.com/x/child.json?versionId=3'), 'child.json');
    refused(() => templateFileName('https://b.s3.amazonaws.com/x/${File}'), /does not end in a template file name/);
  });

  it('reads sibling files of the root template from the package directory', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'autonomy-stacks-'));
    try {
      await writeFile(path.join(dir, 'cloudformation-template-child.json'), JSON.stringify({ Resources: { ChildFunction: fn() }, Outputs: { Arn: { Value: { 'Fn::GetAtt': ['ChildFunction', 'Arn'] } } } }));
      const flat = flattenStacks({ Resources: { ChildStack: stack('cloudformation-template-child.json') } }, siblingTemplateLoader(dir));
      assert.deepEqual(Object.keys(flat.template.Resources), ['ChildStack', 'ChildFunction']);
      assert.deepEqual(flat.stacks, [{ logicalId: 'ChildStack', parent: null, file: 'cloudformation-template-child.json', resources: 1, outputs: ['Arn'] }]);
      refused(() => flattenStacks({ Resources: { Other: stack('missing.json') } }, siblingTemplateLoader(dir)), /cannot read nested template .*missing\.json/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
