/**
 * One provider key of an upstream as the gateway uses it. Slots outlive runtime rebuilds (the registry keeps them
 * by key id), so the in-flight count of a key is right even while an upstream is reloaded during a rotation.
 */
export interface KeySlot {
  readonly id: string;
  readonly secret: string;
  /** Requests sent with this key whose answer has not ended yet (see UpstreamRegistry.drain). */
  inFlight: number;
  /** Being rotated out: no new request picks it while another key exists. */
  retiring: boolean;
}

/** Round-robin over an upstream's keys, skipping keys being rotated out. */
export class KeyRing {
  private cursor = 0;

  constructor(readonly slots: readonly KeySlot[]) {}

  /** The next key to use, or null when the upstream has none. Retiring keys only when no other key is left. */
  next(): KeySlot | null {
    const slots = this.slots;
    const count = slots.length;
    for (let tried = 0; tried < count; tried++) {
      const slot = slots[this.cursor] as KeySlot;
      this.cursor = (this.cursor + 1) % count;
      if (!slot.retiring) return slot;
    }
    return count > 0 ? (slots[0] as KeySlot) : null;
  }
}
