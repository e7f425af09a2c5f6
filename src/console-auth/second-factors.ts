import type { AuditLog } from '../audit/index.js';
import type { UserRecord, Store } from '../store/index.js';
import type { Vault } from '../vault/index.js';
import { generateRecoveryCodes, hashRecoveryCode } from './recovery-codes.js';
import { generateTotpSeed, matchTotpStep, totpUrl } from './totp.js';

/** The TOTP seed is sealed with the vault's AEAD; the user id is the associated data, so seeds cannot be swapped. */
const totpAad = (userId: string): string => `keywarden/user-totp:${userId}`;

export interface MfaSummary {
  totp: boolean;
  passkeys: number;
  recovery_codes_left: number;
}

/** TOTP and recovery codes (passkeys live in passkeys.ts). Every check here is single-use and atomic in the store. */
export class SecondFactors {
  constructor(
    private readonly store: Store,
    private readonly vault: Vault,
    private readonly audit: AuditLog,
    private readonly now: () => number,
  ) {}

  async summary(user: UserRecord): Promise<MfaSummary> {
    const [passkeys, codes] = await Promise.all([this.store.users.listPasskeys(user.id), this.store.users.unusedRecoveryCodes(user.id)]);
    return { totp: user.totpSealed !== null, passkeys: passkeys.length, recovery_codes_left: codes };
  }

  async hasAny(user: UserRecord): Promise<boolean> {
    return user.totpSealed !== null || (await this.store.users.listPasskeys(user.id)).length > 0;
  }

  /** A new seed, stored sealed as pending until a code from it is confirmed; returned once for the QR code. */
  async startTotpEnrollment(user: UserRecord, issuer: string): Promise<string> {
    const seed = generateTotpSeed();
    await this.store.users.update(user.id, { totpPendingSealed: this.vault.encrypt(seed, totpAad(user.id)) }, this.now());
    return totpUrl(seed, issuer, user.name);
  }

  /** Confirms the pending seed with a code from it; true when it becomes the user's TOTP factor. */
  async finishTotpEnrollment(user: UserRecord, code: string): Promise<boolean> {
    if (user.totpPendingSealed === null) return false;
    const seed = this.vault.decrypt(user.totpPendingSealed, totpAad(user.id));
    const step = matchTotpStep(seed, code, this.now());
    if (step === null) return false;
    // A new seed starts a new step sequence; the claim still makes the confirming code single-use.
    await this.store.users.update(user.id, { totpSealed: user.totpPendingSealed, totpPendingSealed: null, totpLastStep: step - 1 }, this.now());
    return this.store.users.claimTotpStep(user.id, step);
  }

  /** A code from the user's authenticator, accepted once: its step must be later than the last accepted step. */
  async verifyTotp(user: UserRecord, code: string): Promise<boolean> {
    if (user.totpSealed === null) return false;
    const step = matchTotpStep(this.vault.decrypt(user.totpSealed, totpAad(user.id)), code, this.now());
    return step !== null && (await this.store.users.claimTotpStep(user.id, step));
  }

  /** Uses one recovery code (atomically: a code works once) and records it in the audit chain. */
  async useRecoveryCode(user: UserRecord, code: string): Promise<boolean> {
    if (code.length > 64) return false;
    const used = await this.store.users.useRecoveryCode(user.id, hashRecoveryCode(this.vault.pepper, code), this.now());
    if (used) {
      const left = await this.store.users.unusedRecoveryCodes(user.id);
      await this.audit.append({ actor: `user:${user.id}`, action: 'user.recovery_code_used', target: `user:${user.id}`, after: { recovery_codes_left: left } });
    }
    return used;
  }

  /** Ten new codes replace all old ones; the codes are returned once and only their HMACs are stored. */
  async issueRecoveryCodes(user: UserRecord): Promise<string[]> {
    const codes = generateRecoveryCodes();
    await this.store.users.replaceRecoveryCodes(user.id, codes.map((code) => hashRecoveryCode(this.vault.pepper, code)), this.now());
    return codes;
  }
}
