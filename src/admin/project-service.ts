import type { AuditLog } from '../audit/index.js';
import type { AuditAction } from '../audit/types.js';
import { KeywardenError } from '../errors/index.js';
import { randomBase62 } from '../keys/index.js';
import type { ProjectPatch, ProjectRecord, Store } from '../store/index.js';
import type { CreateProjectInput, UpdateProjectInput } from './project-schemas.js';

export const PROJECT_ID_PREFIX = 'prj_';

/** What the admin API shows of a project. */
export function projectView(record: ProjectRecord, keyCount?: number): Record<string, unknown> {
  return {
    id: record.id,
    object: 'project',
    name: record.name,
    models: record.models,
    limits: record.limits,
    ...(keyCount === undefined ? {} : { key_count: keyCount }),
    created_at: new Date(record.createdAt).toISOString(),
    updated_at: new Date(record.updatedAt).toISOString(),
  };
}

/**
 * Projects (teams): create, update, remove, each audited together with its change. Limits and the model
 * allowlist apply to the project's keys from their next request on (the gateway reads the project per request
 * and compiles it per version).
 */
export class ProjectService {
  constructor(
    private readonly store: Store,
    private readonly now: () => number,
    private readonly audit: AuditLog,
  ) {}

  private audited(actor: string, action: AuditAction, before: ProjectRecord | null, change: () => Promise<ProjectRecord>): Promise<ProjectRecord> {
    return this.audit.withAudit(change, (after) => ({
      actor,
      action,
      target: `project:${after.id}`,
      ...(before ? { before: projectView(before) } : {}),
      after: projectView(after),
    }));
  }

  /** A project by id (`prj_…`) or name. */
  async get(ref: string): Promise<ProjectRecord> {
    const found = ref.startsWith(PROJECT_ID_PREFIX) ? await this.store.projects.get(ref) : await this.store.projects.getByName(ref);
    if (!found) throw new KeywardenError('KW_NOT_FOUND', { message: `No project with id or name "${ref}".` });
    return found;
  }

  list(): Promise<ProjectRecord[]> {
    return this.store.projects.list();
  }

  private async assertNameFree(name: string, self?: string): Promise<void> {
    const holder = await this.store.projects.getByName(name);
    if (holder && holder.id !== self) throw new KeywardenError('KW_CONFLICT', { message: `A project named "${name}" already exists (${holder.id}).`, param: 'name' });
  }

  async create(input: CreateProjectInput, actor: string): Promise<ProjectRecord> {
    await this.assertNameFree(input.name);
    const now = this.now();
    const record: ProjectRecord = {
      id: `${PROJECT_ID_PREFIX}${randomBase62(16)}`,
      name: input.name,
      models: [...new Set(input.models ?? [])],
      limits: input.limits ?? {},
      createdAt: now,
      updatedAt: now,
    };
    return this.audited(actor, 'project.created', null, async () => {
      await this.store.projects.insert(record);
      return record;
    });
  }

  async update(ref: string, input: UpdateProjectInput, actor: string): Promise<ProjectRecord> {
    const current = await this.get(ref);
    if (input.name !== undefined) await this.assertNameFree(input.name, current.id);
    const patch: ProjectPatch = {};
    if (input.name !== undefined) patch.name = input.name;
    if (input.models !== undefined) patch.models = [...new Set(input.models)];
    if (input.limits !== undefined) patch.limits = input.limits;
    return this.audited(actor, 'project.updated', current, async () => (await this.store.projects.update(current.id, patch, this.now())) ?? current);
  }

  /** Refused while live keys or admin tokens belong to the project: their limits would silently vanish. */
  async remove(ref: string, actor: string): Promise<ProjectRecord> {
    const current = await this.get(ref);
    const keys = (await this.store.keys.list()).filter((k) => k.projectId === current.id && k.revokedAt === null);
    const tokens = (await this.store.adminTokens.list()).filter((t) => t.projectId === current.id && t.revokedAt === null);
    if (keys.length > 0 || tokens.length > 0) {
      const what = [keys.length > 0 ? `${keys.length} key(s) (${keys.slice(0, 5).map((k) => k.id).join(', ')})` : '', tokens.length > 0 ? `${tokens.length} admin token(s)` : '']
        .filter(Boolean)
        .join(' and ');
      throw new KeywardenError('KW_CONFLICT', { message: `Project "${current.name}" still has ${what}; move or revoke them first.` });
    }
    return this.audited(actor, 'project.removed', current, async () => {
      await this.store.projects.remove(current.id);
      return current;
    });
  }

  /** Live keys per project id, for the list view. */
  async keyCounts(): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    for (const key of await this.store.keys.list()) {
      if (key.projectId && key.revokedAt === null) counts.set(key.projectId, (counts.get(key.projectId) ?? 0) + 1);
    }
    return counts;
  }
}
