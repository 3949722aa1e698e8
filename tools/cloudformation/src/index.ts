export {
  evaluateTemplate,
  isRecord,
  oidcProviderArn,
  parseTemplate,
  roleArn,
  roleId,
  TemplateError,
  type EvaluatedTemplate,
  type EvaluateTemplateOptions,
  type TemplateResource,
} from './template.js';
