// A tiny history router: the server answers index.html for every console path (SPA fallback), and the app picks
// the screen from location.pathname. Links use navigate() so no full reload drops the in-memory CSRF token.
import { useEffect, useState } from 'preact/hooks';

const listeners = new Set<() => void>();

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  for (const listener of listeners) listener();
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const update = (): void => setPath(location.pathname);
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return path;
}

/** Intercepts a same-origin link click so it navigates in place. */
export function onLinkClick(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const target = event.currentTarget;
  if (!(target instanceof HTMLAnchorElement) || target.origin !== location.origin) return;
  event.preventDefault();
  navigate(target.pathname + target.search);
}
