import type { Schema } from 'hono';
import { KeywardenError } from '../../errors/index.js';
import type { Limiter } from '../../limits/limiter.js';
import { ProjectCompiler } from '../../limits/project-limits.js';
import { tokenProject } from '../project-scope.js';
import { createProjectSchema, updateProjectSchema } from '../project-schemas.js';
import { projectView, type ProjectService } from '../project-service.js';
import { adminActor, parseJsonBody, pathParam, type AdminApp } from './route-helpers.js';

/**
 * /admin/v1/projects: list, show (with budget status), create, update, remove. Writes need the admin role
 * (admin-roles.ts) and are audited by ProjectService. A project-limited token may only read its own project;
 * any other answers 404, exactly like a project that does not exist.
 */
export function registerProjectRoutes<S extends Schema, B extends string>(
  app: AdminApp<S, B>,
  deps: { projects: ProjectService; limiter: Limiter; now: () => number },
): void {
  const compiler = new ProjectCompiler();

  app.get('/projects', async (c) => {
    const scope = tokenProject(c);
    const [projects, counts] = await Promise.all([deps.projects.list(), deps.projects.keyCounts()]);
    const visible = scope === null ? projects : projects.filter((p) => p.id === scope);
    return c.json({ object: 'list', data: visible.map((p) => projectView(p, counts.get(p.id) ?? 0)) });
  });

  app.get('/projects/:id', async (c) => {
    const project = await deps.projects.get(pathParam(c, 'id'));
    const scope = tokenProject(c);
    if (scope !== null && project.id !== scope) throw new KeywardenError('KW_NOT_FOUND', { message: 'No such project.' });
    const counts = await deps.projects.keyCounts();
    const budgets = await deps.limiter.projectBudgetStatus(compiler.compile(project), deps.now());
    return c.json({ ...projectView(project, counts.get(project.id) ?? 0), budgets });
  });

  app.post('/projects', async (c) => {
    const record = await deps.projects.create(await parseJsonBody(c, createProjectSchema), adminActor(c));
    return c.json(projectView(record, 0), 201);
  });

  app.patch('/projects/:id', async (c) => {
    const record = await deps.projects.update(pathParam(c, 'id'), await parseJsonBody(c, updateProjectSchema), adminActor(c));
    return c.json(projectView(record));
  });

  app.delete('/projects/:id', async (c) => {
    const record = await deps.projects.remove(pathParam(c, 'id'), adminActor(c));
    return c.json({ ...projectView(record), deleted: true });
  });
}
