import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ajv2020 from 'ajv/dist/2020.js';
import type { ValidateFunction } from 'ajv';

/** The official SARIF 2.1.0 schema, read from shared/ next to the project (never committed here). */
export const SARIF_SCHEMA_PATH = path.resolve(fileURLToPath(import.meta.url), '../../../../shared/schemas/sarif-schema-2.1.0.json');

interface SchemaNode {
  definitions?: Record<string, { properties?: Record<string, unknown>; anyOf?: unknown }>;
}

/**
 * Compiles the schema with ajv's 2020-12 dialect. The published file has one known defect: in `region`, an
 * `anyOf` (at least one of startLine / charOffset / byteOffset) sits inside `properties`, where it would declare
 * a property named "anyOf". It is moved up to the region itself — where it was meant to be — so that the
 * constraint is enforced instead of making the schema uncompilable.
 */
export function compileSarifSchema(): ValidateFunction {
  const schema = JSON.parse(readFileSync(SARIF_SCHEMA_PATH, 'utf8')) as SchemaNode;
  const region = schema.definitions?.region;
  if (region?.properties !== undefined && Array.isArray(region.properties.anyOf)) {
    region.anyOf = region.properties.anyOf;
    delete region.properties.anyOf;
  }
  // ajv is CommonJS: under NodeNext its class is the module's `default` export.
  const Ajv2020 = ajv2020.default;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  return ajv.compile(schema);
}
