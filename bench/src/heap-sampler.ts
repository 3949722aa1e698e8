import { writeSync } from 'node:fs';

// Preloaded (`node --expose-gc --import heap-sampler.js ...`) into a tool whose memory must stay flat: every
// 250 ms it collects garbage and samples the heap still in use, and prints the largest sample at exit. Peak RSS
// alone cannot tell retained data from garbage V8 has not yet collected; the live heap can. It costs CPU, so
// it runs in its own, untimed run.

const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error('heap-sampler needs node --expose-gc');
let largest = 0;
const sample = () => {
  collect();
  largest = Math.max(largest, process.memoryUsage().heapUsed);
};
setInterval(sample, 250).unref();
process.on('exit', () => {
  sample();
  writeSync(2, `\nLIVE_HEAP_MAX_MIB ${(largest / 1024 / 1024).toFixed(1)}\n`);
});
