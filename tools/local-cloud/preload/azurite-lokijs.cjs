'use strict';
// Loaded into each Azurite process (`node --require <this file> .../azurite/dist/src/<service>/main.js`).
//
// Azurite 3.36.0's queue store calls `collection.remove(expiredMessages)` before every receive, peek and
// delete, and that list is almost always empty. LokiJS 1.5.12 answers any array remove, an empty one too,
// by rebuilding every binary index of the collection: O(n log n) in the messages held, per request. With
// 1,000 messages waiting that was over 70% of the queue emulator's CPU, on the cores the tools under test
// share; Azure's queues have no such cost. Removing nothing now returns at once. A remove of one or more
// documents, and so every answer the emulator gives, is unchanged.
const { createRequire } = require('node:module');

// lokijs as Azurite itself resolves it.
const Loki = createRequire(require.resolve('azurite/package.json'))('lokijs');
const removeDocuments = Loki.Collection.prototype.remove;

Loki.Collection.prototype.remove = function removeUnlessNothing(doc) {
  if (Array.isArray(doc) && doc.length === 0) return undefined;
  return removeDocuments.call(this, doc);
};
