// Where blobferry's deployments put the inventory reports (libs/inventory reads them), so that infra, the local
// cloud, `blobferry verify --inventory` and the sweep agree without configuration. Each can be named otherwise.

/** The Azure inventory rule's destination container (in the source account) and the rule's name. */
export const AZURE_INVENTORY_CONTAINER = 'blobferry-inventory';
export const AZURE_INVENTORY_RULE = 'blobferry';

/** S3 Inventory's destination prefix and configuration id (infra/aws-iam's InventoryConfigurations Id). */
export const S3_INVENTORY_DESTINATION_PREFIX = 'inventory';
export const S3_INVENTORY_ID = 'blobferry';

/** The reports bucket infra/aws-iam creates beside the backup bucket: never the backup bucket itself. */
export function s3InventoryBucketFor(backupBucket: string): string {
  return `${backupBucket}-inventory`;
}

/** Where S3 delivers a configuration's reports: `<destination-prefix>/<source-bucket>/<config-ID>/`. */
export function s3InventoryPrefixFor(
  backupBucket: string,
  destinationPrefix = S3_INVENTORY_DESTINATION_PREFIX,
  id = S3_INVENTORY_ID,
): string {
  return `${destinationPrefix ? `${destinationPrefix}/` : ''}${backupBucket}/${id}/`;
}
