import type { Store } from '../store/index.js';

/** Which project an alert is about: a project's own alert names it in its details, any other goes by its key. */
export interface ProjectLookup {
  ofAlert(alert: { keyId: string | null; details: Record<string, unknown> }): string | null;
  name(projectId: string | null): string | null;
  /** A project id from an id or a name; null when there is none. */
  resolve(ref: string): string | null;
}

/** Two list queries per admin request, however many alerts the answer has. */
export async function loadProjectLookup(store: Store): Promise<ProjectLookup> {
  const [keys, projects] = await Promise.all([store.keys.list(), store.projects.list()]);
  const keyProject = new Map(keys.map((k) => [k.id, k.projectId ?? null]));
  const names = new Map(projects.map((p) => [p.id, p.name]));
  return {
    ofAlert: (alert) => {
      const own = alert.details.project_id;
      if (typeof own === 'string') return own;
      return alert.keyId === null ? null : (keyProject.get(alert.keyId) ?? null);
    },
    name: (id) => (id === null ? null : (names.get(id) ?? null)),
    resolve: (ref) => projects.find((p) => p.id === ref || p.name === ref)?.id ?? null,
  };
}
