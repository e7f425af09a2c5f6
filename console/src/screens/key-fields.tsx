import type { JSX } from 'preact';
import { Field } from '../components/ui';
import type { KeyFormValues } from './key-form';

/** The scope and limit fields shared by the create form and the edit form. */
export function KeyFields(props: { values: KeyFormValues; set: (patch: Partial<KeyFormValues>) => void; upstreams?: { id: string; name: string }[] }): JSX.Element {
  const v = props.values;
  const input = (id: string, field: keyof KeyFormValues, extra: JSX.InputHTMLAttributes = {}): JSX.Element => (
    <input id={id} value={v[field]} onInput={(e) => props.set({ [field]: e.currentTarget.value })} {...extra} />
  );
  const textarea = (id: string, field: 'modelRules' | 'metadata'): JSX.Element => (
    <textarea id={id} rows={3} spellcheck={false} value={v[field]} aria-describedby={`${id}-hint`} onInput={(e) => props.set({ [field]: e.currentTarget.value })} />
  );
  return (
    <>
      <Field label="Name" id="key-name">
        {input('key-name', 'name', { required: true, maxLength: 200 })}
      </Field>
      {props.upstreams ? (
        <Field label="Upstream" id="key-upstream">
          <select id="key-upstream" value={v.upstream} onChange={(e) => props.set({ upstream: e.currentTarget.value })}>
            <option value="">Default upstream</option>
            {props.upstreams.map((u) => (
              <option key={u.id} value={u.id}>
                {u.name}
              </option>
            ))}
          </select>
        </Field>
      ) : null}
      <fieldset>
        <legend>Scopes</legend>
        <Field label="Models" id="key-models" hint="Comma-separated; * patterns allowed, e.g. gpt-4o*. Empty: all models.">
          {input('key-models', 'models', { 'aria-describedby': 'key-models-hint' })}
        </Field>
        <Field label="Endpoint groups" id="key-endpoints" hint="e.g. chat, embeddings. Empty: all.">
          {input('key-endpoints', 'endpoints', { 'aria-describedby': 'key-endpoints-hint' })}
        </Field>
        <Field label="IP ranges" id="key-ips" hint="IPs or CIDR ranges. Empty: any address.">
          {input('key-ips', 'ipAllowlist', { 'aria-describedby': 'key-ips-hint' })}
        </Field>
        <Field label="Expires" id="key-expires" hint="A duration such as 30d, or a date. Empty: never.">
          {input('key-expires', 'expires', { 'aria-describedby': 'key-expires-hint' })}
        </Field>
      </fieldset>
      <fieldset>
        <legend>Limits</legend>
        <div class="grid3">
          <Field label="Requests per minute" id="key-rpm">
            {input('key-rpm', 'rpm', { inputMode: 'numeric' })}
          </Field>
          <Field label="Tokens per minute" id="key-tpm">
            {input('key-tpm', 'tpm', { inputMode: 'numeric' })}
          </Field>
          <Field label="Concurrent requests" id="key-concurrency">
            {input('key-concurrency', 'concurrency', { inputMode: 'numeric' })}
          </Field>
          <Field label="Daily budget (USD)" id="key-daily">
            {input('key-daily', 'dailyUsd', { inputMode: 'decimal' })}
          </Field>
          <Field label="Monthly budget (USD)" id="key-monthly">
            {input('key-monthly', 'monthlyUsd', { inputMode: 'decimal' })}
          </Field>
        </div>
        <Field label="Model rules" id="key-model-rules" hint="One per line: a model pattern, then deny or limits, e.g. gpt-4o*: rpm=10, tpm=20000 or o1*: deny. The first matching line applies.">
          {textarea('key-model-rules', 'modelRules')}
        </Field>
      </fieldset>
      <fieldset>
        <legend>Metadata</legend>
        <Field label="Tags" id="key-metadata" hint="One per line: name=value, e.g. team=search. Replaces the key's metadata as a whole.">
          {textarea('key-metadata', 'metadata')}
        </Field>
      </fieldset>
    </>
  );
}
