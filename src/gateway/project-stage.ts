import { KeywardenError } from '../errors/index.js';
import { ProjectCompiler, type CompiledProject } from '../limits/project-limits.js';
import type { ProjectRepository, VirtualKeyRecord } from '../store/index.js';

/**
 * The request stage for keys in a project: loads the project (one indexed lookup, only for such keys, so a
 * project change applies to the very next request) and narrows the key's model scope by the project's
 * allowlist. Both must allow a model; the narrower wins. Keys without a project skip this stage entirely.
 */
export class ProjectStage {
  private readonly compiler = new ProjectCompiler();

  constructor(private readonly projects: ProjectRepository) {}

  async resolve(key: VirtualKeyRecord): Promise<CompiledProject | null> {
    const id = key.projectId;
    if (id === undefined || id === null) return null;
    const record = await this.projects.get(id);
    // Removal is refused while keys belong to a project; should one vanish anyway, its keys fail closed.
    if (!record) throw new KeywardenError('KW_KEY_SUSPENDED', { message: "This key's project no longer exists; ask an admin to reassign the key." });
    return this.compiler.compile(record);
  }

  /** Throws unless the project allows the model; `modelRequired`: the request must name one (allowlist set). */
  checkModel(project: CompiledProject, model: string | null, modelRequired: boolean): void {
    if (project.models === null) return;
    if (model === null) {
      if (modelRequired) throw new KeywardenError('KW_MODEL_REQUIRED', { param: 'model' });
      return;
    }
    if (!project.models.allows(model)) {
      throw new KeywardenError('KW_MODEL_NOT_ALLOWED', { message: `This key's project "${project.name}" may not use the model "${model}".`, param: 'model' });
    }
  }
}
