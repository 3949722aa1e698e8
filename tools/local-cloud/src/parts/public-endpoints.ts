import { DEFAULT_PORTS } from '../constants.js';
import { FaultRules, startFaultProxy, type FaultService } from '../fault-proxy.js';
import type { LocalCloud, LocalCloudOptions, Log } from '../local-cloud.js';
import type { Closers } from './closers.js';

// The endpoints clients reach: with `faultProxy`, a fault proxy in front of the blob endpoint, S3 and STS
// (taking their well-known ports with `ports: 'default'`), so a test or a user can fail requests or take a
// service down and back up on the same port; without it, the parts themselves.

export interface PublicEndpoints {
  /** `http://127.0.0.1:PORT`: the blob endpoint is `<origin>/<account>`. */
  blobOrigin: string;
  s3Endpoint: string;
  stsEndpoint: string;
  faults: LocalCloud['faults'];
}

export async function startPublicEndpoints(
  options: LocalCloudOptions,
  inner: Omit<PublicEndpoints, 'faults'>,
  closers: Closers,
  log: Log,
): Promise<PublicEndpoints> {
  if (!options.faultProxy) return { ...inner, faults: undefined };
  const rules = new FaultRules();
  const portOf = (service: keyof typeof DEFAULT_PORTS) => (options.ports === 'default' ? DEFAULT_PORTS[service] : 0);
  const proxyFor = async (service: FaultService, upstream: string, port: number) => {
    const proxy = await startFaultProxy({ service, upstream, rules, port, log });
    closers.add(() => proxy.close());
    return proxy;
  };
  const azure = await proxyFor('azure', inner.blobOrigin, portOf('blob'));
  const s3 = await proxyFor('s3', inner.s3Endpoint, portOf('s3'));
  const sts = await proxyFor('sts', inner.stsEndpoint, portOf('sts'));
  const proxies: Record<FaultService, typeof azure> = { azure, s3, sts };
  return {
    blobOrigin: azure.endpoint,
    s3Endpoint: s3.endpoint,
    stsEndpoint: sts.endpoint,
    faults: {
      failNext: (rule) => rules.failNext(rule),
      traffic: (service) => rules.traffic(service),
      outage: (service, outage) => proxies[service].outage.start(outage),
      endOutage: (service) => proxies[service].outage.end(),
      outages: () => Object.values(proxies).flatMap((proxy) => proxy.outage.current() ?? []),
    },
  };
}
