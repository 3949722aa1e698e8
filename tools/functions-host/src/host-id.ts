import { createHash } from 'node:crypto';
import { dirname, resolve } from 'node:path';

// The host id names an app's blobs in its host storage (`locks/<hostId>/...`, `timers/<hostId>/...`):
// every instance of one app computes the same id, which is how they share one timer lock. The runtime
// takes AzureFunctionsWebHost__hostid when set, else the site name (lower case, at most 32 characters).

const HOST_ID_SETTING = 'AzureFunctionsWebHost__hostid';
const VALID_HOST_ID = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;

/** The app's host id: from its settings, else from the folder of its entry module (the same for every host of one app). */
export function hostIdOf(settings: Record<string, string | undefined>, appEntry: string): string {
  const configured = settings[HOST_ID_SETTING];
  if (configured) {
    if (!VALID_HOST_ID.test(configured)) {
      throw new Error(
        `app setting ${HOST_ID_SETTING} is "${configured}": a host id is 1 to 32 lower-case letters, digits and dashes, starting and ending with a letter or digit`,
      );
    }
    return configured;
  }
  const siteName = settings.WEBSITE_SITE_NAME;
  if (siteName) return siteName.toLowerCase().slice(0, 32).replace(/-+$/, '');
  return `local-${createHash('sha256')
    .update(dirname(resolve(appEntry)))
    .digest('hex')
    .slice(0, 26)}`;
}
