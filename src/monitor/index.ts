export * from './types.js';
export type * from './repositories.js';
export { MonitorEngine, type MonitorEngineDeps, type MonitorRepositories, type TickReport } from './engine.js';
export { createMonitor, createSqliteMonitorRepos } from './create-monitor.js';
export { monitorConfigSchema, parseMonitorConfig, type MonitorConfig, type MonitorConfigInput } from './config.js';
export { ManualClock, realSleep, systemClock, type Clock, type Sleep } from './clock.js';
export { createMonitorMetrics, type MetricsOptions, type MonitorMetrics } from './metrics.js';
export { metricsHandler } from './metrics-handler.js';
export { alertView, deliveryView, type AlertView } from './alert-view.js';
export type { SuspendKey } from './alert-service.js';
export { budgetThresholdCrossed } from './detectors/budget.js';
export { usageReport, usageReportCsv, type UsageGroupBy, type UsageReport, type UsageReportRow } from './usage-report.js';
export { createSinks } from './sinks/create-sinks.js';
export type { AlertSink } from './sinks/types.js';
export {
  SIGNATURE_HEADER,
  TIMESTAMP_HEADER,
  signWebhook,
  verifyWebhookSignature,
  type VerifyWebhookInput,
  type VerifyWebhookResult,
} from './sinks/webhook-signature.js';
