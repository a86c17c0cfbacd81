import type { Database } from 'better-sqlite3'

/**
 * Versioned schema. Each entry moves the database from version i to i + 1; the current
 * version lives in `PRAGMA user_version`, so a file written by an older release upgrades
 * in place and a newer one is refused rather than misread.
 */
const migrations: string[] = [
  `
  CREATE TABLE rooms (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    private INTEGER NOT NULL DEFAULT 0,
    history_limit INTEGER,
    created_at TEXT NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;
  CREATE TABLE grants (
    room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user TEXT NOT NULL,
    PRIMARY KEY (room, user)
  ) WITHOUT ROWID;
  CREATE TABLE messages (
    room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    user TEXT NOT NULL,
    text TEXT NOT NULL,
    time TEXT NOT NULL,
    PRIMARY KEY (room, seq)
  ) WITHOUT ROWID;
  `,
  // The latest seq of a room is MAX(seq) of its messages (a room always keeps its newest
  // one), kept in memory by the store; a counter row updated on every commit cost a page
  // write per batch.
  `
  ALTER TABLE rooms DROP COLUMN last_seq;
  `,
  // Exactly-once sends: the stored message keeps its sender's clientId, and each (room, user,
  // clientId) is remembered apart from history, which trimming would otherwise cut short.
  `
  ALTER TABLE messages ADD COLUMN client_id TEXT;
  CREATE TABLE sends (
    room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user TEXT NOT NULL,
    client_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    id TEXT NOT NULL,
    time TEXT NOT NULL,
    PRIMARY KEY (room, user, client_id)
  ) WITHOUT ROWID;
  CREATE INDEX sends_by_time ON sends (time);
  `,
  // Edits and deletes change a message in place. changed_seq is the room's latest seq at the
  // message's last change, so a client that saw up to seq S is owed every retained message
  // with seq <= S and changed_seq >= S; the partial index holds only changed messages.
  // Read seqs: one forward-only position per (room, user).
  `
  ALTER TABLE messages ADD COLUMN version INTEGER;
  ALTER TABLE messages ADD COLUMN edited_at TEXT;
  ALTER TABLE messages ADD COLUMN deleted_at TEXT;
  ALTER TABLE messages ADD COLUMN changed_seq INTEGER;
  CREATE INDEX messages_changed ON messages (room, changed_seq) WHERE changed_seq IS NOT NULL;
  CREATE TABLE read_state (
    room TEXT NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    user TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (room, user)
  ) WITHOUT ROWID;
  CREATE INDEX read_state_by_user ON read_state (user);
  `,
  // Events out. The outbox holds one row per event (not per URL), written in the transaction of
  // the change it reports, with no foreign key: an event outlives its room (room.deleted).
  // AUTOINCREMENT, so a seq is never used twice even once the newest rows are trimmed: each URL's
  // progress is the last seq it finished per room, and a URL added later starts after `since`.
  // Rows go once every URL has finished them; a retry of a parked event is a new row with the
  // URLs it is for in `targets`.
  `
  CREATE TABLE webhook_outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    room TEXT NOT NULL,
    body TEXT NOT NULL,
    targets TEXT
  );
  CREATE INDEX webhook_outbox_by_room ON webhook_outbox (room, seq);
  CREATE TABLE webhook_urls (
    url TEXT PRIMARY KEY,
    since INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE webhook_progress (
    url TEXT NOT NULL,
    room TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (url, room)
  ) WITHOUT ROWID;
  CREATE TABLE webhook_attempts (
    url TEXT NOT NULL,
    seq INTEGER NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    PRIMARY KEY (url, seq)
  ) WITHOUT ROWID;
  CREATE TABLE webhook_failed (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL,
    type TEXT NOT NULL,
    room TEXT NOT NULL,
    url TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    body TEXT NOT NULL
  );
  CREATE INDEX webhook_failed_by_event ON webhook_failed (event_id);
  `,
  // Expired clientIds are swept in key order (sqlite-sends.ts): the time index cost every
  // remembered clientId a page write more.
  `
  DROP INDEX IF EXISTS sends_by_time;
  `,
  // Chat features as modules: a message's features' fields (edits, reactions, replies…) live in
  // one JSON column, read with the message; each feature's own tables have their own versions.
  `
  ALTER TABLE messages ADD COLUMN fields TEXT;
  CREATE TABLE feature_versions (
    feature TEXT PRIMARY KEY,
    version INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
  // Slow mode: a room setting, as its history limit is.
  `
  ALTER TABLE rooms ADD COLUMN slow_mode_ms INTEGER NOT NULL DEFAULT 0;
  `,
  // Retention: a room's own period, and the latest seq once retention removed every message
  // (the latest seq is otherwise the newest message's, and a seq is never used twice).
  `
  ALTER TABLE rooms ADD COLUMN retention_days REAL;
  ALTER TABLE rooms ADD COLUMN seq_floor INTEGER NOT NULL DEFAULT 0;
  `
]

export const SCHEMA_VERSION = migrations.length

export function migrate (db: Database): void {
  const current = db.pragma('user_version', { simple: true }) as number
  if (current > SCHEMA_VERSION) {
    throw new Error(`CHAT_DB: database schema version ${current} is newer than this release supports (${SCHEMA_VERSION})`)
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    db.transaction(() => {
      db.exec(migrations[version]!)
      db.pragma(`user_version = ${version + 1}`)
    })()
  }
}

/**
 * A feature's migrations: versioned like the core's, each feature on its own count in
 * `feature_versions`, so features are added and upgraded without renumbering anything.
 */
export function migrateFeature (db: Database, feature: string, migrations: string[]): void {
  const current = db.prepare<[string], { version: number }>('SELECT version FROM feature_versions WHERE feature = ?').get(feature)?.version ?? 0
  if (current > migrations.length) {
    throw new Error(`CHAT_DB: the database's schema of ${feature} is version ${current}, newer than this release supports (${migrations.length})`)
  }
  const record = db.prepare<[string, number]>(`INSERT INTO feature_versions (feature, version) VALUES (?, ?)
    ON CONFLICT (feature) DO UPDATE SET version = excluded.version`)
  for (let version = current; version < migrations.length; version++) {
    db.transaction(() => {
      db.exec(migrations[version]!)
      record.run(feature, version + 1)
    })()
  }
}
