import { describe, expect, it } from 'vitest';
import { evaluateTemplate, parseTemplate, TemplateError } from '../src/index.js';

const template = `
Parameters:
  Name: { Type: String, AllowedPattern: '^[a-z-]+$' }
  Suffix: { Type: String, Default: '' }
Conditions:
  HasSuffix: !Not [!Equals [!Ref Suffix, '']]
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !If [HasSuffix, !Sub '\${Name}-\${Suffix}', !Ref Name]
      Arn: !GetAtt Role.Arn
  OnlyWithSuffix:
    Type: AWS::S3::Bucket
    Condition: HasSuffix
    Properties: {}
`;

describe('parseTemplate', () => {
  it('turns short-form tags into the long form CloudFormation uses', () => {
    const parsed = parseTemplate(template);
    const role = (parsed.Resources as Record<string, { Properties: Record<string, unknown> }>).Role;
    expect(role?.Properties.RoleName).toEqual({ 'Fn::If': ['HasSuffix', { 'Fn::Sub': '${Name}-${Suffix}' }, { Ref: 'Name' }] });
    expect(role?.Properties.Arn).toEqual({ 'Fn::GetAtt': ['Role', 'Arn'] });
  });

  it('names the source in a YAML error', () => {
    expect(() => parseTemplate('a: [', 'broken.yaml')).toThrow(/broken\.yaml is not valid YAML/);
  });
});

describe('evaluateTemplate', () => {
  it('resolves parameters, conditions and intrinsic functions; resources follow their Condition', () => {
    const plain = evaluateTemplate(parseTemplate(template), { parameters: { Name: 'backup' } });
    expect(plain.resources.map((resource) => resource.logicalId)).toEqual(['Role']);
    expect(plain.evaluate(plain.resources[0]?.properties.RoleName)).toBe('backup');
    const suffixed = evaluateTemplate(parseTemplate(template), { parameters: { Name: 'backup', Suffix: 'eu' } });
    expect(suffixed.resources.map((resource) => resource.logicalId)).toEqual(['Role', 'OnlyWithSuffix']);
    expect(suffixed.evaluate(suffixed.resources[0]?.properties.RoleName)).toBe('backup-eu');
  });

  it('refuses a parameter that breaks its constraint', () => {
    expect(() => evaluateTemplate(parseTemplate(template), { parameters: { Name: 'Not Valid' } })).toThrow(TemplateError);
  });
});
