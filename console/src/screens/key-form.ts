// Turns the key form's fields into the admin API's create/update body. Empty fields are left out so the
// server's defaults apply; numbers are checked here only for a friendly message (the API validates again).
import type { Budget, KeyLimits } from '../types';
import { metadataText, modelRulesText, parseMetadata, parseModelRules } from './key-rules';

export interface KeyFormValues {
  name: string;
  upstream: string;
  models: string;
  endpoints: string;
  ipAllowlist: string;
  expires: string;
  rpm: string;
  tpm: string;
  concurrency: string;
  dailyUsd: string;
  monthlyUsd: string;
  /** One model rule per line (key-rules.ts). */
  modelRules: string;
  /** One name=value metadata tag per line. */
  metadata: string;
}

export const EMPTY_KEY_FORM: KeyFormValues = { name: '', upstream: '', models: '', endpoints: '', ipAllowlist: '', expires: '', rpm: '', tpm: '', concurrency: '', dailyUsd: '', monthlyUsd: '', modelRules: '', metadata: '' };

const list = (text: string): string[] =>
  text
    .split(/[\s,]+/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

function positiveInt(label: string, text: string): number | undefined {
  if (text.trim() === '') return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${label} must be a whole number above 0.`);
  return value;
}

function usdAmount(label: string, text: string): number | undefined {
  if (text.trim() === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${label} must be an amount in USD above 0.`);
  return value;
}

/**
 * `editing`: the form shows the key's current rules and tags, so empty fields clear them; on create, empty fields
 * are left out.
 */
export function keyBody(values: KeyFormValues, existingLimits: KeyLimits = {}, editing = false): Record<string, unknown> {
  const body: Record<string, unknown> = { name: values.name.trim() };
  if (values.upstream) body.upstream = values.upstream;
  const models = list(values.models);
  if (models.length > 0) body.models = models;
  const endpoints = list(values.endpoints);
  if (endpoints.length > 0) body.endpoints = endpoints;
  const ips = list(values.ipAllowlist);
  if (ips.length > 0) body.ip_allowlist = ips;
  if (values.expires.trim()) body.expires = values.expires.trim();
  const budgets: Budget[] = [];
  const daily = usdAmount('Daily budget', values.dailyUsd);
  if (daily !== undefined) budgets.push({ usd: daily, period: 'day' });
  const monthly = usdAmount('Monthly budget', values.monthlyUsd);
  if (monthly !== undefined) budgets.push({ usd: monthly, period: 'month' });
  const limits: KeyLimits = { ...existingLimits, rpm: positiveInt('Requests per minute', values.rpm), tpm: positiveInt('Tokens per minute', values.tpm), concurrency: positiveInt('Concurrency', values.concurrency) };
  const otherBudgets = (existingLimits.budgets ?? []).filter((b) => b.period !== 'day' && b.period !== 'month');
  limits.budgets = [...budgets, ...otherBudgets];
  for (const field of ['rpm', 'tpm', 'concurrency'] as const) if (limits[field] === undefined) delete limits[field];
  if (limits.budgets.length === 0) delete limits.budgets;
  const rules = parseModelRules(values.modelRules);
  if (rules.length > 0) limits.model_rules = rules;
  else delete limits.model_rules;
  body.limits = limits;
  const metadata = parseMetadata(values.metadata);
  if (editing || Object.keys(metadata).length > 0) body.metadata = metadata;
  return body;
}

export function formFromKey(key: { name: string; models: string[]; endpoints: string[]; ip_allowlist: string[]; limits: KeyLimits; metadata: Record<string, string> }): KeyFormValues {
  const budget = (period: Budget['period']): string => String(key.limits.budgets?.find((b) => b.period === period)?.usd ?? '');
  return {
    name: key.name,
    upstream: '',
    models: key.models.join(', '),
    endpoints: key.endpoints.join(', '),
    ipAllowlist: key.ip_allowlist.join(', '),
    expires: '',
    rpm: key.limits.rpm ? String(key.limits.rpm) : '',
    tpm: key.limits.tpm ? String(key.limits.tpm) : '',
    concurrency: key.limits.concurrency ? String(key.limits.concurrency) : '',
    dailyUsd: budget('day'),
    monthlyUsd: budget('month'),
    modelRules: modelRulesText(key.limits.model_rules),
    metadata: metadataText(key.metadata),
  };
}
