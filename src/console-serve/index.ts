import type { Logger } from '../log/logger.js';
import { DEFAULT_CONSOLE_DIR, loadConsoleAssets } from './console-assets.js';
import { createConsoleHandler, type ConsoleHandler } from './console-handler.js';

export { CONSOLE_CSP, CONSOLE_SECURITY_HEADERS } from './console-headers.js';
export { uiServeFields } from './ui-config.js';
export type { ConsoleHandler } from './console-handler.js';

/** The console's request handler for `serve`, or null when disabled (`ui.enabled: false`) or not built. */
export function consoleServing(enabled: boolean, logger: Logger, dir: string = DEFAULT_CONSOLE_DIR): ConsoleHandler | null {
  if (!enabled) return null;
  const assets = loadConsoleAssets(dir);
  if (!assets) {
    logger.warn('web console not built: `/` answers 404 (run `npm run build`)', { dir });
    return null;
  }
  return createConsoleHandler(assets);
}
