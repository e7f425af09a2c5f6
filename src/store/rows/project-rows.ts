import type { ProjectRecord } from '../types.js';
import { fromJson } from '../sqlite/json-column.js';

/** The project table's row shape (and its mapping to records): one definition for the SQLite and the PostgreSQL store. */

export interface ProjectRow {
  id: string;
  name: string;
  models: string;
  limits: string;
  created_at: number;
  updated_at: number;
}

export function fromRow(row: ProjectRow): ProjectRecord {
  return {
    id: row.id,
    name: row.name,
    models: fromJson(row.models),
    limits: fromJson(row.limits),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
