/**
 * Seconds of unrecorded load a target gets at a load point right before a measured window, when the window before
 * it measured another target or point.
 *
 * Why: the targets take turns on the gateway core, so each sits idle for tens of seconds while the others are
 * measured. On this VM a process coming back from such a pause runs far slower until it has served about 1,000 to
 * 3,000 requests (at c=1, 2–5× its CPU per request in the first few hundred, the floor as much as "keywarden"), and
 * a window measured straight after the switch recorded that recovery, not the target's cost: in the run at 61a29df,
 * the first of each target's two back-to-back paired c=64 windows used 7–131 µs more CPU per request than the second.
 * The figures the targets speak of are the steady state, so each window starts after its target has caught up.
 */
export const REWARM_S = 2;

/** Tells, window by window, whether the one about to be measured follows a window of another target or load point. */
export class WindowSequence {
  private last: string | null = null;

  /** True when this window's target or point differs from the last measured window's; it becomes the last one. */
  switchesTo(targetId: string, pointId: string): boolean {
    const key = `${targetId}\u0000${pointId}`;
    const switched = key !== this.last;
    this.last = key;
    return switched;
  }
}
