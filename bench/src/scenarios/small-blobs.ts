import { azureContainer } from '../clients.js';
import { startCloudProcess, type CloudProcess } from '../local-cloud-process.js';
import { runMeasured, type Measurement } from '../measure.js';
import { RCLONE_COMMON_FLAGS, rcloneEnv, writeRcloneConfig } from '../rclone.js';
import { azureAuth, azureReads, curlReadAll } from '../curl-reads.js';
import { runLimit, type BenchContext, type Scenario, type ScenarioResult } from '../scenario.js';
import { uploadSmallBlobs, type SeededBlob } from '../seed.js';
import { formatBytes, median, percentile, round } from '../stats.js';
import { startEventConsumer, type Completion } from './event-consumer.js';

// Many small blobs, each announced by a BlobCreated event: blobferry's event path against `rclone copy` of the
// same set. blobferry's rate is end to end, from the first upload to the last object in S3 (so it includes the
// upload window and event detection); rclone's is its own run over the finished set. Latency is per blob, from
// Azure acknowledging the upload to the object being complete in S3.

interface RunFigures {
  blobferry: Measurement;
  blobferryObjectsPerS: number;
  uploadObjectsPerS: number;
  deliveryObjectsPerS: number;
  copyObjectsPerS: number;
  latenciesMs: number[];
  eventLatenciesMs: number[];
  handlerLatenciesMs: number[];
  rclone: Measurement;
  azureRead: Measurement;
  s3Write: Measurement;
  path: string;
}

async function oneRun(context: BenchContext, run: number): Promise<RunFigures> {
  const { count, size } = context.profile.smallBlobs;
  const { filesInFlight, partSize, concurrency } = context.profile.tuning;
  const container = `bench-small-${run}`;
  const keyPrefix = `small/blobferry/${run}/`;
  const consumer = await startEventConsumer({ kind: context.eventConsumer, keyPrefix, partSize, concurrency });
  let cloud: CloudProcess | undefined;
  try {
    cloud = await startCloudProcess({ s3: context.s3, webhookUrl: consumer.webhookUrl, eventConcurrency: filesInFlight });
    const { stack } = cloud;
    await consumer.start(stack);
    const names = Array.from({ length: count }, (_, i) => `f${String(i).padStart(6, '0')}.bin`);
    const client = azureContainer(stack, container);
    await client.createIfNotExists();

    context.log(`small-blobs run ${run + 1}/${context.runs}: uploading ${count} x ${formatBytes(size)} (events flow meanwhile)`);
    const uploadStartedAt = Date.now();
    const seeded = await uploadSmallBlobs({ container: client, names, size, concurrency: filesInFlight });
    const uploadEndedAt = Date.now();
    const completions = await consumer.completions(count, 120_000 + count * 200);
    const blobferry = await consumer.stop();
    // A delivery can succeed without a copy (a refused event is acknowledged): count what really is in S3.
    const inS3 = await runLimit({ stack, op: 's3-list', prefixes: [keyPrefix], concurrency: 1 });
    if (inS3.objects !== count) throw new Error(`${inS3.objects} of ${count} blobs are in S3 under ${keyPrefix}`);
    const uploaded = new Map<string, SeededBlob>(seeded.map((blob) => [blob.name, blob]));
    // At-least-once delivery: a blob may be copied twice; its first completion is when it was safe in S3.
    const firstCompletion = new Map<string, Completion>();
    for (const completion of completions) if (!firstCompletion.has(completion.blobName)) firstCompletion.set(completion.blobName, completion);
    const latenciesMs = [...firstCompletion.values()].map((c) => c.completedAt - (uploaded.get(c.blobName)?.uploadedAt ?? NaN));
    const eventLatenciesMs = [...firstCompletion.values()].map((c) => c.completedAt - Date.parse(c.eventTime));
    const handlerLatenciesMs = [...firstCompletion.values()].map((c) => c.completedAt - c.receivedAt);
    const firsts = [...firstCompletion.values()];
    const lastCompletedAt = Math.max(...firsts.map((c) => c.completedAt));
    const firstReceivedAt = Math.min(...firsts.map((c) => c.receivedAt));
    const lastReceivedAt = Math.max(...firsts.map((c) => c.receivedAt));

    context.log(`small-blobs run ${run + 1}/${context.runs}: rclone copy`);
    const rcloneConf = await writeRcloneConfig(context.workDir, stack, { partSize, concurrency });
    const rclone = await runMeasured(
      'rclone',
      [
        'copy',
        `azure:${container}`,
        `s3:${stack.aws.bucket}/small/rclone/${run}`,
        '--transfers',
        String(filesInFlight),
        '--checkers',
        String(filesInFlight),
        ...RCLONE_COMMON_FLAGS,
      ],
      { env: rcloneEnv(rcloneConf) },
    );

    context.log(`small-blobs run ${run + 1}/${context.runs}: limits`);
    const azureRead = await curlReadAll({
      reads: azureReads(stack, container, names.map((name) => ({ name, size }))),
      concurrency: filesInFlight,
      auth: azureAuth(),
      workDir: context.workDir,
      expectBytes: count * size,
    });
    const s3Write = await runLimit({
        stack,
        op: 's3-write',
        keyPrefix: `small/limit/${run}/`,
        count,
        size,
        partSize,
        concurrency: filesInFlight,
      });
    return {
      blobferry: blobferry.measurement,
      blobferryObjectsPerS: count / ((lastCompletedAt - uploadStartedAt) / 1000),
      uploadObjectsPerS: count / ((uploadEndedAt - uploadStartedAt) / 1000),
      deliveryObjectsPerS: count / (Math.max(1, lastReceivedAt - firstReceivedAt) / 1000),
      copyObjectsPerS: count / ((lastCompletedAt - firstReceivedAt) / 1000),
      latenciesMs,
      eventLatenciesMs,
      handlerLatenciesMs,
      rclone,
      azureRead,
      s3Write,
      path: consumer.path,
    };
  } finally {
    await consumer.stop().catch(() => undefined);
    await cloud?.stop();
  }
}

