/**
 * The most input tokens one image can bill, per model family, from OpenAI's published rules.
 *
 * Tile models: a high-detail image is scaled to fit 2048×2048, then its short side to 768, and billed
 * `base + perTile × tiles` for 512px tiles; the worst aspect ratio (768×2048) gives 2×4 = 8 tiles. `detail: "low"`
 * is the base alone. Patch models (gpt-4.1-mini/nano, o4-mini, gpt-5.x): 32px patches, at most 1536 patches
 * (10,000 with `detail: "original"`), times a per-model multiplier; the low-detail figure is not relied upon.
 * A model of no known family gets a conservative maximum: above every rule listed here.
 */
export type ImageDetail = 'low' | 'other';

interface ImageRule {
  /** Tokens of an image at `detail: "low"`. */
  low: number;
  /** Tokens of an image at its most expensive detail and aspect ratio. */
  max: number;
}

const MAX_TILES = 8;
const tiles = (base: number, perTile: number): ImageRule => ({ low: base, max: base + perTile * MAX_TILES });
/** Patch models bill the same cap whatever `detail` says; 10,000 patches covers `detail: "original"`. */
const patches = (multiplier: number): ImageRule => {
  const max = Math.ceil(10_000 * multiplier);
  return { low: max, max };
};

/** Longest prefix wins: `gpt-4o-mini` before `gpt-4o`. */
const RULE_LIST: Array<readonly [prefix: string, rule: ImageRule]> = [
  ['gpt-4o-mini', tiles(2833, 5667)],
  ['gpt-4.1-mini', patches(1.62)],
  ['gpt-4.1-nano', patches(2.46)],
  ['o4-mini', patches(1.72)],
  ['gpt-5-mini', patches(1.62)],
  ['gpt-5-nano', patches(2.46)],
  ['gpt-5.4-mini', patches(1.62)],
  ['gpt-5.4-nano', patches(2.46)],
  ['computer-use', tiles(65, 129)],
  ['gpt-4o', tiles(85, 170)],
  ['gpt-4.1', tiles(85, 170)],
  ['gpt-4.5', tiles(85, 170)],
  ['gpt-4-turbo', tiles(85, 170)],
  // gpt-5.x bills tiles (70 + 140 each) or patches depending on the snapshot: the patch cap is the larger.
  ['gpt-5', patches(1)],
  ['o1', tiles(75, 150)],
  ['o3', tiles(75, 150)],
];
const RULES = RULE_LIST.sort((a, b) => b[0].length - a[0].length);

/** Above every rule in the table (gpt-4o-mini's 8 tiles: 48,169), for models of no known family. */
export const UNKNOWN_MODEL_IMAGE_TOKENS = 65_536;

/** Tokens one image can bill at most on `model` with the given detail. */
export function maxImageTokens(model: string | null, detail: ImageDetail): number {
  if (model !== null) {
    for (const [prefix, rule] of RULES) if (model.startsWith(prefix)) return detail === 'low' ? rule.low : rule.max;
  }
  return UNKNOWN_MODEL_IMAGE_TOKENS;
}
