// Public surface of the inferno layer.
export * from './api.js'
export { InfernoDaemon, daemonRuleName, runOutcome, parseTimeDelta, isDue, type DaemonOptions, type DaemonOutcome, type TimeDelta } from './daemon/index.js'
export { StandardNotifier, type Notifier, type NotifyConfig, type JobReport } from './notify/index.js'
export { buildSettings, loadSettingsFile, runOptionsOfSettings, SETTINGS_DEFAULTS, type InfernoSettings } from './rules/settings.js'
