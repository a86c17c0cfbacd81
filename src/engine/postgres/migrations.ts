import type { Pool } from 'pg'

/**
 * The core's schema on PostgreSQL, versioned as on SQLite: each entry moves the database from
 * version i to i + 1. The core's version and each feature's are rows of `chat_schema`, so a
 * database written by an older release upgrades in place and a newer one is refused rather than
 * misread. Nodes starting together migrate under an advisory lock: one does it, the others find
 * it done.
 *
 * Columns: `user` is reserved in PostgreSQL, so users are `user_id` everywhere. Times are the
 * ISO strings of the contract (text: they sort as times do, and come back exactly as written).
 * Room ids sort byte by byte (COLLATE "C"), as on SQLite and Redis, whatever the database's locale.
 */
const CORE_MIGRATIONS: string[] = [
  `
  CREATE TABLE rooms (
    id text COLLATE "C" PRIMARY KEY,
    name text NOT NULL,
    private boolean NOT NULL DEFAULT false,
    history_limit integer,
    slow_mode_ms integer NOT NULL DEFAULT 0,
    retention_days double precision,
    created_at text NOT NULL,
    last_seq bigint NOT NULL DEFAULT 0
  );
  CREATE TABLE grants (
    room text COLLATE "C" NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id text NOT NULL,
    PRIMARY KEY (room, user_id)
  );
  CREATE INDEX grants_by_user ON grants (user_id);
  CREATE TABLE messages (
    room text NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    seq bigint NOT NULL,
    id text NOT NULL,
    user_id text NOT NULL,
    text text NOT NULL,
    time text NOT NULL,
    client_id text,
    fields jsonb,
    changed_seq bigint,
    PRIMARY KEY (room, seq)
  );
  CREATE INDEX messages_changed ON messages (room, changed_seq) WHERE changed_seq IS NOT NULL;
  CREATE TABLE sends (
    room text NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user_id text NOT NULL,
    client_id text NOT NULL,
    seq bigint NOT NULL,
    id text NOT NULL,
    time text NOT NULL,
    PRIMARY KEY (room, user_id, client_id)
  );
  CREATE INDEX sends_by_time ON sends (time);
  CREATE TABLE webhook_outbox (
    seq bigserial PRIMARY KEY,
    room text NOT NULL,
    body text NOT NULL,
    targets jsonb
  );
  CREATE INDEX webhook_outbox_by_room ON webhook_outbox (room, seq);
  CREATE TABLE webhook_urls (
    url text PRIMARY KEY,
    since bigint NOT NULL
  );
  CREATE TABLE webhook_progress (
    url text NOT NULL,
    room text NOT NULL,
    seq bigint NOT NULL,
    PRIMARY KEY (url, room)
  );
  CREATE TABLE webhook_attempts (
    url text NOT NULL,
    seq bigint NOT NULL,
    attempts integer NOT NULL,
    last_error text NOT NULL,
    PRIMARY KEY (url, seq)
  );
  CREATE TABLE webhook_leases (
    url text NOT NULL,
    room text NOT NULL,
    node text NOT NULL,
    until timestamptz NOT NULL,
    PRIMARY KEY (url, room)
  );
  CREATE TABLE webhook_failed (
    id bigserial PRIMARY KEY,
    event_id text NOT NULL,
    type text NOT NULL,
    room text NOT NULL,
    url text NOT NULL,
    attempts integer NOT NULL,
    last_error text NOT NULL,
    body text NOT NULL
  );
  CREATE INDEX webhook_failed_by_event ON webhook_failed (event_id);
  `
]

/** The advisory lock key of migrations (any constant; "chat" in ASCII). */
const MIGRATION_LOCK = 0x63686174

/** What CHAT_DATABASE_URL's database is refused for, naming the variable. */
export class SchemaError extends Error {
  override name = 'SchemaError'
}

/**
 * Brings the core and then each feature (in the order given) to its latest version, every step
 * in a transaction of its own, all under one advisory lock held on a dedicated connection.
 */
export async function migrateAll (pool: Pool, features: { name: string, migrations: string[] }[]): Promise<void> {
  const client = await pool.connect()
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK])
    try {
      await client.query('CREATE TABLE IF NOT EXISTS chat_schema (component text PRIMARY KEY, version integer NOT NULL)')
      for (const { name, migrations } of [{ name: 'core', migrations: CORE_MIGRATIONS }, ...features]) {
        const found = await client.query<{ version: number }>('SELECT version FROM chat_schema WHERE component = $1', [name])
        const current = found.rows[0]?.version ?? 0
        if (current > migrations.length) {
          const what = name === 'core' ? 'schema' : `schema of ${name}`
          throw new SchemaError(`CHAT_DATABASE_URL: the database's ${what} is version ${current}, newer than this release supports (${migrations.length})`)
        }
        for (let version = current; version < migrations.length; version++) {
          await client.query('BEGIN')
          try {
            await client.query(migrations[version]!)
            await client.query(`INSERT INTO chat_schema (component, version) VALUES ($1, $2)
              ON CONFLICT (component) DO UPDATE SET version = excluded.version`, [name, version + 1])
            await client.query('COMMIT')
          } catch (err) {
            await client.query('ROLLBACK')
            throw err
          }
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK])
    }
  } finally {
    client.release()
  }
}

export const CORE_SCHEMA_VERSION = CORE_MIGRATIONS.length
