/** One repository (or gist) to fetch and scan, as an API listed it. */
export interface RemoteRepo {
  /** Which web UI the links are for. */
  linkStyle: 'github' | 'gitlab' | 'gist';
  kind: 'repository' | 'fork' | 'gist';
  /** Shown in reports and used to name SARIF files: `owner/name`, `group/sub/project` or `gist/ID`. */
  name: string;
  /** Where git fetches it from; checked against the API host before use. */
  cloneUrl: string;
  /** The repository's web page, the base of finding links. */
  webUrl: string;
}

/** Two listings of one repository (a repo named twice, a page that shifted during pagination) fetch once. */
export function repoIdentity(cloneUrl: string): string {
  try {
    const url = new URL(cloneUrl);
    return `${url.protocol}//${url.host.toLowerCase()}${url.pathname.replace(/\/+$/, '').replace(/\.git$/i, '').toLowerCase()}`;
  } catch {
    return cloneUrl;
  }
}

export function dedupeRepos(repos: readonly RemoteRepo[]): RemoteRepo[] {
  const seen = new Map<string, RemoteRepo>();
  for (const repo of repos) {
    const id = repoIdentity(repo.cloneUrl);
    // A repository listed as a fork and as a plain repository keeps the first label.
    if (!seen.has(id)) seen.set(id, repo);
  }
  return [...seen.values()];
}

function encodePath(file: string): string {
  return file.split('/').map(encodeURIComponent).join('/');
}

/** GitHub's anchor for a gist file: `file-` plus the name lower-cased with every other character as `-`. */
function gistAnchor(file: string): string {
  return `file-${file.toLowerCase().replace(/[^a-z0-9]/g, '-')}`;
}

/** A link to the line in the commit that introduced the finding. */
export function findingLink(repo: RemoteRepo, sha: string, file: string, line: number): string {
  const base = repo.webUrl.replace(/\/+$/, '');
  if (repo.linkStyle === 'gist') return `${base}/${sha}#${gistAnchor(file)}-L${line}`;
  if (repo.linkStyle === 'gitlab') return `${base}/-/blob/${sha}/${encodePath(file)}#L${line}`;
  return `${base}/blob/${sha}/${encodePath(file)}#L${line}`;
}
