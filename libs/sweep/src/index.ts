// The scheduled sweep, the safety net under the events: a plan per schedule occurrence, then every allowed
// container reconciled one page at a time (libs/reconcile), each slice a message of the sweep queue carrying
// its checkpoint, and one report per run.
export { planSweep, type PlanSweepOptions, type PlanSweepResult, type SweptContainer } from './plan-sweep.js';
export {
  sweepSlice,
  type OutageWindow,
  type SweepInventoryOptions,
  type SweepSliceOptions,
  type SweepSliceOutcome,
} from './sweep-slice.js';
export { lastInventoryRun, type InventoryRunRecord } from './sweep-state.js';
export { sweepRunId } from './run-id.js';
export type { RefusedReport, SliceResult, SweepReport } from './sweep-report.js';
