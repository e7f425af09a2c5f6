// Alerts: list with filters, acknowledge, and the delivery status per sink.
import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, errorMessage } from '../api';
import { useLoad } from '../components/use-load';
import { EmptyState, ErrorBanner, Field, Loading, PageTitle } from '../components/ui';
import { when } from '../format';
import type { Alert, Delivery, List } from '../types';

const DETECTORS = ['volume_spike', 'spend_spike', 'new_model', 'new_network', 'key_probing', 'scope_denials', 'budget_threshold', 'key_rotation_due', 'key_unused', 'provider_usage_mismatch', 'canary_key'];

export function Alerts(props: { canWrite: boolean }): JSX.Element {
  const [status, setStatus] = useState('open');
  const [detector, setDetector] = useState('');
  const alerts = useLoad(() => api<List<Alert>>(`/alerts?status=${status}&limit=200${detector ? `&detector=${encodeURIComponent(detector)}` : ''}`), [status, detector]);
  const deliveries = useLoad(() => api<List<Delivery>>('/alerts/deliveries?limit=500'), []);
  const [error, setError] = useState<string | null>(null);
  const ack = async (id: string): Promise<void> => {
    try {
      await api(`/alerts/${encodeURIComponent(id)}/ack`, { method: 'POST', body: {} });
      alerts.reload();
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const sinks = (id: string): string =>
    (deliveries.data?.data ?? [])
      .filter((d) => d.alert_id === id)
      .map((d) => `${d.sink}: ${d.status}`)
      .join(', ') || 'none';
  return (
    <>
      <PageTitle>Alerts</PageTitle>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <Field label="Status" id="alerts-status">
          <select id="alerts-status" value={status} onChange={(e) => setStatus(e.currentTarget.value)}>
            <option value="open">Open</option>
            <option value="acknowledged">Acknowledged</option>
            <option value="all">All</option>
          </select>
        </Field>
        <Field label="Detector" id="alerts-detector">
          <select id="alerts-detector" value={detector} onChange={(e) => setDetector(e.currentTarget.value)}>
            <option value="">Any</option>
            {DETECTORS.map((d) => (
              <option key={d} value={d}>
                {d.replace(/_/g, ' ')}
              </option>
            ))}
          </select>
        </Field>
      </form>
      <ErrorBanner error={alerts.error ?? error} />
      {alerts.loading && !alerts.data ? <Loading /> : null}
      {alerts.data && alerts.data.data.length === 0 ? (
        <EmptyState title="No alerts">Anomalies (spend spikes, new IPs, canary use, leaks) show here and go to the sinks in your config.</EmptyState>
      ) : null}
      {alerts.data && alerts.data.data.length > 0 ? (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Severity</th>
                <th scope="col">Alert</th>
                <th scope="col">Key</th>
                <th scope="col">Last seen</th>
                <th scope="col">Delivery</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {alerts.data.data.map((a) => (
                <tr key={a.id}>
                  <td>
                    <span class={`badge badge-${a.severity}`}>{a.severity}</span>
                  </td>
                  <td>
                    <strong>{a.title}</strong>
                    <div class="muted">{a.message}</div>
                  </td>
                  <td>{a.key_name ?? a.key_id ?? '—'}</td>
                  <td>
                    {when(a.last_seen_at)} ({a.occurrences}×)
                  </td>
                  <td>{sinks(a.id)}</td>
                  <td>
                    {a.acknowledged_at ? (
                      `acknowledged by ${a.acknowledged_by ?? '?'}`
                    ) : props.canWrite ? (
                      <button type="button" onClick={() => void ack(a.id)}>
                        Acknowledge
                      </button>
                    ) : (
                      'open'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}
