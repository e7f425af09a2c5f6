import type { Transporter } from 'nodemailer';
import { KeywardenError } from '../../errors/index.js';
import { alertSubject, alertText, type AlertView } from '../alert-view.js';
import type { SinkNetwork } from './sink-network.js';
import { smtpTarget } from './smtp-host.js';
import type { AlertSink } from './types.js';

export interface EmailSinkOptions {
  name: string;
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
  from: string;
  to: string[];
  timeoutMs: number;
  network: SinkNetwork;
}

/** Permanent SMTP failures: 5xx replies, bad credentials, a refused envelope. Everything else may pass later. */
function classify(err: unknown): KeywardenError {
  const { responseCode, code } = (err ?? {}) as { responseCode?: unknown; code?: unknown };
  const status = typeof responseCode === 'number' ? responseCode : null;
  const errCode = typeof code === 'string' ? code : 'error';
  const permanent = (status !== null && status >= 500) || errCode === 'EAUTH' || errCode === 'EENVELOPE';
  return new KeywardenError(permanent ? 'KW_ALERT_DELIVERY_REJECTED' : 'KW_ALERT_DELIVERY_FAILED', {
    message: `email: SMTP ${status ?? errCode}`,
  });
}

/**
 * Email over SMTP through nodemailer: a plain-text message per alert. nodemailer (~15 MB resident) is loaded with
 * the first alert, not with the gateway.
 */
export function createEmailSink(options: EmailSinkOptions): AlertSink {
  let transport: Transporter | null = null;
  const connect = async (): Promise<Transporter> => {
    const target = await smtpTarget(options.host, options.port, options.network);
    const nodemailer = (await import('nodemailer')).default;
    return nodemailer.createTransport({
      ...target,
      port: options.port,
      secure: options.secure,
      auth: options.user ? { user: options.user, pass: options.password ?? '' } : undefined,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
    });
  };
  return {
    name: options.name,
    async send(alert: AlertView) {
      try {
        transport ??= await connect();
        await transport.sendMail({
          from: options.from,
          to: options.to,
          subject: alertSubject(alert),
          text: alertText(alert),
          headers: { 'X-Keywarden-Alert-Id': alert.id },
        });
      } catch (err) {
        throw classify(err);
      }
    },
    close() {
      transport?.close();
      return Promise.resolve();
    },
  };
}
