export { evaluateTemplate } from './evaluate-template.js';
export { parseTemplate } from './parse.js';
export { oidcProviderArn, roleArn, roleId } from './resource-ids.js';
export { TemplateError } from './template-error.js';