export const smallBlobs: Scenario = {
  name: 'small-blobs',
  async run(context: BenchContext): Promise<ScenarioResult> {
    const { count, size } = context.profile.smallBlobs;
    const { filesInFlight } = context.profile.tuning;
    const runs: RunFigures[] = [];
    for (let run = 0; run < context.runs; run++) runs.push(await oneRun(context, run));

    const perS = (m: Measurement) => count / m.wallS;
    const peak = (pick: (r: RunFigures) => Measurement) => round(Math.max(...runs.map((r) => pick(r).peakRssMiB)), 1);
    const blobferryObjectsPerS = round(median(runs.map((r) => r.blobferryObjectsPerS)), 1);
    const rcloneObjectsPerS = round(median(runs.map((r) => perS(r.rclone))), 1);
    const azureRead = round(median(runs.map((r) => perS(r.azureRead))), 1);
    const s3Write = round(median(runs.map((r) => perS(r.s3Write))), 1);
    const limit = Math.min(azureRead, s3Write);
    const ratioVsRclone = round(blobferryObjectsPerS / rcloneObjectsPerS);
    const latencyP = (pick: (r: RunFigures) => number[], p: number) => round(median(runs.map((r) => percentile(pick(r), p))), 0);
    return {
      name: 'small-blobs',
      description: `${count} blobs of ${formatBytes(size)} delivered as BlobCreated events (${filesInFlight} deliveries in flight); rclone copy with --transfers ${filesInFlight}`,
      blobferry: {
        objectsPerS: blobferryObjectsPerS,
        latencyP50Ms: latencyP((r) => r.latenciesMs, 50),
        latencyP95Ms: latencyP((r) => r.latenciesMs, 95),
        eventTimeLatencyP50Ms: latencyP((r) => r.eventLatenciesMs, 50),
        eventTimeLatencyP95Ms: latencyP((r) => r.eventLatenciesMs, 95),
        deliveryToDoneP50Ms: latencyP((r) => r.handlerLatenciesMs, 50),
        deliveryToDoneP95Ms: latencyP((r) => r.handlerLatenciesMs, 95),
        uploadObjectsPerS: round(median(runs.map((r) => r.uploadObjectsPerS)), 1),
        eventDeliveryObjectsPerS: round(median(runs.map((r) => r.deliveryObjectsPerS)), 1),
        firstEventToLastCopyObjectsPerS: round(median(runs.map((r) => r.copyObjectsPerS)), 1),
        cpuS: round(median(runs.map((r) => r.blobferry.cpuS))),
        peakRssMiB: peak((r) => r.blobferry),
        path: runs[0]?.path ?? 'unknown',
      },
      rclone: {
        objectsPerS: rcloneObjectsPerS,
        wallS: round(median(runs.map((r) => r.rclone.wallS))),
        cpuS: round(median(runs.map((r) => r.rclone.cpuS))),
        peakRssMiB: peak((r) => r.rclone),
      },
      limit: {
        objectsPerS: limit,
        boundBy: azureRead <= s3Write ? 'azurite-read' : 's3-write',
        azuriteReadObjectsPerS: azureRead,
        s3WriteObjectsPerS: s3Write,
      },
      ratioVsRclone,
      fractionOfLimit: round(blobferryObjectsPerS / limit),
      targets: [{ target: '>= 2x rclone objects/s', met: ratioVsRclone >= 2, actual: `${ratioVsRclone}x` }],
      notes: [
        `measured path: ${runs[0]?.path ?? 'unknown'}`,
        'blobferry objects/s is end to end (first upload to last object in S3, upload window and event polling included); rclone objects/s is its run over the already uploaded set',
        'uploadObjectsPerS: how fast the bench wrote the blobs; eventDeliveryObjectsPerS: how fast the local Event Grid (polling Azurite) handed events over; firstEventToLastCopyObjectsPerS: from the first event received to the last copy done',
        'latency: from Azure acknowledging the upload to the copy completing in S3; eventTime latency starts at the event\'s eventTime (when the local Event Grid noticed the blob); deliveryToDone is the function\'s own time per delivery (webhook POST received to answered)',
      ],
    };
  },
};
