// classifyFromListings' 'inSync' rule (libs/reconcile), as SQL over a joined row of azure_blobs `a` and
// s3_objects `s`: same size, the object written no earlier (in whole seconds) than the blob's last change, and
// the object's ETag an MD5 (single-part, not SSE-KMS/SSE-C) equal to the blob's Content-MD5. Pairs it holds for
// never leave DuckDB; every other pair goes to reconcile's own classification. test/in-sync-rule.test.ts holds
// this expression to classifyFromListings on every combination of its inputs.
export const IN_SYNC_SQL = `
  a.size = s.size
  AND s.last_modified_ms // 1000 >= a.last_modified_ms // 1000
  AND s.etag_is_md5
  AND a.md5 IS NOT NULL
  -- SQL does not promise to evaluate AND left to right: unhex only what is hex.
  AND CASE WHEN regexp_full_match(s.etag, '[0-9a-fA-F]{32}') THEN to_base64(unhex(s.etag)) END = a.md5`;
