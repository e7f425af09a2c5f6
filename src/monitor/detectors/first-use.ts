import type { SeenObservation, SeenResult } from '../repositories.js';
import type { Finding } from '../types.js';

export interface FirstUseConfig {
  newModel: { enabled: boolean; learningPeriodMs: number };
  newNetwork: { enabled: boolean; learningPeriodMs: number };
}

type Observation = SeenObservation & { sample: string };

/**
 * "This key never did that before": a model it never used, or a client network it never came from. A key's
 * first batch and anything within its learning period after that only teach the baseline. Several new values for
 * one key in one evaluation make one finding that lists them.
 */
export function firstUseFindings(result: SeenResult<Observation>, config: FirstUseConfig): Finding[] {
  const groups = new Map<string, Observation[]>();
  for (const obs of result.fresh) {
    const detector = obs.kind === 'model' ? config.newModel : config.newNetwork;
    if (!detector.enabled) continue;
    const keyFirstSeen = result.keyFirstSeen.get(obs.keyId);
    if (keyFirstSeen === undefined || obs.firstTs - keyFirstSeen < detector.learningPeriodMs) continue;
    const id = `${obs.keyId}\0${obs.kind}`;
    groups.set(id, [...(groups.get(id) ?? []), obs]);
  }
  return [...groups.values()].map((group): Finding => {
    const first = group[0] as Observation;
    const values = group.map((o) => o.value);
    const more = values.length > 1 ? ` (+${values.length - 1} more)` : '';
    if (first.kind === 'model') {
      return {
        detector: 'new_model',
        severity: 'warning',
        subject: first.keyId,
        keyId: first.keyId,
        title: `Key ${first.keyId} used a new model: ${first.value}${more}`,
        message: `Key ${first.keyId} used ${values.join(', ')} for the first time. A model an app never used is a common sign of a stolen key.`,
        details: { models: values.join(', '), first_seen_at: new Date(first.firstTs).toISOString() },
      };
    }
    return {
      detector: 'new_network',
      severity: 'warning',
      subject: first.keyId,
      keyId: first.keyId,
      title: `Key ${first.keyId} used from a new network: ${first.value}${more}`,
      message: `Key ${first.keyId} made requests from ${values.join(', ')} (e.g. ${first.sample}) for the first time.`,
      details: { networks: values.join(', '), sample_ip: first.sample, first_seen_at: new Date(first.firstTs).toISOString() },
    };
  });
}
