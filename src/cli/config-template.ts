/**
 * The commented keywarden.config.yaml that `keywarden init` writes. Every value shown is the default, so the file
 * changes nothing until edited; the comments say what each setting is for. A test loads it with the real config
 * loader and validates it against the generated JSON Schema, so it cannot drift into something invalid.
 */
export function configTemplate(schemaRef: string): string {
  return `# yaml-language-server: $schema=${schemaRef}
# keywarden configuration. Every value below is the default: edit what you need, delete the rest.
# Precedence: this file < environment (KEYWARDEN_HOST, KEYWARDEN_PORT, KEYWARDEN_DATA_DIR, KEYWARDEN_LOG_LEVEL)
# < command-line flags (keywarden serve --config keywarden.config.yaml --port 9000).
$schema: ${JSON.stringify(schemaRef)}

server:
  # Interface to listen on: 127.0.0.1 is this machine only; 0.0.0.0 is every interface (put TLS in front).
  host: 127.0.0.1
  port: 8787
  # Reverse proxies whose X-Forwarded-For is trusted (IPs or CIDRs). Everyone else's is ignored.
  trustedProxies: []
  # Largest request body accepted, in bytes (25 MiB). A key's own scope can only lower it.
  maxBodyBytes: 26214400

# Database and master.key. Back up both; without master.key the vaulted provider keys cannot be opened.
dataDir: .keywarden

upstream:
  # Wait this long for an upstream's response headers, and at most this long between body chunks.
  headersTimeoutMs: 600000
  bodyTimeoutMs: 600000
  # Retries after a connect error only, never once a request was sent.
  connectRetries: 2
  connections: 128
  # Outbound proxy: set HTTPS_PROXY / HTTP_PROXY / NO_PROXY in the environment.

pricing:
  # USD per 1M tokens for models the built-in table does not know (or to override it), e.g.:
  #   my-finetune: { input: 0.3, output: 1.2 }
  overrides: {}

monitor:
  # Usage analytics, anomaly detectors and alerts.
  enabled: true
  sinks:
    # Where alerts go. With none, they are written to the log.
    webhooks: []   # - { url: https://example.com/hook, secret: "at least 16 characters" }
    slack: []      # - { url: https://hooks.slack.com/services/... }
    email: []      # - { host: smtp.example.com, from: keywarden@example.com, to: [ops@example.com] }

log:
  # debug, info, warn, error or silent. JSON lines when stderr is not a terminal.
  level: info
  # One line per proxied request (usage records already hold the same).
  requests: false

scan:
  # Leak scanner (keywarden scan). Rule ids to turn off, extra paths to skip (gitignore syntax), and an optional
  # size limit in bytes (default: none; files of any size are scanned in bounded memory).
  disableRules: []
  ignorePaths: []
  # maxFileSize: 104857600
`;
}
