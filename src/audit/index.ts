export * from './types.js';
export { AuditLog, toExportLine } from './audit-log.js';
export { canonicalJson } from './canonical-json.js';
export { GENESIS_HASH, entryHash, sealEntry } from './chain.js';
export { sanitizeSummary } from './sanitize.js';
export { formatHeadAnchor, parseHeadAnchor, verifyChain, type HeadAnchor, type VerifyResult, type VerifyFailureReason } from './verify.js';
export { AuditSigner, parseAnchor, formatAnchor, type SignedAnchor, type AnchorSnapshot } from './anchor.js';
export { verifyAnchored } from './verify-anchored.js';
