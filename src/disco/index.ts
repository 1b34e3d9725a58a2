// Public surface of the disco layer: job specs, the planner, executors, job control and the job store seam.
export type {
  FnRef, Emit, TaskContext, OversizedLines, MapFn, MapStreamFn, MapBytesFn, ReduceFn, CombineFn, PartitionFn, JobSpec, NormalizedSpec,
  MapTaskPlan, ReduceTaskPlan, JobPlan, TaskMessage, TaskResult, TaskOutput, TaskRecord, TaskHooks, JobStatus, JobInfo, JobProgress,
} from './types.js'
export { normalizeSpec, planJob, jobName, retryDelay, DEFAULT_MEMORY_BUDGET } from './plan.js'
export { type Executor, InProcessExecutor, WorkerPoolExecutor, FatalTaskError, isFatal, LOCAL_STORE_FACTORY } from './executor.js'
export {
  runJob, resumeJob, listJobs, jobInfo, resolveJob, waitJob, killJob, purgeJob, jobEvents, jobResults, jobResultBatches, jobTasks, storesOf, DEFAULT_HEARTBEAT_MS,
  type JobRunOptions, type JobHandle, type StoreRef,
} from './job.js'
export { defaultPartition } from './task.js'
export { encodePair, decodePair } from './records.js'
export { KeyedSums, sumRows, type KeyedSumsOptions } from './keyed-sums.js'
export { openLocalStores, localStoreFactory, dataBlobName, type DiscoStores, type StoreFactory } from './stores.js'
export type { JobStore, KvEntry, KvChange, LogEntry } from './jobstore.js'
export { LocalJobStore } from './local-jobstore.js'
export { JobRegistry, keyToken, type JobEvent, type Heartbeat, type Lease, type JobRecordState, type RegistryOptions } from './registry.js'
