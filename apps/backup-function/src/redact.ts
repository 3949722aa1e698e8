/**
 * Error texts from SDKs can quote request URLs (with a SAS or a presigned query) or, in the worst
 * case, a bearer token. Logs get the text with every URL query and every JWT-shaped string removed.
 */
export function redact(text: string): string {
  return text
    .replace(/(https?:\/\/[^\s?#"']+)\?[^\s"']*/g, '$1')
    .replace(/\beyJ[\w-]*\.[\w-]+\.[\w-]*/g, '<jwt>')
    .replace(/(AccountKey|SharedAccessSignature|sig|X-Amz-Signature|X-Amz-Security-Token)=[^;&\s"']+/gi, '$1=<redacted>');
}

export function errorSummary(error: unknown): string {
  if (error instanceof Error) return redact(`${error.name}: ${error.message}`);
  return redact(String(error));
}
