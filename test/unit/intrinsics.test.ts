import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IntrinsicResolver, UnsupportedTemplateError } from '../../infra/local/template.ts';

function resolver() {
  const r = new IntrinsicResolver({ region: 'eu-west-1', accountId: '123456789012', stackName: 'autonomy-local' });
  r.physical.set('Table', { ref: 'autonomy-local-state', attributes: { Arn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/autonomy-local-state' } });
  return r;
}

describe('IntrinsicResolver', () => {
  it('resolves Ref, Fn::GetAtt (both forms), Fn::Join and pseudo parameters', () => {
    const r = resolver();
    assert.equal(r.resolve({ Ref: 'Table' }), 'autonomy-local-state');
    assert.equal(r.resolve({ 'Fn::GetAtt': ['Table', 'Arn'] }), 'arn:aws:dynamodb:eu-west-1:123456789012:table/autonomy-local-state');
    assert.equal(r.resolve({ 'Fn::GetAtt': 'Table.Arn' }), 'arn:aws:dynamodb:eu-west-1:123456789012:table/autonomy-local-state');
    assert.equal(r.resolve({ 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Table', 'Arn'] }, '/index/*']] }), 'arn:aws:dynamodb:eu-west-1:123456789012:table/autonomy-local-state/index/*');
    assert.equal(r.resolve({ Ref: 'AWS::Region' }), 'eu-west-1');
  });

  it('resolves Fn::Sub with resources, attributes, variables and the ${!literal} escape', () => {
    const r = resolver();
    assert.equal(r.resolve({ 'Fn::Sub': 'arn:${AWS::Partition}:x:${AWS::AccountId}:${Table}' }), 'arn:aws:x:123456789012:autonomy-local-state');
    assert.equal(r.resolve({ 'Fn::Sub': ['${Name}-${Table.Arn}', { Name: 'n' }] }), 'n-arn:aws:dynamodb:eu-west-1:123456789012:table/autonomy-local-state');
    assert.equal(r.resolve({ 'Fn::Sub': 'keep ${!Literal}' }), 'keep ${Literal}');
  });

  it('refuses what it cannot resolve instead of guessing', () => {
    assert.throws(() => resolver().resolve({ Ref: 'Missing' }), UnsupportedTemplateError);
    assert.throws(() => resolver().resolve({ 'Fn::ImportValue': 'x' }), UnsupportedTemplateError);
  });
});
