import type { AlertView } from '../alert-view.js';

/**
 * A place alerts go. `send` resolves once the alert was accepted, and otherwise throws a KeywardenError:
 * KW_ALERT_DELIVERY_FAILED when a retry may help, KW_ALERT_DELIVERY_REJECTED when it will not.
 * Error messages name the sink and a status or code, never the URL (webhook URLs are often secrets themselves).
 */
export interface AlertSink {
  readonly name: string;
  send(alert: AlertView, signal: AbortSignal): Promise<void>;
  close?(): Promise<void>;
}
