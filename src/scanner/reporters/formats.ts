/** Report formats; a module of its own so the CLI can list them without loading any reporter. */
export type ReportFormat = 'text' | 'json' | 'sarif';
export const REPORT_FORMATS: readonly ReportFormat[] = ['text', 'json', 'sarif'];
