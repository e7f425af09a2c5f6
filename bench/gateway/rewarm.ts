/**
 * Seconds of unrecorded load a target gets at a load point, from the client its next window is measured with, right
 * before that window, when the window before it measured another target, point or client.
 *
 * Why: the targets take turns on the gateway core, so each sits idle for tens of seconds while the others are
 * measured. On this VM a process coming back from such a pause runs far slower until it has served about 1,000 to
 * 3,000 requests (at c=1, 2–5× its CPU per request in the first few hundred, the floor as much as "keywarden"), and
 * a window measured straight after the switch recorded that recovery, not the target's cost: in the run at 61a29df,
 * the first of each target's two paired c=64 windows in a repetition used 1–131 µs more CPU per request than the
 * second (median 35). The figures the targets speak of are the steady state, so each window starts after its target
 * has caught up.
 */
export const REWARM_S = 2;

/** The client a window is measured with: wrk, or the raw-socket streaming client (first chunk). */
export type WindowClient = 'wrk' | 'stream';

/**
 * Tells, window by window, whether the one about to be measured follows a window of another target, load point or
 * client. The client counts too: wrk ends each window with requests in flight, which a gateway handles on paths the
 * streaming client never takes, so a first-chunk window is warmed with the streaming client.
 */
export class WindowSequence {
  private last: string | null = null;

  /** True when this window's target, point or client differs from the last measured window's; it becomes the last one. */
  switchesTo(targetId: string, pointId: string, client: WindowClient): boolean {
    const key = `${targetId}\u0000${pointId}\u0000${client}`;
    const switched = key !== this.last;
    this.last = key;
    return switched;
  }
}
