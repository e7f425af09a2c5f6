export { VAULT_DATA_KEY_META, Vault, type VaultOpenOptions, type VaultOpenResult } from './vault.js';
export { MASTER_KEY_ENV, MASTER_KEY_FILE, decodeMasterKey, masterKeyFingerprint } from './master-key.js';
