import type { Writable } from 'node:stream';
import cliProgress from 'cli-progress';
import type { ScanProgress } from '../sources/progress.js';

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  return `${(bytes / 1024).toFixed(0)} KB`;
}

/** A progress bar (items, bytes, rate) drawn on a TTY stream. Only the CLI creates one, and only on a TTY. */
export function createProgressBar(stream: Writable): ScanProgress {
  let bar: cliProgress.SingleBar | undefined;
  let bytes = 0;
  let started = 0;
  return {
    start(total, unit) {
      started = Date.now();
      bar = new cliProgress.SingleBar(
        {
          stream,
          format: `scanning {bar} {value}/{total} ${unit} | {bytes} | {rate}`,
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total, 0, { bytes: formatBytes(0), rate: '' });
    },
    advance(items, moreBytes) {
      bytes += moreBytes;
      const seconds = Math.max((Date.now() - started) / 1000, 0.001);
      bar?.increment(items, { bytes: formatBytes(bytes), rate: `${(bytes / (1024 * 1024) / seconds).toFixed(1)} MB/s` });
    },
    total(total) {
      bar?.setTotal(total);
    },
    stop() {
      bar?.stop();
    },
  };
}
