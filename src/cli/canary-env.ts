/**
 * The text of a planted `.env`: one canary key among plausible neighbours, so it reads like a real app's secrets
 * file to whoever finds it. The neighbours are obviously fake (localhost, CHANGE_ME) so that nobody mistakes the
 * file for a working configuration and nothing in it points at a real system.
 */
export function canaryEnvText(input: { secret: string; baseUrl: string }): string {
  return [
    '# App configuration. Do not commit.',
    `OPENAI_API_KEY=${input.secret}`,
    `OPENAI_BASE_URL=${input.baseUrl}`,
    'OPENAI_MODEL=gpt-4o-mini',
    '',
    'NODE_ENV=production',
    'PORT=3000',
    'DATABASE_URL=postgres://app:CHANGE_ME@localhost:5432/app',
    'REDIS_URL=redis://localhost:6379/0',
    'SESSION_SECRET=CHANGE_ME',
    'LOG_LEVEL=info',
    '',
  ].join('\n');
}
