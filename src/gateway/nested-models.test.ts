import { describe, expect, it } from 'vitest';
import { NO_NESTED_MODELS, nestedModelsOf } from './nested-models.js';

describe('nested models', () => {
  it('finds an image generation tool model, and says when the tool would run on the default one', () => {
    expect(nestedModelsOf('responses', { model: 'm', tools: [{ type: 'image_generation', model: 'gpt-image-1' }, { type: 'web_search' }] })).toEqual({ models: ['gpt-image-1'], defaulted: null });
    expect(nestedModelsOf('responses', { model: 'm', tools: [{ type: 'image_generation' }] }).defaulted).toBe('the image_generation tool');
    expect(nestedModelsOf('responses', { model: 'm', tools: [{ type: 'image_generation', model: 7 }] }).models).toEqual(['7']);
    expect(nestedModelsOf('responses', { model: 'm', tools: [{ type: 'function', name: 'f' }] })).toBe(NO_NESTED_MODELS);
    expect(nestedModelsOf('chat', { model: 'm', tools: [{ type: 'image_generation' }] })).toBe(NO_NESTED_MODELS);
    // The group as a lenient upstream would route it.
    expect(nestedModelsOf('Responses', { tools: [{ type: 'image_generation', model: 'x' }] }).models).toEqual(['x']);
    expect(nestedModelsOf('EVALS', { data_source: { model: 'y' } }).models).toEqual(['y']);
  });

  it("finds an eval's sampler and grader models at any depth, but not in inline dataset items", () => {
    const run = {
      data_source: {
        type: 'completions',
        model: 'o3',
        source: { type: 'file_content', content: [{ item: { model: 'not-a-model-here', q: 'x' } }] },
      },
    };
    expect(nestedModelsOf('evals', run).models).toEqual(['o3']);
    const evalBody = {
      data_source_config: { type: 'custom', item_schema: {} },
      testing_criteria: [
        { type: 'label_model', model: 'gpt-4o', input: [], labels: [], passing_labels: [] },
        { type: 'multi', graders: { a: { type: 'score_model', model: 'o4-mini' } } },
      ],
    };
    expect(nestedModelsOf('evals', evalBody).models.sort()).toEqual(['gpt-4o', 'o4-mini']);
    expect(nestedModelsOf('evals', { name: 'x' })).toBe(NO_NESTED_MODELS);
  });
});
