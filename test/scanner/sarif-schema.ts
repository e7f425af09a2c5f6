import { readFileSync } from 'node:fs';
import ajv2020 from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';

/**
 * The SARIF 2.1.0 subset GitHub code scanning checks, committed beside this file so the tests need nothing outside
 * the repository. No installed or maintained npm package ships the official schema; this one was written from
 * the specification for the objects keywarden emits (run, tool.driver, rules, results, locations, regions).
 */
export const SARIF_SCHEMA_PATH = new URL('./sarif-2.1.0-subset.schema.json', import.meta.url);

export function compileSarifSchema(): ValidateFunction {
  const schema = JSON.parse(readFileSync(SARIF_SCHEMA_PATH, 'utf8')) as object;
  // ajv is CommonJS: under NodeNext its class is the module's `default` export.
  const Ajv2020 = ajv2020.default;
  const ajv = new Ajv2020({ strict: true, strictRequired: false, allErrors: true, validateFormats: false });
  return ajv.compile(schema);
}
