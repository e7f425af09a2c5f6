// Passkey ceremonies: the server (h-cauth contract) issues the options and verifies; the browser library only
// bridges navigator.credentials. Loaded lazily so password-only users never download it.
import type { PublicKeyCredentialCreationOptionsJSON as CreationOptions, PublicKeyCredentialRequestOptionsJSON as RequestOptions } from '@simplewebauthn/browser';
import { api } from './api';

export interface AuthResult {
  state: string;
  recovery_codes?: string[];
}

export async function registerPasskey(name: string): Promise<AuthResult> {
  const { startRegistration } = await import('@simplewebauthn/browser');
  const optionsJSON = await api<CreationOptions>('/auth/passkeys/register/options', { method: 'POST', body: {} });
  const response = await startRegistration({ optionsJSON });
  return api<AuthResult>('/auth/passkeys/register/verify', { method: 'POST', body: { response, name }, noStepUp: true });
}

/** Passwordless sign-in (no name) or the second factor after a password. */
export async function signInWithPasskey(name?: string): Promise<AuthResult> {
  const { startAuthentication } = await import('@simplewebauthn/browser');
  const optionsJSON = await api<RequestOptions>('/auth/passkeys/login/options', { method: 'POST', body: name ? { name } : {}, noStepUp: true });
  const response = await startAuthentication({ optionsJSON });
  return api<AuthResult>('/auth/passkeys/login/verify', { method: 'POST', body: { response }, noStepUp: true });
}

export async function stepUpWithPasskey(): Promise<void> {
  const { startAuthentication } = await import('@simplewebauthn/browser');
  const optionsJSON = await api<RequestOptions>('/auth/step-up/options', { method: 'POST', body: {}, noStepUp: true });
  const response = await startAuthentication({ optionsJSON });
  await api('/auth/step-up', { method: 'POST', body: { response }, noStepUp: true });
}

export function passkeysSupported(): boolean {
  return typeof window.PublicKeyCredential === 'function';
}
