// The daemon: schedules, state directory with leases, the scheduler loop.
export { InfernoDaemon, daemonRuleName, runOutcome, type DaemonOptions, type DaemonOutcome } from './daemon.js'
export { isDue, parseTimeDelta, deltaMs, DEFAULT_TIME_DELTA, type TimeDelta, type DeltaSchedule, type ClockSchedule } from './schedule.js'
export { StateDir, formatStamp, parseStamp, type Lease, type StateFileKind, type RuleState, type MaybePromise } from './state-dir.js'
export { StoreRuleState } from './store-state.js'
